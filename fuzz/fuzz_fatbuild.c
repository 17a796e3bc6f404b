/* libFuzzer harness: the FAT tree builder on names it did not choose (the
 * ESP's files come from a source NTFS volume). The input is split at
 * newlines into paths, each added as a directory (a trailing '/') or a
 * small file; the layout must then give every node clusters inside the
 * bound, chains that end, and directory clusters that read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fatbuild.h"

#define CLUSTER 512
#define MAX_CLUSTERS 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fatbuild *t = NULL;
    p2v_err err = { 0 };
    if (fatbuild_new(&t, &err) != 0)
        return 0;
    char path[1024];
    for (size_t i = 0, n = 0; i < size && n < 200; n++) {
        size_t j = i;
        while (j < size && data[j] != '\n')
            j++;
        size_t len = j - i < sizeof path - 1 ? j - i : sizeof path - 1;
        memcpy(path, data + i, len);
        path[len] = '\0';
        if (len && path[len - 1] == '/')
            (void)fatbuild_mkdir(t, path, &err);
        else
            (void)fatbuild_add_file(t, path, data, len, &err);
        i = j + 1;
    }
    uint32_t used = 0;
    if (fatbuild_layout(t, CLUSTER, MAX_CLUSTERS, "EFI        ", 0, 0, &used, &err) == 0) {
        if (used > MAX_CLUSTERS)
            __builtin_trap();
        uint8_t buf[CLUSTER];
        for (uint32_t c = 2; c < used + 2; c++) {
            uint32_t next = fatbuild_fat_entry(t, c);
            if (next != FATBUILD_EOC && (next != c + 1 || next >= used + 2))
                __builtin_trap(); /* chains are contiguous and end inside the used area */
            fatbuild_cluster(t, c, buf);
        }
        if (fatbuild_fat_entry(t, used + 2) != 0)
            __builtin_trap();
    }
    fatbuild_free(t);
    return 0;
}
