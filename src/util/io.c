#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* pread or pwrite until len bytes are done or (reading) the file ends. */
static int full_io(int fd, uint8_t *p, size_t len, uint64_t off, size_t *done, bool writing)
{
    *done = 0;
    while (*done < len) {
        ssize_t n = writing ? pwrite(fd, p + *done, len - *done, (off_t)(off + *done))
                          : pread(fd, p + *done, len - *done, (off_t)(off + *done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0 && !writing)
            break;
        *done += (size_t)n;
    }
    return 0;
}

int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *done)
{
    return full_io(fd, buf, len, off, done, false);
}

int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *done)
{
    *done = 0;
    while (cnt > 0) {
        ssize_t n = pwritev(fd, iov, cnt, (off_t)(off + *done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        *done += (size_t)n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) { /* drop what is written */
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* The buffer is only read: full_io takes a mutable pointer for pread. */
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off, size_t *done)
{
    return full_io(fd, (uint8_t *)buf, len, off, done, true);
}

int reopen_fd(int fd, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, flags | O_CLOEXEC);
}

void writeback_kick(int fd, uint64_t *pending, size_t just_written, uint64_t every)
{
    if (__atomic_add_fetch(pending, just_written, __ATOMIC_RELAXED) < every)
        return;
    __atomic_store_n(pending, 0, __ATOMIC_RELAXED);
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
