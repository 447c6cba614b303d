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
    TK_COUNTER_EVENTS = 3,     /* page events (sources other than faults) that passed the filters */
    TK_COUNTER_EVENTS_LOST = 4, /* page_events ring buffer full: an event was dropped */
    TK_COUNTER_COUNT = 5,
};

/* Words of the target bitmap for the largest pid_max (PID_MAX_LIMIT, 4 Mi); the loader shrinks
 * it to the running kernel's pid_max. */
#define TK_TARGET_WORDS (4194304 / 64)

/* Bits of tk_fault_event.fault_flags. */
enum tk_fault_flags {
    /* Before the fault, the page's PTE held a swap entry: the page had been present and was
     * swapped out (a refault). */
    TK_FAULT_REFAULT = 1 << 0,
};

/* Kinds of tk_page_event; the numbers are the .tkt record kinds. */
enum tk_page_event_kind {
    TK_EVENT_RECLAIM = 5,
    TK_EVENT_WRITEBACK = 6,
    TK_EVENT_PAGE_CACHE_INSERT = 7,
    TK_EVENT_PAGE_CACHE_DELETE = 8,
    TK_EVENT_LRU_INSERT = 9,
    TK_EVENT_MIGRATE = 10,
    TK_EVENT_DAMON_REGION = 11,
};

/* Bits of tk_page_event.flags: the .tkt record flags. */
enum tk_page_flags {
    TK_PAGE_MAJOR = 1 << 0,
    TK_PAGE_FILE = 1 << 1,
    TK_PAGE_ANON = 1 << 2,
    TK_PAGE_HUGE = 1 << 3,
    TK_PAGE_SHARED = 1 << 4,
};

/* Sources other than faults, as bits of tk_config.sources. */
enum tk_source {
    TK_SOURCE_RECLAIM = 1 << 0,   /* vmscan: shrink_inactive, reclaim_pages */
    TK_SOURCE_WRITEBACK = 1 << 1, /* vmscan: write_folio */
    TK_SOURCE_FILEMAP = 1 << 2,   /* filemap: add/delete page cache */
    TK_SOURCE_LRU = 1 << 3,       /* pagemap: lru_insertion */
    TK_SOURCE_MIGRATE = 1 << 4,   /* migrate: mm_migrate_pages */
    TK_SOURCE_DAMON = 1 << 5,     /* damon: damon_aggregated */
};

/* One user page fault, as streamed through the ring buffer. 32 bytes. */
struct tk_fault_event {
    __u64 time_ns;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    __u64 address;    /* faulting virtual address */
    __u32 pid;        /* thread group id */
    __u32 tid;        /* thread id */
    __u16 error_code; /* raw x86 error code bits (tk_fault_error_bits) */
    __u8 kind;        /* tk_access_kind */
    __u8 fault_flags; /* tk_fault_flags */
    __u8 reserved[4];
};

/* One event of the other sources, through the page_events ring buffer. 48 bytes. What each
 * field holds depends on the kind (README, ".tkt kinds"). */
struct tk_page_event {
    __u64 time_ns; /* bpf_ktime_get_ns() */
    __u64 address; /* file offset, physical address or region start, by kind */
    __u64 value;   /* inode, pages scanned, pages failed, folio flags or region end, by kind */
    __u32 pid;     /* tgid of the task in whose context it happened */
    __u32 tid;
    __u32 count;   /* pages (reclaimed, written, inserted, ...) or a region's accesses */
    __u32 aux;     /* device, NUMA node, LRU list, migrate reason or DAMON target, by kind */
    __u16 flags;   /* tk_page_flags */
    __u8 kind;     /* tk_page_event_kind */
    __u8 reserved;
    __u32 aux2;    /* DAMON: region age; else 0 */
};

/* Key of the aggregation map: one entry per (process, group of TK_GROUP_PAGES consecutive
 * virtual pages). Faults come in runs of neighbouring pages, so a group's entry is found once
 * and stays in the cache for the next faults, and inserts are rarer. */
struct tk_page_key {
    __u32 pid;
    __u32 reserved;
    __u64 page; /* address >> page_shift; in the map, the group's first page (a multiple of TK_GROUP_PAGES) */
};

#define TK_GROUP_SHIFT 3
#define TK_GROUP_PAGES (1 << TK_GROUP_SHIFT)

/* Per-page statistics of the aggregation map. */
struct tk_page_stats {
    __u32 count;
    __u32 refaults;   /* faults that found the page swapped out (TK_FAULT_REFAULT) */
    __u64 first_ns;
    __u64 last_ns;
    __u32 reads;
    __u32 writes;
    __u32 execs;
    __u16 error_bits; /* OR of every fault's error code */
    __u16 reserved;
};

/* Value of the aggregation map: slot i holds page key.page + i; a slot with count 0 was not
 * faulted. */
struct tk_page_group {
    struct tk_page_stats pages[TK_GROUP_PAGES];
};

/* Read-only configuration, set by the loader before the object is loaded. */
struct tk_config {
    __u32 mode;          /* tk_record_mode */
    __u32 filter_pids;   /* nonzero: only tgids present in the target_pids map */
    __u64 cgroup_id;     /* nonzero: only tasks in this cgroup v2 (or below it) */
    __u32 cgroup_level;  /* depth of cgroup_id below the cgroup v2 root */
    __u32 page_shift;    /* 12 for 4 KiB pages */
    __u32 follow_forks;  /* nonzero: a process forked by a target becomes a target */
    __u32 wakeup_bytes;  /* a power of two: each CPU wakes the reader once per this many bytes of
                          * its events (0: every event) */
    __u32 detect_refaults; /* nonzero: look the faulting address's PTE up (x86-64) */
    __u32 pgtable_levels;  /* 4 or 5 */
    __u64 page_offset;     /* virtual address of physical 0 in the direct map */
    __u64 page_offset_symbol; /* nonzero: address of page_offset_base, read instead */
    __u64 vmemmap_base;    /* address of the struct page of pfn 0 */
    __u64 vmemmap_symbol;  /* nonzero: address of vmemmap_base, read instead */
    __u32 sources;         /* tk_source bits of the programs loaded besides faults */
    __u32 kernel_threads;  /* nonzero: page events of kernel threads (kswapd, kdamond) pass the filters */
    __u32 possible_cpus;   /* CPUs whose share of a per-CPU counter the refault check sums (0: walk
                            * the page tables on every not-present fault) */

};

#endif
