/* What Swift cannot import for the KV tier's file I/O: O_DIRECT and fallocate (behind
 * _GNU_SOURCE), and CRC32C with the SSE4.2 instruction when the CPU has it. */
#ifndef CTIERIO_H
#define CTIERIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* open(2) with O_RDWR | O_CREAT | O_DIRECT (O_DIRECT only when `direct`), mode 0600.
 * Returns the descriptor or -errno. */
int ctierio_open(const char *path, int direct);

/* fallocate(2) of `length` bytes from 0 (mode 0). Returns 0 or -errno. */
int ctierio_fallocate(int fd, int64_t length);

/* Enables an io_uring set up with IORING_SETUP_R_DISABLED (IORING_REGISTER_ENABLE_RINGS, which
 * the packaged liburing declares but does not export); 0 or -errno. */
int ctierio_io_uring_enable(int ring_fd);

/* The calling thread's id (gettid). */
int ctierio_thread_id(void);

/* The O_DIRECT flag value on this platform. */
int ctierio_o_direct(void);

/* CRC32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF) of `length` bytes, continuing
 * from `crc` (0 to start). SSE4.2 crc32 instructions when available, a table otherwise. */
uint32_t ctierio_crc32c(uint32_t crc, const void *data, size_t length);

/* The table-driven CRC32C, kept callable so tests can compare both paths. */
uint32_t ctierio_crc32c_portable(uint32_t crc, const void *data, size_t length);

/* 1 when the SSE4.2 path is used. */
int ctierio_crc32c_hardware(void);

#endif
