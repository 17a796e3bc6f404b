/* Filesystem identity: libblkid on the raw fd and through the memfd copy
 * (used for non-raw sources) must agree; BitLocker by its signature. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "fs/probe.h"
#include "t.h"

#define PART_OFF (1u << 20)
#define PART_LEN (16u << 20)

int main(void)
{
    char dir[64] = "/tmp/p2v-probe.XXXXXX", path[128], cmd[512];
    if (!mkdtemp(dir))
        return 1;
    /* An ext4 filesystem 1 MiB into a 17 MiB disk image. */
    snprintf(path, sizeof path, "%s/disk.img", dir);
    snprintf(cmd, sizeof cmd,
             "truncate -s 16M %s/fs && PATH=$PATH:/usr/sbin:/sbin mkfs.ext4 -q -F -L probe-me %s/fs && "
             "truncate -s 17M %s && dd if=%s/fs of=%s bs=1M seek=1 conv=notrunc,sparse status=none",
             dir, dir, path, dir, path);
    CHECK(system(cmd) == 0);

    blockdev *bd = NULL, *mem = NULL;
    p2v_err err;
    struct fs_identity a, b;
    CHECK(source_open(path, NULL, &bd, &err) == 0);
    if (bd) {
        CHECK(fs_probe(bd, PART_OFF, PART_LEN, &a, &err) == 0);
        CHECK_STR(a.type, "ext4");
        CHECK_STR(a.label, "probe-me");
        CHECK(strlen(a.uuid) == 36);
        /* The whole disk from offset 0 holds no filesystem at its start. */
        CHECK(fs_probe(bd, 0, PART_OFF, &b, &err) == 0 && b.type[0] == '\0');

        uint8_t *buf = malloc(bd_size(bd));
        CHECK(buf && bd_pread(bd, buf, bd_size(bd), 0, &err) == 0);
        CHECK(bd_open_mem(buf, bd_size(bd), 512, "mem", &mem, &err) == 0);
        CHECK(fs_probe(mem, PART_OFF, PART_LEN, &b, &err) == 0);
        CHECK_STR(b.type, a.type);
        CHECK_STR(b.label, a.label);
        CHECK_STR(b.uuid, a.uuid);

        /* BitLocker: "-FVE-FS-" at byte 3 of the volume. */
        memcpy(buf + PART_OFF, "\xeb\x58\x90-FVE-FS-", 11);
        CHECK(fs_probe(mem, PART_OFF, PART_LEN, &b, &err) == 0);
        CHECK(b.bitlocker);
        CHECK_STR(b.type, "bitlocker");
        bd_close(mem);
        free(buf);
        bd_close(bd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return t_done("test_fs_probe");
}
