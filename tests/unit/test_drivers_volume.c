/* The driver step on a real NTFS volume (mkntfs, filled through ntfs-3g)
 * holding a synthetic Windows 10: prepared and applied through ntvol over a
 * copy-on-write overlay; the edited view checks clean with ntfsfix -n, the
 * driver files read back with ntfscat hold the chosen bytes, the hive read
 * back with hivexget holds the keys, and the source volume is unchanged. A
 * second volume keeps its DriverDatabase in a DRIVERS hive (SYSTEM's a link
 * to it): the packages land there. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev/blockdev.h"
#include "blockdev/overlay.h"
#include "fs/ntvol.h"
#include "sh_testlib.h"
#include "t.h"
#include "windows/drivers.h"

#define PART_LEN (32u << 20)

static char lib[PATH_MAX];

/* The output of a command run in dir, trimmed (sh_out); the next call
 * overwrites it. */
static char out_buf[8192];
#define out_of(...) sh_out(out_buf, sizeof out_buf, __VA_ARGS__)

/* part.img (Windows 10, DriverDatabase in SYSTEM) and link.img (Windows 10
 * whose DriverDatabase is in the DRIVERS hive, SYSTEM's a link to it). */
static int make_volume(const char *img, const char *win)
{
    if (sh("test -d tree || bash '%s/mkvirtio.sh' tree tree", lib) ||
        sh("bash '%s/mkvirtio.sh' hives hives-%s %s", lib, win, win))
        return -1;
    if (sh("truncate -s %u %s && mkntfs -F -Q -q -s 512 %s && mkdir -p m", PART_LEN, img, img))
        return -1;
    if (sh("timeout 30 ntfs-3g %s m && mkdir -p m/Windows/System32/config "
           "m/Windows/System32/drivers m/Windows/INF && cp hives-%s/* "
           "m/Windows/System32/config/ && echo keep >m/Windows/System32/drivers/disk.sys && "
           "umount m", img, win) != 0) {
        sh("umount m");
        return -1;
    }
    return sh("sha256sum %s >%s.sum", img, img);
}

static int save_view(blockdev *ov, const char *name)
{
    uint8_t *b = malloc(PART_LEN);
    p2v_err err;
    int rc = b ? bd_pread(ov, b, PART_LEN, 0, &err) : -ENOMEM;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = rc == 0 ? fopen(path, "wb") : NULL;
    if (f) {
        rc = fwrite(b, 1, PART_LEN, f) == PART_LEN ? 0 : -EIO;
        rc |= fclose(f);
    } else {
        rc = -EIO;
    }
    free(b);
    return rc;
}

static void test_refusals(ntvol *v, drv_tree *tree)
{
    drv_job job;
    p2v_err err = {{0}};
    CHECK_EQ_U64(drv_job_prepare(v, "part.img", NULL, DRV_BUS_VIRTIO_BLK, 0, NULL, &job, &err), (uint64_t)-ENOENT);
    CHECK(strstr(err.msg, "virtio-blk needs the viostor driver for Windows 10 (10.0.19045) client amd64"));
    CHECK_EQ_U64(drv_job_prepare(v, "part.img", NULL, DRV_BUS_SATA, 0, NULL, &job, &err), 0);
    CHECK(!job.has_sel && job.plan.ncopies == 0 && job.plan.nedits == 10); /* per ControlSet: 4 Start values, 1 StartOverride removed */
    drv_job_free(&job);
    CHECK_EQ_U64(drv_job_prepare(v, "part.img", tree, DRV_BUS_VIRTIO_SCSI, 0, NULL, &job, &err), 0);
    CHECK(job.has_sel && drv_selection_find(&job.sel, "vioscsi"));
    drv_job_free(&job);
}

static void check_view(void)
{
    CHECK(sh("ntfsfix -n view.img") == 0);
    CHECK(sh("sha256sum -c part.img.sum") == 0); /* the source is untouched */
    CHECK_STR(out_of("ntfscat view.img /Windows/System32/drivers/viostor.sys"),
              "p2v test file viostor.sys for viostor/w10/amd64");
    CHECK_STR(out_of("ntfscat view.img /Windows/System32/drivers/vioscsi.sys"),
              "p2v test file vioscsi.sys for vioscsi/w10/amd64");
    CHECK_STR(out_of("ntfscat view.img /Windows/System32/drivers/disk.sys"), "keep");
    CHECK(sh("ntfscat view.img /Windows/INF/oem2.inf | cmp - tree/viostor/w10/amd64/viostor.inf") == 0);
    CHECK(sh("ntfscat view.img /Windows/p2v/drivers/netkvm/netkvm.sys | cmp - tree/NetKVM/w10/amd64/netkvm.sys") == 0);
    CHECK(strstr(out_of("ntfscat view.img /Windows/p2v/firstboot.cmd"), "pnputil /add-driver") != NULL);
    CHECK(sh("ntfsls -p /Windows/System32/DriverStore/FileRepository view.img | grep -q '^viostor.inf_amd64_'") == 0);
    CHECK(sh("ntfscat view.img /Windows/System32/config/SYSTEM >SYSTEM.out && "
             "ntfscat view.img /Windows/System32/config/SOFTWARE >SOFTWARE.out") == 0);
    CHECK_STR(out_of("hivexget SYSTEM.out 'ControlSet001\\Services\\viostor' Start"), "0");
    CHECK_STR(out_of("hivexget SYSTEM.out 'ControlSet002\\Services\\viostor' ImagePath"),
              "system32\\drivers\\viostor.sys");
    CHECK_STR(out_of("hivexget SYSTEM.out 'ControlSet001\\Services\\viostor' Group"), "SCSI miniport");
    CHECK_STR(out_of("hivexget SYSTEM.out 'ControlSet001\\Services\\storahci' Start"), "0");
    CHECK(sh("hivexget SYSTEM.out 'ControlSet001\\Services\\storahci\\StartOverride'") != 0);
    CHECK_STR(out_of("hivexget SYSTEM.out 'DriverDatabase\\DriverInfFiles\\oem2.inf' Active | cut -c1-18"),
              "viostor.inf_amd64_"); /* oem1.inf was taken */
    CHECK_STR(out_of("hivexget SOFTWARE.out 'Microsoft\\Windows\\CurrentVersion\\RunOnce' p2v-drivers"),
              "cmd.exe /c \"%SystemRoot%\\p2v\\firstboot.cmd\"");
}

/* A DRIVERS hive with SYSTEM's DriverDatabase linking to it: the package
 * goes there, Version included, and SYSTEM's link key stays empty. */
static void test_drivers_hive(drv_tree *tree)
{
    char path[PATH_MAX + 32];
    blockdev *bd = NULL, *ov = NULL;
    ntvol *v = NULL;
    drv_job job;
    p2v_err err = {{0}};
    snprintf(path, sizeof path, "%s/link.img", dir);
    CHECK(bd_open_raw(path, &bd, &err) == 0);
    CHECK(bd && bd_overlay_open(bd, 0, 0, NULL, &ov, &err) == 0);
    CHECK(ov && ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, &v, &err) == 0);
    int rc = v && tree ? drv_job_prepare(v, "link.img", tree, DRV_BUS_VIRTIO_BLK, 0, NULL, &job, &err) : -1;
    CHECK_EQ_U64(rc, 0);
    if (rc == 0) {
        CHECK_EQ_U64(job.plan.ddb_hive, DRV_HIVE_DRIVERS);
        CHECK_EQ_U64(drv_job_apply(v, "link.img", tree, &job, &err), 0);
        drv_job_free(&job);
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    CHECK(v && ntvol_close(v, &err) == 0);
    CHECK(ov && save_view(ov, "link-view.img") == 0);
    bd_close(ov);
    bd_close(bd);
    CHECK(sh("ntfsfix -n link-view.img && sha256sum -c link.img.sum") == 0);
    CHECK(sh("ntfscat link-view.img /Windows/System32/config/DRIVERS >DRIVERS.out && "
             "ntfscat link-view.img /Windows/System32/config/SYSTEM >SYSTEM-link.out") == 0);
    char *active = out_of("hivexget DRIVERS.out 'DriverDatabase\\DriverInfFiles\\oem2.inf' Active");
    CHECK(strncmp(active, "viostor.inf_amd64_", 18) == 0);
    char key[256];
    snprintf(key, sizeof key, "DriverDatabase\\DriverPackages\\%s", active);
    CHECK_STR(out_of("hivexregedit --export DRIVERS.out '%s' | tr -d '\\\\ \\n' | "
                     "grep -o '\"Version\"=hex(3):[0-9a-f,]*'", key),
              "\"Version\"=hex(3):00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,"
              "18,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00");
    CHECK(sh("hivexget SYSTEM-link.out 'DriverDatabase\\DriverInfFiles'") != 0);
    CHECK_STR(out_of("hivexget SYSTEM-link.out 'ControlSet001\\Services\\viostor' Start"), "0");
}

int main(void)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(lib, sizeof lib, "%s/../lib", dirname(src));
    if (t_scratch("drvvol") < 0 || make_volume("part.img", "win10") != 0 ||
        make_volume("link.img", "win10link") != 0) {
        fprintf(stderr, "could not build the test volume (see %s/log)\n", dir);
        return 1;
    }
    char path[PATH_MAX + 32];
    blockdev *bd = NULL, *ov = NULL;
    ntvol *v = NULL;
    drv_tree *tree = NULL;
    p2v_err err = {{0}};
    snprintf(path, sizeof path, "%s/part.img", dir);
    CHECK(bd_open_raw(path, &bd, &err) == 0);
    CHECK(bd && bd_overlay_open(bd, 0, 0, NULL, &ov, &err) == 0);
    CHECK(ov && ntvol_open(ov, 0, bd_size(ov), NTVOL_WRITE, &v, &err) == 0);
    snprintf(path, sizeof path, "%s/tree", dir);
    CHECK(drv_tree_open(path, &tree, &err) == 0);
    if (v && tree) {
        test_refusals(v, tree);
        drv_job job;
        int rc = drv_job_prepare(v, "part.img", tree, DRV_BUS_VIRTIO_BLK, 0, NULL, &job, &err);
        CHECK_EQ_U64(rc, 0);
        if (rc == 0) {
            CHECK(job.win.major == 10 && job.win.build == 19045 && !job.win.server &&
                  job.win.arch == DRV_ARCH_AMD64);
            rc = drv_job_apply(v, "part.img", tree, &job, &err);
            CHECK_EQ_U64(rc, 0);
            drv_job_free(&job);
        }
        if (rc < 0)
            fprintf(stderr, "%s\n", err.msg);
    }
    CHECK(ntvol_close(v, &err) == 0);
    CHECK(ov && save_view(ov, "view.img") == 0);
    check_view();
    bd_close(ov);
    bd_close(bd);
    test_drivers_hive(tree);
    drv_tree_close(tree);
    return t_scratch_done("test_drivers_volume");
}
