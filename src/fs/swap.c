/* Linux swap: only the header page (signature, UUID, label, bad-page list)
 * carries anything worth keeping; the rest is scratch that the next boot
 * overwrites. A swap area that holds a hibernation image is different: the
 * image is the state of a suspended system, so it is copied whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/driver.h"

static int fsmap_build_swap(const fsmap_src *s, const fsmap_opts *o, fsmap *out, p2v_err *err)
{
    static const char *const hibernated[] = { "S1SUSPEND", "S2SUSPEND", "ULSUSPEND", "LINHIB0001" };
    uint8_t *page = NULL;
    int r = 0;
    (void)o;

    for (size_t ps = 4096; ps <= 65536; ps *= 2) {
        if (s->len < ps)
            break;
        free(page);
        page = malloc(ps);
        if (!page)
            return p2v_errf_at(err, -ENOMEM, bd_path(s->bd), "out of memory");
        r = fsmap_read(s, page, ps, 0, err);
        if (r < 0)
            goto out;
        const uint8_t *sig = page + ps - 10;
        if (!memcmp(sig, "SWAPSPACE2", 10) || !memcmp(sig, "SWAP-SPACE", 10)) {
            r = fsmap_add(out, s, 0, ps, err);
            out->used_bytes = ps;
            goto out;
        }
        for (size_t i = 0; i < sizeof hibernated / sizeof hibernated[0]; i++) {
            size_t l = strlen(hibernated[i]);
            if (!memcmp(sig, hibernated[i], l)) {
                fsmap_set_full(out, "swap area holds a hibernation image");
                goto out;
            }
        }
    }
    fsmap_set_full(out, "swap signature not found on re-reading");
out:
    free(page);
    return r;
}

/* The signature at the end of the header page, for every page size. */
static bool swap_probe(const uint8_t *b, size_t n)
{
    for (size_t ps = 4096; ps <= 65536; ps *= 2) {
        if (n < ps)
            break;
        const uint8_t *sig = b + ps - 10;
        if (!memcmp(sig, "SWAPSPACE2", 10) || !memcmp(sig, "SWAP-SPACE", 10) ||
            !memcmp(sig, "S1SUSPEND", 9) || !memcmp(sig, "S2SUSPEND", 9) ||
            !memcmp(sig, "ULSUSPEND", 9) || !memcmp(sig, "LINHIB0001", 10))
            return true;
    }
    return false;
}

const struct fs_driver fs_driver_swap = {
    .name = "swap",
    .kind = FS_SWAP,
    .blkid_type = "swap",
    .probe = swap_probe,
    .map = fsmap_build_swap,
};
