/* liburing as a Swift module. liburing.h defines _GNU_SOURCE itself, so the glibc headers it
 * needs are included first, with the same feature set, or the import fails on fd_set. */
#ifndef CLIBURING_H
#define CLIBURING_H
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <time.h>
#include <liburing.h>
#endif
