/* libFuzzer harness for the map builders behind fsmap_build (probe, NTFS
 * through libntfs-3g, ext through libext2fs, FAT, swap): the input is the
 * partition. Leaks inside the two libraries on hostile input are theirs, not
 * p2v's, and are suppressed; p2v's own are still reported. */
#include <stdint.h>
#include <stdlib.h>

#include "fs/fsmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:libntfs-3g.so\nleak:libext2fs.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    blockdev *bd = NULL;
    p2v_err err;
    fsmap m;

    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
        return 0;
    for (int dirty = 0; dirty < 2; dirty++) {
        fsmap_opts o = { .allow_dirty = dirty };
        if (fsmap_build(bd, 0, size, &o, &m, &err) == 0) {
            for (size_t i = 0; i < m.used.count; i++) {
                if (m.used.v[i].start + m.used.v[i].len > size)
                    abort();
                if (i && m.used.v[i].start <= m.used.v[i - 1].start + m.used.v[i - 1].len)
                    abort();
            }
            if (m.full && m.used.count)
                abort();
            fsmap_free(&m);
        }
    }
    bd_close(bd);
    return 0;
}
