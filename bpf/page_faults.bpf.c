// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User page faults of selected processes, streamed or aggregated per page.
 *
 * tp_btf/page_fault_user fires once per user-mode fault, before the kernel resolves it, so a
 * process's first touch of each 4 KiB page shows up exactly once. The filter (target tgids,
 * cgroup) runs here so unrelated faults cost a few instructions and never reach user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tierkit_events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct tk_config tk_config = {
    .mode = TK_MODE_STREAM,
    .filter_pids = 0,
    .cgroup_id = 0,
    .cgroup_level = 0,
    .page_shift = 12,
    .follow_forks = 0,
    .wakeup_bytes = 0,
};

/* Thread group ids to record; the value is unused. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, __u8);
} target_pids SEC(".maps");

/* The loader resizes this before load (bpf_map__set_max_entries). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1 << 20);
    __type(key, struct tk_page_key);
    __type(value, struct tk_page_stats);
} pages SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, TK_COUNTER_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *value = bpf_map_lookup_elem(&counters, &which);
    if (value)
        *value += 1; /* per-CPU slot: no other writer */
}

static __always_inline __u8 access_kind(unsigned long error_code)
{
    if (error_code & TK_PF_INSTR)
        return TK_ACCESS_EXEC;
    if (error_code & TK_PF_WRITE)
        return TK_ACCESS_WRITE;
    return TK_ACCESS_READ;
}

static __always_inline void aggregate(__u32 pid, unsigned long address, unsigned long error_code,
                                      __u8 kind, __u64 now)
{
    struct tk_page_key key = { .pid = pid, .page = address >> tk_config.page_shift };
    struct tk_page_stats *stats = bpf_map_lookup_elem(&pages, &key);
    if (!stats) {
        struct tk_page_stats fresh = { .first_ns = now };
        /* Fails when another CPU inserted the page meanwhile (then update that entry) or when
         * the map is full (then the lookup fails too and the page is counted as dropped). */
        bpf_map_update_elem(&pages, &key, &fresh, BPF_NOEXIST);
        stats = bpf_map_lookup_elem(&pages, &key);
        if (!stats) {
            count(TK_COUNTER_PAGES_FULL);
            return;
        }
    }
    __sync_fetch_and_add(&stats->count, 1);
    if (kind == TK_ACCESS_WRITE)
        __sync_fetch_and_add(&stats->writes, 1);
    else if (kind == TK_ACCESS_EXEC)
        __sync_fetch_and_add(&stats->execs, 1);
    else
        __sync_fetch_and_add(&stats->reads, 1);
    stats->last_ns = now;
    stats->error_bits |= (__u16)error_code;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(tk_page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 pid = id >> 32;

    if (tk_config.filter_pids && !bpf_map_lookup_elem(&target_pids, &pid))
        return 0;
    if (tk_config.cgroup_id &&
        bpf_get_current_ancestor_cgroup_id(tk_config.cgroup_level) != tk_config.cgroup_id)
        return 0;

    count(TK_COUNTER_MATCHED);
    __u64 now = bpf_ktime_get_ns();
    __u8 kind = access_kind(error_code);

    if (tk_config.mode == TK_MODE_AGGREGATE) {
        aggregate(pid, address, error_code, kind, now);
        return 0;
    }

    struct tk_fault_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event) {
        count(TK_COUNTER_LOST);
        return 0;
    }
    event->time_ns = now;
    event->address = address;
    event->pid = pid;
    event->tid = (__u32)id;
    event->error_code = (__u16)error_code;
    event->kind = kind;
    __builtin_memset(event->reserved, 0, sizeof(event->reserved));
    /* Waking the reader for every event adds work to every fault; the reader also polls with
     * a timeout, so below the threshold events wait at most that long. */
    __u64 wakeup = 0;
    if (tk_config.wakeup_bytes)
        wakeup = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= tk_config.wakeup_bytes
                     ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    bpf_ringbuf_submit(event, wakeup);
    return 0;
}

/* With follow_forks, children of targets become targets when they are created, before they run. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tk_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 parent_pid = parent->tgid;
    __u32 child_pid = child->tgid;
    __u8 one = 1;

    if (!tk_config.follow_forks || parent_pid == child_pid)
        return 0;
    if (bpf_map_lookup_elem(&target_pids, &parent_pid))
        bpf_map_update_elem(&target_pids, &child_pid, &one, BPF_ANY);
    return 0;
}
