// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User page faults of selected processes, streamed or aggregated per page, and the other page
 * event sources (vmscan, filemap, LRU, migration, DAMON), each a program loaded only when its
 * source is chosen.
 *
 * tp_btf/page_fault_user fires once per user-mode fault, before the kernel resolves it, so a
 * process's first touch of each 4 KiB page shows up exactly once, and the PTE still holds what
 * the fault found (a swap entry for a refault). The filter (target tgids, cgroup) runs here so
 * unrelated faults cost a few instructions and never reach user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
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
    .detect_refaults = 0,
    .pgtable_levels = 4,
    .page_offset = 0xffff888000000000ULL,
    .page_offset_symbol = 0,
    .vmemmap_base = 0xffffea0000000000ULL,
    .vmemmap_symbol = 0,
    .sources = 0,
    .kernel_threads = 1,
};

/* Thread group ids to record, as bits: bit (tgid % 64) of word (tgid / 64). An array the
 * verifier inlines, so the check is a few instructions and one cache line rather than a hash
 * lookup; user space sets and clears bits atomically through a shared mapping. The loader sizes
 * it to the kernel's pid_max before load. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, TK_TARGET_WORDS);
    __type(key, __u32);
    __type(value, __u64);
} target_bits SEC(".maps");

static __always_inline bool is_target(__u32 pid)
{
    __u32 word = pid / 64;
    __u64 *bits = bpf_map_lookup_elem(&target_bits, &word);
    return bits && (*bits & (1ULL << (pid % 64)));
}

/* The loader resizes this before load (bpf_map__set_max_entries). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* Events of the sources other than faults; resized by the loader. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 * 1024 * 1024);
} page_events SEC(".maps");

/* Entries are allocated as groups of pages are first seen (no preallocation): they come from
 * the kernel's direct map, which huge pages back, rather than from one vmalloc'd area of
 * max_entries elements, so walking them misses the TLB less. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1 << 20);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct tk_page_key);
    __type(value, struct tk_page_group);
} pages SEC(".maps");

/* What a new group starts as. */
static const struct tk_page_group empty_group = {};

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
                                      __u8 kind, __u8 fault_flags, __u64 now)
{
    __u64 page = address >> tk_config.page_shift;
    struct tk_page_key key = { .pid = pid, .page = page & ~(__u64)(TK_GROUP_PAGES - 1) };
    struct tk_page_group *group = bpf_map_lookup_elem(&pages, &key);
    if (!group) {
        /* Another thread may insert the group meanwhile (then count into its entry); when the
         * map is full the lookup fails too and the fault is counted as dropped. */
        bpf_map_update_elem(&pages, &key, &empty_group, BPF_NOEXIST);
        group = bpf_map_lookup_elem(&pages, &key);
        if (!group) {
            count(TK_COUNTER_PAGES_FULL);
            return;
        }
    }
    struct tk_page_stats *stats = &group->pages[page & (TK_GROUP_PAGES - 1)];
    if (__sync_fetch_and_add(&stats->count, 1) == 0)
        stats->first_ns = now;
    if (fault_flags & TK_FAULT_REFAULT)
        __sync_fetch_and_add(&stats->refaults, 1);
    if (kind == TK_ACCESS_WRITE)
        __sync_fetch_and_add(&stats->writes, 1);
    else if (kind == TK_ACCESS_EXEC)
        __sync_fetch_and_add(&stats->execs, 1);
    else
        __sync_fetch_and_add(&stats->reads, 1);
    stats->last_ns = now;
    stats->error_bits |= (__u16)error_code;
}

/* x86-64 page-table entry bits (arch/x86/include/asm/pgtable_types.h). */
#define TK_PTE_PRESENT 0x001ULL
#define TK_PTE_PSE 0x080ULL      /* huge page at the PUD or PMD level */
#define TK_PTE_PROTNONE 0x100ULL /* present but inaccessible (NUMA hinting) */
#define TK_PTE_ERRATUM 0x060ULL  /* accessed/dirty bits a none PTE may carry (KNL erratum) */
#define TK_PTE_ADDRESS 0x000ffffffffff000ULL
/* A non-present, non-none PTE holds a swap entry whose type is in the top 5 bits; types from
 * MAX_SWAPFILES (at least 32 - 4 device - 3 migration - 1 hwpoison - 1 marker = 23) up are
 * migration, device, hwpoison or marker entries, not swap. */
#define TK_SWAP_TYPE_SHIFT 59
#define TK_MAX_SWAPFILES 23

/* Reads entry `index` of the page table at physical address `table`; 0 when unreadable. */
static __always_inline __u64 table_entry(__u64 page_offset, __u64 table, unsigned long index)
{
    __u64 entry = 0;
    bpf_probe_read_kernel(&entry, sizeof(entry), (void *)(page_offset + table + index * 8));
    return entry;
}

/* Per-CPU shares summed at most: beyond this many CPUs the sum would cost more than the walk. */
#define TK_SWAPENTS_MAX_CPUS 16

/* Each CPU's per-CPU offset (per_cpu_ptr(p, cpu) == p + offset), found on the first fault from
 * the per-CPU `counters` map: the distance from its per-CPU pointer to the copy the kernel hands
 * out for a CPU. tk_cpu_offsets_found: 1 found, 2 not available (then always walk). */
__u64 tk_cpu_offsets[TK_SWAPENTS_MAX_CPUS];
__u32 tk_cpu_offsets_found;
/* A slot per CPU for address_of (two CPUs may find the offsets at once). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} scratch SEC(".maps");

/* Turns a pointer into a number (0 when impossible): stored and read back, which privileged
 * programs may do. */
static __always_inline __u64 address_of(const void *pointer)
{
    __u32 key = 0;
    __u64 *slot = bpf_map_lookup_elem(&scratch, &key);
    if (!slot)
        return 0;
    *(volatile __u64 *)slot = (__u64)pointer;
    return *(volatile __u64 *)slot;
}

static __noinline int find_cpu_offsets(__u32 cpus)
{
    __u64 percpu = 0;
    __u64 array = address_of(&counters);
    if (!array || bpf_probe_read_kernel(&percpu, sizeof(percpu), (void *)(array + bpf_core_field_offset(struct bpf_array, pptrs))) ||
        !percpu)
        return 2;
    __u32 key = 0;
    for (__u32 cpu = 0; cpu < TK_SWAPENTS_MAX_CPUS; cpu++) {
        if (cpu >= cpus)
            break;
        __u64 copy = address_of(bpf_map_lookup_percpu_elem(&counters, &key, cpu));
        if (!copy)
            return 2;
        tk_cpu_offsets[cpu] = copy - percpu;
    }
    return 1;
}

/* Whether `mm` may hold a swap entry, from its MM_SWAPENTS counter summed exactly as
 * percpu_counter_sum() does (the shared count plus each CPU's unfolded share). A process that
 * never had a page swapped out, the common case, then skips the page-table walk, whose reads
 * miss the cache on fresh page tables. */
static __always_inline bool mm_may_hold_swap_entries(struct mm_struct *mm)
{
    __u32 cpus = tk_config.possible_cpus;
    if (cpus == 0 || cpus > TK_SWAPENTS_MAX_CPUS)
        return true;
    if (!tk_cpu_offsets_found)
        tk_cpu_offsets_found = find_cpu_offsets(cpus);
    if (tk_cpu_offsets_found != 1)
        return true;
    struct percpu_counter *swapents = &mm->rss_stat[MM_SWAPENTS];
    __u64 shares = (__u64)swapents->counters;
    __s64 sum = 0;
    /* The CPUs' shares first, the shared count after: a share folded into the count in
     * between is then counted twice, never missed (the kernel adds to the count before it
     * clears the share). */
    for (__u32 cpu = 0; cpu < TK_SWAPENTS_MAX_CPUS; cpu++) {
        if (cpu >= cpus)
            break;
        __s32 share = 0;
        if (bpf_probe_read_kernel(&share, sizeof(share), (void *)(shares + tk_cpu_offsets[cpu])))
            return true;
        sum += share;
    }
    return sum + swapents->count != 0;
}

/* Whether the current process's PTE for `address` holds a swap entry (the fault fires before
 * the kernel handles it, so this is the state the fault found). Walks the page tables through
 * the direct map; any level missing or huge means "no". */
static __always_inline bool pte_is_swap_entry(unsigned long address)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct mm_struct *mm = task->mm;
    if (!mm || !mm_may_hold_swap_entries(mm))
        return false;
    __u64 page_offset = tk_config.page_offset;
    if (tk_config.page_offset_symbol)
        bpf_probe_read_kernel(&page_offset, sizeof(page_offset), (void *)tk_config.page_offset_symbol);
    __u64 entry = 0;
    unsigned long top_shift = tk_config.pgtable_levels == 5 ? 48 : 39;
    if (bpf_probe_read_kernel(&entry, sizeof(entry), (void *)mm->pgd + ((address >> top_shift) & 511) * 8))
        return false;
    if (tk_config.pgtable_levels == 5) { /* the P4D level */
        if (!(entry & TK_PTE_PRESENT))
            return false;
        entry = table_entry(page_offset, entry & TK_PTE_ADDRESS, (address >> 39) & 511);
    }
    if (!(entry & TK_PTE_PRESENT)) /* P4D (PGD with 4 levels) entry */
        return false;
    entry = table_entry(page_offset, entry & TK_PTE_ADDRESS, (address >> 30) & 511);
    if (!(entry & TK_PTE_PRESENT) || (entry & TK_PTE_PSE)) /* PUD */
        return false;
    entry = table_entry(page_offset, entry & TK_PTE_ADDRESS, (address >> 21) & 511);
    if (!(entry & TK_PTE_PRESENT) || (entry & TK_PTE_PSE)) /* PMD */
        return false;
    entry = table_entry(page_offset, entry & TK_PTE_ADDRESS, (address >> 12) & 511);
    if (entry & (TK_PTE_PRESENT | TK_PTE_PROTNONE))
        return false;
    if ((entry & ~TK_PTE_ERRATUM) == 0)
        return false;
    return (entry >> TK_SWAP_TYPE_SHIFT) < TK_MAX_SWAPFILES;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(tk_page_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 pid = id >> 32;

    if (tk_config.filter_pids && !is_target(pid))
        return 0;
    if (tk_config.cgroup_id &&
        bpf_get_current_ancestor_cgroup_id(tk_config.cgroup_level) != tk_config.cgroup_id)
        return 0;

    /* The per-CPU count of matched faults doubles as the sequence number for wakeups. */
    __u32 which = TK_COUNTER_MATCHED;
    __u64 *matched = bpf_map_lookup_elem(&counters, &which);
    __u64 sequence = 0;
    if (matched)
        sequence = ++*matched; /* per-CPU slot: no other writer */
    __u64 now = bpf_ktime_get_ns();
    __u8 kind = access_kind(error_code);
    /* A present page (protection fault) cannot be swapped out: skip the walk. */
    __u8 fault_flags = 0;
    if (tk_config.detect_refaults && !(error_code & TK_PF_PROT) && pte_is_swap_entry(address))
        fault_flags = TK_FAULT_REFAULT;

    if (tk_config.mode == TK_MODE_AGGREGATE) {
        aggregate(pid, address, error_code, kind, fault_flags, now);
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
    event->fault_flags = fault_flags;
    __builtin_memset(event->reserved, 0, sizeof(event->reserved));
    /* Waking the reader for every event adds work to every fault; so does asking the ring
     * buffer how full it is (its positions are cache lines the reader writes). Each CPU wakes
     * the reader once per wakeup_bytes (a power of two) of its own events instead; the reader
     * also polls with a timeout, so events wait at most that long. */
    __u64 wakeup = 0;
    if (tk_config.wakeup_bytes)
        wakeup = (sequence & (tk_config.wakeup_bytes / sizeof(*event) - 1)) == 0 ? BPF_RB_FORCE_WAKEUP
                                                                               : BPF_RB_NO_WAKEUP;
    bpf_ringbuf_submit(event, wakeup);
    return 0;
}

/* With follow_forks, children of targets become targets when they are created, before they run. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tk_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 parent_pid = parent->tgid;
    __u32 child_pid = child->tgid;

    if (!tk_config.follow_forks || parent_pid == child_pid || !is_target(parent_pid))
        return 0;
    __u32 word = child_pid / 64;
    __u64 *bits = bpf_map_lookup_elem(&target_bits, &word);
    if (bits)
        __sync_fetch_and_or(bits, 1ULL << (child_pid % 64));
    return 0;
}

/* ---- The other sources: one tk_page_event each, through page_events. ---- */

#define TK_PF_KTHREAD 0x00200000 /* task_struct.flags: a kernel thread */

/* Whether an event in the current task's context passes the filters: a target process (or
 * anything when no target filter), in the cgroup when one is set; kernel threads (kswapd,
 * kcompactd, kdamond, writeback workers) pass when kernel_threads is set, since they act on
 * everyone's pages. */
static __always_inline bool current_passes(void)
{
    if (tk_config.kernel_threads) {
        struct task_struct *task = bpf_get_current_task_btf();
        if (task->flags & TK_PF_KTHREAD)
            return true;
    }
    __u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (tk_config.filter_pids && !is_target(pid))
        return false;
    if (tk_config.cgroup_id &&
        bpf_get_current_ancestor_cgroup_id(tk_config.cgroup_level) != tk_config.cgroup_id)
        return false;
    return true;
}

/* Reserves a page event with the common fields filled in; NULL (counted) when the ring buffer
 * is full. */
static __always_inline struct tk_page_event *page_event(__u8 kind)
{
    count(TK_COUNTER_EVENTS);
    struct tk_page_event *event = bpf_ringbuf_reserve(&page_events, sizeof(*event), 0);
    if (!event) {
        count(TK_COUNTER_EVENTS_LOST);
        return NULL;
    }
    __u64 id = bpf_get_current_pid_tgid();
    event->time_ns = bpf_ktime_get_ns();
    event->address = 0;
    event->value = 0;
    event->pid = id >> 32;
    event->tid = (__u32)id;
    event->count = 0;
    event->aux = 0;
    event->flags = 0;
    event->kind = kind;
    event->reserved = 0;
    event->aux2 = 0;
    return event;
}

static __always_inline void submit(struct tk_page_event *event)
{
    bpf_ringbuf_submit(event, 0);
}

static __always_inline __u32 folio_pages(struct folio *folio)
{
    if (!(folio->flags.f & (1UL << PG_head)))
        return 1;
    return folio->_nr_pages;
}

/* A kernel pointer's value as a number: the verifier forbids arithmetic on trusted pointers,
 * so the value is copied out of the stack slot that holds it. */
static __always_inline __u64 pointer_value(const void *pointer)
{
    __u64 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), &pointer);
    return value;
}

static __always_inline bool folio_anon(struct folio *folio)
{
    return (pointer_value(folio->mapping) & 1) != 0; /* FOLIO_MAPPING_ANON */
}

/* The folio's physical address: its struct page's index in the vmemmap array. */
static __always_inline __u64 folio_physical(struct folio *folio)
{
    __u64 vmemmap = tk_config.vmemmap_base;
    if (tk_config.vmemmap_symbol)
        bpf_probe_read_kernel(&vmemmap, sizeof(vmemmap), (void *)tk_config.vmemmap_symbol);
    return (pointer_value(folio) - vmemmap) / bpf_core_type_size(struct page) << 12;
}

static __always_inline __u16 folio_kind_flags(struct folio *folio)
{
    __u16 flags = folio_anon(folio) ? TK_PAGE_ANON : TK_PAGE_FILE;
    if (folio_pages(folio) > 1)
        flags |= TK_PAGE_HUGE;
    return flags;
}

static __always_inline void reclaim_event(int nid, unsigned long scanned, unsigned long reclaimed, __u16 flags)
{
    if (!(tk_config.sources & TK_SOURCE_RECLAIM) || reclaimed == 0 || !current_passes())
        return;
    struct tk_page_event *event = page_event(TK_EVENT_RECLAIM);
    if (!event)
        return;
    event->value = scanned;
    event->count = reclaimed;
    event->aux = nid;
    event->flags = flags;
    submit(event);
}

/* kswapd and direct reclaim: one event per inactive-list shrink that freed pages. */
SEC("tp_btf/mm_vmscan_lru_shrink_inactive")
int BPF_PROG(tk_vmscan_shrink_inactive, int nid, unsigned long nr_scanned, unsigned long nr_reclaimed,
             struct reclaim_stat *stat, int priority, int file)
{
    reclaim_event(nid, nr_scanned, nr_reclaimed, file ? TK_PAGE_FILE : TK_PAGE_ANON);
    return 0;
}

/* reclaim_pages(): MADV_PAGEOUT, process_madvise, DAMON's pageout action. */
SEC("tp_btf/mm_vmscan_reclaim_pages")
int BPF_PROG(tk_vmscan_reclaim_pages, int nid, unsigned long nr_scanned, unsigned long nr_reclaimed,
             struct reclaim_stat *stat)
{
    reclaim_event(nid, nr_scanned, nr_reclaimed, 0);
    return 0;
}

/* A folio written out by reclaim (to swap, or a dirty file folio). */
SEC("tp_btf/mm_vmscan_write_folio")
int BPF_PROG(tk_vmscan_write_folio, struct folio *folio)
{
    if (!(tk_config.sources & TK_SOURCE_WRITEBACK) || !current_passes())
        return 0;
    struct tk_page_event *event = page_event(TK_EVENT_WRITEBACK);
    if (!event)
        return 0;
    event->address = folio_physical(folio);
    event->count = folio_pages(folio);
    event->flags = folio_kind_flags(folio);
    if (!folio_anon(folio) && folio->mapping)
        event->value = BPF_CORE_READ(folio, mapping, host, i_ino);
    submit(event);
    return 0;
}

static __always_inline void filemap_event(struct folio *folio, __u8 kind)
{
    if (!(tk_config.sources & TK_SOURCE_FILEMAP) || !current_passes())
        return;
    struct tk_page_event *event = page_event(kind);
    if (!event)
        return;
    struct inode *host = BPF_CORE_READ(folio, mapping, host);
    event->address = folio->index << 12;
    event->value = BPF_CORE_READ(host, i_ino);
    event->aux = BPF_CORE_READ(host, i_sb, s_dev);
    event->count = folio_pages(folio);
    event->flags = TK_PAGE_FILE | (folio_pages(folio) > 1 ? TK_PAGE_HUGE : 0);
    submit(event);
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(tk_filemap_add, struct folio *folio)
{
    filemap_event(folio, TK_EVENT_PAGE_CACHE_INSERT);
    return 0;
}

SEC("tp_btf/mm_filemap_delete_from_page_cache")
int BPF_PROG(tk_filemap_delete, struct folio *folio)
{
    filemap_event(folio, TK_EVENT_PAGE_CACHE_DELETE);
    return 0;
}

/* A folio put on an LRU list; aux is the list as the kernel numbers it (enum lru_list:
 * 0 inactive anon, 1 active anon, 2 inactive file, 3 active file, 4 unevictable). */
SEC("tp_btf/mm_lru_insertion")
int BPF_PROG(tk_lru_insertion, struct folio *folio)
{
    if (!(tk_config.sources & TK_SOURCE_LRU) || !current_passes())
        return 0;
    struct tk_page_event *event = page_event(TK_EVENT_LRU_INSERT);
    if (!event)
        return 0;
    unsigned long flags = folio->flags.f;
    __u32 list;
    if (flags & (1UL << PG_unevictable))
        list = 4;
    else
        list = ((flags & (1UL << PG_swapbacked)) ? 0 : 2) + ((flags & (1UL << PG_active)) ? 1 : 0);
    event->address = folio_physical(folio);
    event->value = flags;
    event->count = folio_pages(folio);
    event->aux = list;
    event->flags = folio_kind_flags(folio);
    submit(event);
    return 0;
}

/* The end of one migrate_pages() call. */
SEC("tp_btf/mm_migrate_pages")
int BPF_PROG(tk_migrate_pages, unsigned long succeeded, unsigned long failed, unsigned long thp_succeeded,
             unsigned long thp_failed, unsigned long thp_split, unsigned long large_folio_split,
             enum migrate_mode mode, int reason)
{
    if (!(tk_config.sources & TK_SOURCE_MIGRATE) || succeeded + failed == 0 || !current_passes())
        return 0;
    struct tk_page_event *event = page_event(TK_EVENT_MIGRATE);
    if (!event)
        return 0;
    event->value = failed;
    event->count = succeeded;
    event->aux = reason;
    event->aux2 = mode;
    submit(event);
    return 0;
}

/* One region of a running kdamond's aggregation, read as it is reported: nothing here starts,
 * stops or configures DAMON. */
SEC("tp_btf/damon_aggregated")
int BPF_PROG(tk_damon_aggregated, unsigned int target_id, struct damon_region *region, unsigned int nr_regions)
{
    if (!(tk_config.sources & TK_SOURCE_DAMON) || !current_passes())
        return 0;
    struct tk_page_event *event = page_event(TK_EVENT_DAMON_REGION);
    if (!event)
        return 0;
    event->address = region->ar.start;
    event->value = region->ar.end;
    event->count = region->nr_accesses;
    event->aux = target_id;
    event->aux2 = region->age;
    submit(event);
    return 0;
}
