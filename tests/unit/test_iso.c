/* The ISO reader refuses, before libarchive sees them, directory records
 * whose extent lies past the end of the image (libarchive would allocate a
 * hostile root directory length at once: 4 GiB). The seed is the fuzz
 * corpus's small virtio-win ISO, made by fuzz/make-iso-seeds.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "sh_testlib.h"
#include "t.h"
#include "windows/drivers.h"

static uint8_t *load_seed(size_t *len)
{
    char path[1024];
    /* CMake compiles this file by its absolute path: the tree is beside it */
    const char *self = __FILE__, *slash = strrchr(self, '/');
    snprintf(path, sizeof path, "%.*s/../../fuzz/corpus/fuzz_iso/viostor-plain.iso",
             slash ? (int)(slash - self) : 1, slash ? self : ".");
    return slurp_path(path, len);
}

static int open_iso(uint8_t *b, size_t len, p2v_err *err)
{
    blockdev *bd;
    drv_tree *t;
    CHECK(bd_open_mem(b, len, 512, "seed.iso", &bd, err) == 0);
    int r = drv_tree_open_iso(bd, &t, err);
    if (r == 0)
        drv_tree_close(t);
    bd_close(bd);
    return r;
}

int main(void)
{
    size_t len = 0;
    uint8_t *b = load_seed(&len);
    CHECK(b != NULL && len > 17 * 2048);
    if (!b)
        return t_done("test_iso");
    p2v_err err;
    CHECK(open_iso(b, len, &err) == 0);
    CHECK(memcmp(b + 16 * 2048 + 1, "CD001", 5) == 0);
    /* the primary volume descriptor's root directory: 0xFFFFF7FF bytes */
    uint8_t *len_le = b + 16 * 2048 + 156 + 10;
    memcpy(len_le, "\xff\xf7\xff\xff", 4);
    CHECK(open_iso(b, len, &err) == -EINVAL);
    CHECK(strstr(err.msg, "past the end of the image") != NULL);
    free(b);
    return t_done("test_iso");
}
