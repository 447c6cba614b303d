// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Minimal programs of each attach type TierKit may use. The feature probe loads and attaches
 * them one at a time (the others' autoload off) to learn what this kernel permits. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/page_fault_user")
int BPF_PROG(probe_tp_btf, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
    return 0;
}

SEC("tracepoint/exceptions/page_fault_user")
int probe_tracepoint(void *ctx)
{
    return 0;
}

SEC("raw_tracepoint/page_fault_user")
int probe_raw_tracepoint(void *ctx)
{
    return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(probe_fentry)
{
    return 0;
}

SEC("kprobe/vfs_read")
int probe_kprobe(void *ctx)
{
    return 0;
}
