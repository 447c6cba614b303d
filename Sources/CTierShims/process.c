#define _GNU_SOURCE
#include "CTierShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CTIERSHIMS_PAGE 4096u

/* read() that retries on EINTR; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t read_full(int fd, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, (char *)buffer + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return done ? (ssize_t)done : n;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int write_full(int fd, const void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, (const char *)buffer + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Creates the gate (parent -> child) and report (child -> parent) pipes and forks.
 * Returns the pid (0 in the child), or -1 with *err set and nothing left open. */
static pid_t fork_with_pipes(int gate[2], int report[2], int *err)
{
    if (pipe2(gate, O_CLOEXEC) != 0) {
        *err = errno;
        return -1;
    }
    if (pipe2(report, O_CLOEXEC) != 0) {
        *err = errno;
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *err = errno;
        close(gate[0]);
        close(gate[1]);
        close(report[0]);
        close(report[1]);
    }
    return pid;
}

int ctiershims_spawn_gated(char *const argv[], struct ctiershims_gated_child *child)
{
    int gate[2], report[2], err = 0;
    pid_t pid = fork_with_pipes(gate, report, &err);
    if (pid < 0)
        return err;
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        close(gate[1]);
        close(report[0]);
        char go;
        if (read_full(gate[0], &go, 1) != 1)
            _exit(127);
        close(gate[0]);
        execvp(argv[0], argv);
        int err = errno;
        (void)write_full(report[1], &err, sizeof err);
        _exit(127);
    }
    close(gate[0]);
    close(report[1]);
    child->pid = pid;
    child->gate_fd = gate[1];
    child->error_fd = report[0];
    return 0;
}

int ctiershims_release_gated(struct ctiershims_gated_child *child)
{
    char go = 1;
    int result = 0;
    if (write_full(child->gate_fd, &go, 1) != 0)
        result = errno ? errno : EPIPE;
    close(child->gate_fd);
    child->gate_fd = -1;
    if (result == 0) {
        int err = 0;
        ssize_t n = read_full(child->error_fd, &err, sizeof err);
        if (n == (ssize_t)sizeof err)
            result = err ? err : ENOEXEC;
    }
    close(child->error_fd);
    child->error_fd = -1;
    return result;
}

void ctiershims_abandon_gated(struct ctiershims_gated_child *child)
{
    if (child->gate_fd >= 0)
        close(child->gate_fd);
    if (child->error_fd >= 0)
        close(child->error_fd);
    child->gate_fd = -1;
    child->error_fd = -1;
}

/* Closes every descriptor from 3 up except `a` and `b`: a forked child must not keep other
 * children's pipe ends open, or their parents never see end-of-file. */
static void close_other_fds(int a, int b)
{
    int low = a < b ? a : b, high = a < b ? b : a;
    if (low > 3)
        syscall(SYS_close_range, 3u, (unsigned)low - 1, 0u);
    if (high > low + 1)
        syscall(SYS_close_range, (unsigned)low + 1, (unsigned)high - 1, 0u);
    syscall(SYS_close_range, (unsigned)high + 1, ~0u, 0u);
}

/* Touches page i of `base` as kinds[i] says. */
static void touch_range(char *base, const uint8_t *kinds, size_t pages)
{
    volatile char sink = 0;
    for (size_t i = 0; i < pages; i++) {
        char *page = base + i * CTIERSHIMS_PAGE;
        switch (kinds[i]) {
        case CTIERSHIMS_TOUCH_READ:
            sink += *(volatile char *)page;
            break;
        case CTIERSHIMS_TOUCH_WRITE:
            *(volatile char *)page = 1;
            break;
        case CTIERSHIMS_TOUCH_READ_WRITE:
            sink += *(volatile char *)page;
            *(volatile char *)page = 1;
            break;
        case CTIERSHIMS_TOUCH_EXEC:
            ((void (*)(void))(void *)page)();
            break;
        default:
            break;
        }
    }
    (void)sink;
}

/* MADV_PAGEOUT of the range, then the number of its pages /proc/self/pagemap shows swapped
 * (bit 62), or UINT64_MAX when that cannot be read. */
static uint64_t page_out(char *base, size_t pages)
{
    if (madvise(base, pages * CTIERSHIMS_PAGE, MADV_PAGEOUT) != 0)
        return UINT64_MAX;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return UINT64_MAX;
    uint64_t swapped = 0, entries[512];
    for (size_t done = 0; done < pages;) {
        size_t n = pages - done < 512 ? pages - done : 512;
        off_t at = (off_t)(((uintptr_t)base / CTIERSHIMS_PAGE + done) * sizeof(uint64_t));
        if (pread(fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t))) {
            close(fd);
            return UINT64_MAX;
        }
        for (size_t i = 0; i < n; i++)
            swapped += (entries[i] >> 62) & 1;
        done += n;
    }
    close(fd);
    return swapped;
}

/* The toucher child's work; returns the base address or 0. */
static uint64_t touch_pages(const uint8_t *kinds, size_t pages)
{
    size_t length = pages * CTIERSHIMS_PAGE;
    char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return 0;
    if (madvise(base, length, MADV_NOHUGEPAGE) != 0)
        return 0;

    size_t execs = 0;
    for (size_t i = 0; i < pages; i++)
        execs += kinds[i] == CTIERSHIMS_TOUCH_EXEC;
    if (execs) {
        /* Every executable page maps its own memfd page at an even offset, so no two such
         * mappings merge into one VMA and a fault never maps a neighbour (fault-around). */
        int fd = memfd_create("tierkit-exec", MFD_CLOEXEC);
        if (fd < 0)
            return 0;
        static const unsigned char ret_page[CTIERSHIMS_PAGE] = { [0 ... CTIERSHIMS_PAGE - 1] = 0xc3 };
        for (size_t j = 0; j < 2 * execs; j++)
            if (write_full(fd, ret_page, sizeof ret_page) != 0)
                return 0;
        size_t slot = 0;
        for (size_t i = 0; i < pages; i++) {
            if (kinds[i] != CTIERSHIMS_TOUCH_EXEC)
                continue;
            void *at = mmap(base + i * CTIERSHIMS_PAGE, CTIERSHIMS_PAGE, PROT_READ | PROT_EXEC,
                            MAP_PRIVATE | MAP_FIXED, fd, (off_t)(2 * slot++ * CTIERSHIMS_PAGE));
            if (at == MAP_FAILED)
                return 0;
        }
        close(fd);
    }

    touch_range(base, kinds, pages);
    return (uint64_t)(uintptr_t)base;
}

int ctiershims_fork_toucher(const uint8_t *kinds, size_t pages, struct ctiershims_toucher *toucher)
{
    int gate[2], report[2], err = 0;
    pid_t pid = fork_with_pipes(gate, report, &err);
    if (pid < 0)
        return err;
    if (pid == 0) {
        close(gate[1]);
        close(report[0]);
        close_other_fds(gate[0], report[1]);
        char go;
        if (read_full(gate[0], &go, 1) != 1)
            _exit(1);
        uint64_t base = touch_pages(kinds, pages);
        if (write_full(report[1], &base, sizeof base) != 0)
            _exit(1);
        /* Stay alive, mappings intact, until the parent has read what it needs; meanwhile
         * run its commands. */
        while (read_full(gate[0], &go, 1) == 1) {
            uint64_t reply = UINT64_MAX;
            if (base && go == CTIERSHIMS_TOUCHER_PAGE_OUT) {
                reply = page_out((char *)(uintptr_t)base, pages);
            } else if (base && go == CTIERSHIMS_TOUCHER_RETOUCH) {
                touch_range((char *)(uintptr_t)base, kinds, pages);
                reply = base;
            }
            if (write_full(report[1], &reply, sizeof reply) != 0)
                _exit(1);
        }
        _exit(base ? 0 : 1);
    }
    close(gate[0]);
    close(report[1]);
    toucher->pid = pid;
    toucher->gate_fd = gate[1];
    toucher->report_fd = report[0];
    return 0;
}

uint64_t ctiershims_toucher_run(struct ctiershims_toucher *toucher)
{
    char go = 1;
    if (write_full(toucher->gate_fd, &go, 1) != 0)
        return 0;
    uint64_t base = 0;
    if (read_full(toucher->report_fd, &base, sizeof base) != (ssize_t)sizeof base)
        return 0;
    return base;
}

uint64_t ctiershims_toucher_command(struct ctiershims_toucher *toucher, char command)
{
    uint64_t reply = UINT64_MAX;
    if (write_full(toucher->gate_fd, &command, 1) != 0)
        return UINT64_MAX;
    if (read_full(toucher->report_fd, &reply, sizeof reply) != (ssize_t)sizeof reply)
        return UINT64_MAX;
    return reply;
}

int ctiershims_toucher_finish(struct ctiershims_toucher *toucher)
{
    if (toucher->gate_fd >= 0)
        close(toucher->gate_fd);
    if (toucher->report_fd >= 0)
        close(toucher->report_fd);
    toucher->gate_fd = -1;
    toucher->report_fd = -1;
    int status = 0;
    while (waitpid(toucher->pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return status;
}

int64_t ctiershims_fault_loop(size_t pages, size_t rounds)
{
    size_t length = pages * CTIERSHIMS_PAGE;
    int64_t touched = 0;
    for (size_t r = 0; r < rounds; r++) {
        char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
            return -1;
        (void)madvise(base, length, MADV_NOHUGEPAGE);
        for (size_t i = 0; i < pages; i++)
            *(volatile char *)(base + i * CTIERSHIMS_PAGE) = 1;
        munmap(base, length);
        touched += (int64_t)pages;
    }
    return touched;
}

/* The memory child's page contents: non-zero and different per page, so zram stores real
 * data rather than a same-filled page. */
static void fill_page(char *page, size_t i)
{
    for (size_t k = 0; k < CTIERSHIMS_PAGE; k += 8)
        *(volatile uint64_t *)(page + k) = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull + k;
}

static int64_t major_faults(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_majflt : -1;
}

int ctiershims_fork_memory_child(size_t pages, struct ctiershims_memory_child *child)
{
    int gate[2], report[2], err = 0;
    pid_t pid = fork_with_pipes(gate, report, &err);
    if (pid < 0)
        return err;
    if (pid == 0) {
        close(gate[1]);
        close(report[0]);
        close_other_fds(gate[0], report[1]);
        size_t length = pages * CTIERSHIMS_PAGE;
        char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint64_t address = 0;
        if (base != MAP_FAILED && madvise(base, length, MADV_NOHUGEPAGE) == 0) {
            /* A freshly faulted page waits in its CPU's LRU batch (up to 31 pages) before it
             * joins an LRU list, and MADV_PAGEOUT skips pages not on a list. Stay on one CPU
             * and fault 64 more pages (another mapping, never advised) to flush that batch. */
            (void)ctiershims_pin_to_cpu(sched_getcpu());
            for (size_t i = 0; i < pages; i++)
                fill_page(base + i * CTIERSHIMS_PAGE, i);
            char *flush = mmap(NULL, 64 * CTIERSHIMS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (flush != MAP_FAILED)
                for (size_t i = 0; i < 64; i++)
                    fill_page(flush + i * CTIERSHIMS_PAGE, i);
            address = (uint64_t)(uintptr_t)base;
        }
        if (write_full(report[1], &address, sizeof address) != 0 || address == 0)
            _exit(1);
        unsigned char *vector = mmap(NULL, pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char command;
        while (read_full(gate[0], &command, 1) == 1) {
            int64_t answer = -1;
            if (command == 'm' && vector != MAP_FAILED && mincore(base, length, vector) == 0) {
                answer = 0;
                for (size_t i = 0; i < pages; i++)
                    answer += vector[i] & 1;
            } else if (command == 't') {
                int64_t before = major_faults();
                uint64_t sum = 0;
                for (size_t i = 0; i < pages; i++)
                    sum += *(volatile uint64_t *)(base + i * CTIERSHIMS_PAGE);
                (void)sum;
                answer = major_faults() - before;
            }
            if (write_full(report[1], &answer, sizeof answer) != 0)
                _exit(1);
        }
        _exit(0);
    }
    close(gate[0]);
    close(report[1]);
    child->pid = pid;
    child->command_fd = gate[1];
    child->answer_fd = report[0];
    uint64_t address = 0;
    if (read_full(child->answer_fd, &address, sizeof address) != (ssize_t)sizeof address || address == 0) {
        ctiershims_memory_child_finish(child);
        return ENOMEM;
    }
    child->base = address;
    return 0;
}

int64_t ctiershims_memory_child_ask(struct ctiershims_memory_child *child, char command)
{
    int64_t answer = -1;
    if (write_full(child->command_fd, &command, 1) != 0)
        return -1;
    if (read_full(child->answer_fd, &answer, sizeof answer) != (ssize_t)sizeof answer)
        return -1;
    return answer;
}

int ctiershims_memory_child_finish(struct ctiershims_memory_child *child)
{
    int status = -1;
    if (child->command_fd >= 0)
        close(child->command_fd);
    if (child->answer_fd >= 0)
        close(child->answer_fd);
    child->command_fd = child->answer_fd = -1;
    if (child->pid > 0) {
        while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
        }
        child->pid = 0;
    }
    return status;
}

int ctiershims_pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}
