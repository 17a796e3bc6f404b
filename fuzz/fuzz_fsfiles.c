/* libFuzzer harness for fs_files_at, the walk from bad sectors to file names
 * (p2v's own FAT directory-tree walk with long names; NTFS run lists and
 * names through libntfs-3g; ext inodes and directories through libext2fs):
 * the input is the partition, every second 4 KiB of it counted as bad. Each
 * name must be a terminated string; the walk must end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fsmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:libntfs-3g.so\nleak:libext2fs.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "vfat", "ntfs", "ext4" };
    blockdev *bd = NULL;
    p2v_err err;
    extent_list bad = { 0 };
    if (bd_open_mem(data, size, 512, "fuzz", &bd, &err) < 0)
        return 0;
    for (uint64_t off = 4096; off < size; off += 8192)
        extent_list_add(&bad, off, 4096);
    for (size_t t = 0; t < 3; t++) {
        fs_names n;
        if (fs_files_at(bd, 0, size, types[t], &bad, &n, &err) == 0) {
            for (size_t i = 0; i < n.count; i++)
                if (!n.v[i] || strlen(n.v[i]) > 4096)
                    abort();
            fs_names_free(&n);
        }
    }
    extent_list_free(&bad);
    bd_close(bd);
    return 0;
}
