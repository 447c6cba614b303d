#define _GNU_SOURCE
#include "CTierShims.h"

#include <errno.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Raw system calls: Swift cannot call the variadic syscall(), and glibc's wrappers are newer
 * than some build hosts. Each returns what the kernel returns, with errno set on -1. */

int ctiershims_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0u);
}

int ctiershims_pidfd_exited(int pidfd)
{
    /* A pidfd polls readable once its process has exited. */
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    int n = poll(&p, 1, 0);
    if (n < 0)
        return -1;
    return n > 0 ? 1 : 0;
}

ssize_t ctiershims_process_madvise(int pidfd, const struct ctiershims_range *ranges, size_t count, int advice)
{
    struct iovec iov[CTIERSHIMS_IOV_MAX];
    if (count > CTIERSHIMS_IOV_MAX) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(uintptr_t)ranges[i].start;
        iov[i].iov_len = (size_t)ranges[i].length;
    }
    return (ssize_t)syscall(SYS_process_madvise, pidfd, iov, count, advice, 0u);
}

long ctiershims_move_pages(pid_t pid, size_t count, const uint64_t *pages, const int *nodes, int *status)
{
    return syscall(SYS_move_pages, pid, (unsigned long)count, (const void **)pages, nodes, status, 0 /* MPOL_MF_MOVE */);
}

int ctiershims_swapon(const char *path, int priority)
{
    int flags = priority >= 0 ? (SWAP_FLAG_PREFER | ((priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK)) : 0;
    return swapon(path, flags);
}

int ctiershims_swapoff(const char *path)
{
    return swapoff(path);
}

int ctiershims_madv_cold(void) { return MADV_COLD; }
int ctiershims_madv_pageout(void) { return MADV_PAGEOUT; }
int ctiershims_madv_willneed(void) { return MADV_WILLNEED; }
int ctiershims_madv_nohugepage(void) { return MADV_NOHUGEPAGE; }
