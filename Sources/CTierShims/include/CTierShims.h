/* C that Swift cannot express or must not run: the structs shared with the BPF programs, and
 * process helpers whose child side must stay async-signal-safe after fork(). */
#ifndef CTIERSHIMS_H
#define CTIERSHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../../bpf/include/tierkit_events.h"

/* Sets or clears bits of a 64-bit word shared with BPF programs (a mapped BPF array), with the
 * same atomicity as the programs' own updates. */
static inline void ctiershims_atomic_or_u64(uint64_t *word, uint64_t bits) { __atomic_fetch_or(word, bits, __ATOMIC_SEQ_CST); }
static inline void ctiershims_atomic_and_u64(uint64_t *word, uint64_t bits) { __atomic_fetch_and(word, bits, __ATOMIC_SEQ_CST); }
static inline uint64_t ctiershims_atomic_load_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }

/* A child forked and held before execvp until released: a recorder can register its pid and
 * attach first, so the command is observed from its first instruction. */
struct ctiershims_gated_child {
    pid_t pid;
    int gate_fd;  /* write end: one byte releases the child, closing it without one kills it */
    int error_fd; /* read end, close-on-exec in the child: receives execvp's errno on failure */
};

/* Forks the child; `argv` is NULL-terminated, argv[0] searched in PATH. Returns 0 or an errno. */
int ctiershims_spawn_gated(char *const argv[], struct ctiershims_gated_child *child);

/* Lets the child exec. Returns 0 when the exec happened, else the child's errno (the child has
 * then exited with status 127 and must still be reaped). */
int ctiershims_release_gated(struct ctiershims_gated_child *child);

/* Closes the gate without releasing: the child exits with status 127 without executing. */
void ctiershims_abandon_gated(struct ctiershims_gated_child *child);

/* A forked child that touches a known set of pages on request. */
struct ctiershims_toucher {
    pid_t pid;
    int gate_fd;   /* write end: one byte per step */
    int report_fd; /* read end: the base address (uint64_t) after touching, or 0 on failure */
};

/* Kinds for ctiershims_fork_toucher: one byte per page. */
enum {
    CTIERSHIMS_TOUCH_NONE = 0,
    CTIERSHIMS_TOUCH_READ = 'r',
    CTIERSHIMS_TOUCH_WRITE = 'w',
    CTIERSHIMS_TOUCH_READ_WRITE = 'b', /* read (maps the zero page), then write (copy): two faults */
    CTIERSHIMS_TOUCH_EXEC = 'x',
};

/* Forks a child that waits for the first gate byte, then maps `pages` pages of 4 KiB
 * (anonymous, MADV_NOHUGEPAGE; each 'x' page a one-page executable memfd mapping so that it
 * faults on its own, without fault-around), touches page i as kinds[i] says, writes the
 * base address to the report pipe, waits for the gate to close and exits 0.
 * Returns 0 or an errno. */
int ctiershims_fork_toucher(const uint8_t *kinds, size_t pages, struct ctiershims_toucher *toucher);

/* Commands a toucher runs after touching (ctiershims_toucher_command). */
enum {
    /* MADV_PAGEOUT of the range; replies the number of its pages pagemap shows swapped. */
    CTIERSHIMS_TOUCHER_PAGE_OUT = 'P',
    /* Touches the pages again as at first; replies the base address. */
    CTIERSHIMS_TOUCHER_RETOUCH = 'T',
};

/* Releases the toucher and returns the base address it touched (0 when it failed). */
uint64_t ctiershims_toucher_run(struct ctiershims_toucher *toucher);

/* Has the toucher (after ctiershims_toucher_run) run `command` in its own context and returns
 * its reply, UINT64_MAX on failure. */
uint64_t ctiershims_toucher_command(struct ctiershims_toucher *toucher, char command);

/* Closes the gate and reaps the child; returns its wait status, or -1. */
int ctiershims_toucher_finish(struct ctiershims_toucher *toucher);

/* Maps `pages` anonymous pages (MADV_NOHUGEPAGE), writes one byte to each, unmaps, `rounds`
 * times: one first-touch fault per page per round. Returns the number of pages touched, or -1
 * when mmap failed. */
int64_t ctiershims_fault_loop(size_t pages, size_t rounds);

/* Pins the calling thread to `cpu`. Returns 0 or an errno. */
int ctiershims_pin_to_cpu(int cpu);

/* A forked child holding `pages` anonymous pages (4 KiB, MADV_NOHUGEPAGE), each written with
 * distinct non-zero data, that answers commands until its command pipe closes:
 *   'm'  pages resident in memory or the swap cache (mincore), as int64_t
 *   't'  read every page; the major faults that took (getrusage), as int64_t
 * so tests can check what another process's pageout and willneed did from the inside. */
struct ctiershims_memory_child {
    pid_t pid;
    int command_fd;
    int answer_fd;
    uint64_t base; /* the pages' address in the child */
};

/* Forks the child and waits until its pages are written. Returns 0 or an errno. */
int ctiershims_fork_memory_child(size_t pages, struct ctiershims_memory_child *child);
/* Sends a command; returns the answer, or -1. */
int64_t ctiershims_memory_child_ask(struct ctiershims_memory_child *child, char command);
/* Closes the pipes and reaps the child; returns its wait status, or -1. */
int ctiershims_memory_child_finish(struct ctiershims_memory_child *child);

/* ---- Host system calls (host.c) ---- */

/* Most iovecs one process_madvise call takes (the kernel's UIO_MAXIOV). */
#define CTIERSHIMS_IOV_MAX 1024

/* One address range of another process. */
struct ctiershims_range {
    uint64_t start;
    uint64_t length;
};

/* pidfd_open(pid, 0). */
int ctiershims_pidfd_open(pid_t pid);
/* 1 when the pidfd's process has exited, 0 when it runs, -1 on error. */
int ctiershims_pidfd_exited(int pidfd);
/* process_madvise(pidfd, ranges as iovecs, count <= CTIERSHIMS_IOV_MAX, advice, 0). */
ssize_t ctiershims_process_madvise(int pidfd, const struct ctiershims_range *ranges, size_t count, int advice);
/* move_pages(pid, count, pages, nodes, status, MPOL_MF_MOVE); nodes NULL queries. */
long ctiershims_move_pages(pid_t pid, size_t count, const uint64_t *pages, const int *nodes, int *status);
/* swapon(path) with a priority (0...32767) or the kernel's default (priority < 0). */
int ctiershims_swapon(const char *path, int priority);
int ctiershims_swapoff(const char *path);
int ctiershims_madv_cold(void);
int ctiershims_madv_pageout(void);
int ctiershims_madv_willneed(void);
int ctiershims_madv_nohugepage(void);

#endif
