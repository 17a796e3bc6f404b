/* Writing and reading at absolute offsets: the write callback that table
 * serializers, ESP formatters and the copy engine write through, and full
 * pread/pwrite for file descriptors. */
#ifndef P2V_UTIL_IO_H
#define P2V_UTIL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/err.h"

typedef int (*p2v_write_fn)(void *ctx, uint64_t offset, const void *buf, size_t len, p2v_err *err);

/* pread/pwrite until len bytes are done, retrying short transfers and EINTR.
 * *done is the count of bytes transferred (for pread_full, less than len at
 * the end of the file). 0, or -errno of the call that failed. */
int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *done);
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off, size_t *done);
/* The same for a vector (pwritev until everything is written); iov is
 * consumed (its entries are changed). */
int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *done);

/* The same open file (not the same path, which may have been replaced) opened
 * again through /proc/self/fd with flags, e.g. O_RDONLY | O_DIRECT for reads
 * around the page cache; O_CLOEXEC is added. -1 where the file system refuses
 * (tmpfs has no O_DIRECT). */
int reopen_fd(int fd, int flags);

/* The buffer address O_DIRECT transfers need here (a page). */
#define IO_DIRECT_MEM_ALIGN 4096u

/* Whether an O_DIRECT transfer may take buf, len and off as they are: the
 * buffer on a page, offset and length multiples of io_align. */
static inline bool io_direct_aligned(const void *buf, size_t len, uint64_t off, uint32_t io_align)
{
    return ((uintptr_t)buf % IO_DIRECT_MEM_ALIGN | len % io_align | off % io_align) == 0;
}

/* Written through the page cache: start writeback (without waiting for it)
 * each time another `every` bytes have been added to *pending, so that the
 * final fdatasync has little left and the device writes while the copy
 * reads. Thread-safe; advisory (errors surface at fdatasync). */
void writeback_kick(int fd, uint64_t *pending, size_t just_written, uint64_t every);

#endif
