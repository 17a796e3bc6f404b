/* The disks of this machine: whole block devices under /sys/block, and loop
 * devices that have a backing file; not RAM disks, not device-mapper or md
 * devices built on other disks, not empty drives. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockdev/blockdev.h"

static bool has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    bool any = false;
    if (!d)
        return false;
    struct dirent *e;
    while (!any && (e = readdir(d)))
        any = e->d_name[0] != '.';
    closedir(d);
    return any;
}

static bool sys_block_wanted(const char *name)
{
    char p[512], buf[64];
    if (!strncmp(name, "ram", 3) || !strncmp(name, "zram", 4))
        return false;
    if (!strncmp(name, "loop", 4)) {
        snprintf(p, sizeof p, "/sys/block/%s/loop/backing_file", name);
        return access(p, F_OK) == 0;
    }
    snprintf(p, sizeof p, "/sys/block/%s/size", name);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    bool nonzero = fgets(buf, sizeof buf, f) && strtoull(buf, NULL, 10) > 0;
    fclose(f);
    if (!nonzero)
        return false;
    snprintf(p, sizeof p, "/sys/block/%s/slaves", name);
    return !has_entries(p);
}

static int sys_block_filter(const struct dirent *e) { return e->d_name[0] != '.'; }

int bd_list_machine_disks(char ***out, size_t *count, p2v_err *err)
{
    struct dirent **names = NULL;
    int n = scandir("/sys/block", &names, sys_block_filter, versionsort);
    *out = NULL;
    *count = 0;
    if (n < 0)
        return p2v_errf(err, -errno, "/sys/block: %s", strerror(errno));
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    size_t k = 0;
    int r = paths ? 0 : p2v_errf(err, -ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        if (r == 0 && sys_block_wanted(names[i]->d_name)) {
            size_t len = strlen(names[i]->d_name) + sizeof "/dev/";
            if (!(paths[k] = malloc(len)))
                r = p2v_errf(err, -ENOMEM, "out of memory");
            else
                snprintf(paths[k++], len, "/dev/%s", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    if (r < 0) {
        bd_list_free(paths, k);
        return r;
    }
    *out = paths;
    *count = k;
    return 0;
}

void bd_list_free(char **paths, size_t count)
{
    for (size_t i = 0; paths && i < count; i++)
        free(paths[i]);
    free(paths);
}
