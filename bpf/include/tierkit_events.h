/* Event and map layouts shared by the BPF programs in bpf/ and by Swift (through CTierShims).
 * Every struct has explicit padding so both compilers agree on its size without packing. */
#ifndef TIERKIT_EVENTS_H
#define TIERKIT_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* What a user page fault was for, from the x86 error code. */
enum tk_access_kind {
    TK_ACCESS_READ = 0,
    TK_ACCESS_WRITE = 1,
    TK_ACCESS_EXEC = 2,
};

/* x86 page-fault error-code bits (arch/x86/include/asm/trap_pf.h), kept raw in events. */
enum tk_fault_error_bits {
    TK_PF_PROT = 1 << 0,  /* the page was present: a protection fault (e.g. write to COW/zero page) */
    TK_PF_WRITE = 1 << 1,
    TK_PF_USER = 1 << 2,
    TK_PF_RSVD = 1 << 3,
    TK_PF_INSTR = 1 << 4,
};

/* Recording modes, chosen before load through tk_config.mode. */
enum tk_record_mode {
    TK_MODE_STREAM = 0,    /* one tk_fault_event per fault through the ring buffer */
    TK_MODE_AGGREGATE = 1, /* per-page statistics in the pages hash map, nothing streamed */
};

/* Indices of the per-CPU counters array. */
enum tk_counter {
    TK_COUNTER_MATCHED = 0,    /* faults that passed the filters */
    TK_COUNTER_LOST = 1,       /* ring buffer full: bpf_ringbuf_reserve failed */
    TK_COUNTER_PAGES_FULL = 2, /* aggregation map full: a new page could not be inserted */
    TK_COUNTER_COUNT = 3,
};

/* One user page fault, as streamed through the ring buffer. 32 bytes. */
struct tk_fault_event {
    __u64 time_ns;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    __u64 address;    /* faulting virtual address */
    __u32 pid;        /* thread group id */
    __u32 tid;        /* thread id */
    __u16 error_code; /* raw x86 error code bits (tk_fault_error_bits) */
    __u8 kind;        /* tk_access_kind */
    __u8 reserved[5];
};

/* Key of the aggregation map: one entry per (process, virtual page). */
struct tk_page_key {
    __u32 pid;
    __u32 reserved;
    __u64 page; /* address >> page_shift */
};

/* Per-page statistics of the aggregation map. */
struct tk_page_stats {
    __u64 count;
    __u64 first_ns;
    __u64 last_ns;
    __u32 reads;
    __u32 writes;
    __u32 execs;
    __u16 error_bits; /* OR of every fault's error code */
    __u16 reserved;
};

/* Read-only configuration, set by the loader before the object is loaded. */
struct tk_config {
    __u32 mode;          /* tk_record_mode */
    __u32 filter_pids;   /* nonzero: only tgids present in the target_pids map */
    __u64 cgroup_id;     /* nonzero: only tasks in this cgroup v2 (or below it) */
    __u32 cgroup_level;  /* depth of cgroup_id below the cgroup v2 root */
    __u32 page_shift;    /* 12 for 4 KiB pages */
    __u32 follow_forks;  /* nonzero: a process forked by a target becomes a target */
    __u32 wakeup_bytes;  /* wake the reader only once this much is queued (0: every event) */
};

#endif
