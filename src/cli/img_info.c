/* p2v img info: what qemu-img info says, with the same JSON field names. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/img_ops.h"
#include "qcow2/qcow2.h"
#include "util/json.h"
#include "util/size.h"
#include "vdisk/vdisk.h"

static const char info_usage[] =
    "Usage: p2v img info [--output=json|human] FILE\n"
    "\n"
    "Describe a qcow2, raw, VHD (vpc), VHDX or VMDK image: format, virtual size (in whole 512-byte\n"
    "sectors, as qemu-img reports it), disk usage, cluster size, backing file\n"
    "and the qcow2 options (compat, compression type, refcount bits, lazy\n"
    "refcounts, corrupt flag, extended L2). JSON field names are qemu-img's.\n";

/* fmt: "qcow2" (qi set), "raw" or "vpc" (a fixed VHD). */
static void info_json(const char *path, const char *fmt, const qcow2_info *qi, uint64_t vsize,
                      uint64_t actual, const char *full_backing, uint64_t cluster)
{
    json_writer j;
    json_init(&j, stdout);
    json_obj_begin(&j);
    if (qi && qi->backing_format[0])
        json_kstr(&j, "backing-filename-format", qi->backing_format);
    json_ku64(&j, "virtual-size", vsize);
    json_kstr(&j, "filename", path);
    if (qi || cluster)
        json_ku64(&j, "cluster-size", qi ? qi->cluster_size : cluster);
    json_kstr(&j, "format", fmt);
    json_ku64(&j, "actual-size", actual);
    if (qi) {
        json_key(&j, "format-specific");
        json_obj_begin(&j);
        json_kstr(&j, "type", "qcow2");
        json_key(&j, "data");
        json_obj_begin(&j);
        json_kstr(&j, "compat", qi->version == 2 ? "0.10" : "1.1");
        json_kstr(&j, "compression-type", qi->compression_type ? "zstd" : "zlib");
        if (qi->version >= 3)
            json_kbool(&j, "lazy-refcounts", qi->lazy_refcounts);
        json_ku64(&j, "refcount-bits", qi->refcount_bits);
        if (qi->version >= 3) {
            json_kbool(&j, "corrupt", qi->corrupt);
            json_kbool(&j, "extended-l2", qi->extended_l2);
        }
        json_obj_end(&j);
        json_obj_end(&j);
        if (qi->backing_file[0]) {
            json_kstr(&j, "full-backing-filename", full_backing);
            json_kstr(&j, "backing-filename", qi->backing_file);
        }
    }
    json_kbool(&j, "dirty-flag", qi ? qi->dirty : false);
    json_obj_end(&j);
    json_end(&j);
}

static void info_human(const char *path, const char *fmt, const qcow2_info *qi, uint64_t vsize,
                       uint64_t actual, const char *full_backing, uint64_t cluster)
{
    char a[32], b[32];
    printf("image: %s\n", path);
    printf("file format: %s\n", fmt);
    printf("virtual size: %s (%" PRIu64 " bytes)\n", img_size_str(vsize, a, sizeof a), vsize);
    printf("disk size: %s\n", img_size_str(actual, b, sizeof b));
    if (!qi && cluster)
        printf("cluster_size: %" PRIu64 "\n", cluster);
    if (!qi)
        return;
    printf("cluster_size: %" PRIu64 "\n", qi->cluster_size);
    if (qi->backing_file[0]) {
        if (strcmp(full_backing, qi->backing_file))
            printf("backing file: %s (actual path: %s)\n", qi->backing_file, full_backing);
        else
            printf("backing file: %s\n", qi->backing_file);
        if (qi->backing_format[0])
            printf("backing file format: %s\n", qi->backing_format);
    }
    printf("Format specific information:\n");
    printf("    compat: %s\n", qi->version == 2 ? "0.10" : "1.1");
    printf("    compression type: %s\n", qi->compression_type ? "zstd" : "zlib");
    if (qi->version >= 3)
        printf("    lazy refcounts: %s\n", qi->lazy_refcounts ? "true" : "false");
    printf("    refcount bits: %u\n", qi->refcount_bits);
    if (qi->version >= 3) {
        printf("    corrupt: %s\n", qi->corrupt ? "true" : "false");
        printf("    extended l2: %s\n", qi->extended_l2 ? "true" : "false");
    }
}

/* A source named by a URI (an NBD export, an RBD image): the disk it holds,
 * as qemu-img shows such a disk (raw, no size on a local disk). */
static int info_by_name(const char *path, int json)
{
    blockdev *bd;
    p2v_err err = { { 0 } };
    if (source_open(path, NULL, &bd, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    uint64_t vsize = bd_size(bd);
    char a[32];
    bd_close(bd);
    if (json) {
        json_writer j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_ku64(&j, "virtual-size", vsize);
        json_kstr(&j, "filename", path);
        json_kstr(&j, "format", "raw");
        json_kbool(&j, "dirty-flag", false);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("image: %s\nfile format: raw\nvirtual size: %s (%" PRIu64 " bytes)\n"
               "disk size: unavailable\n", path, img_size_str(vsize, a, sizeof a), vsize);
    }
    return P2V_EXIT_OK;
}

static int info_image(const char *path, int json)
{
    p2v_err err = { { 0 } };
    const struct source_format *net;
    if (source_probe_path(path, &net, NULL, &err) == 0 && net->match && net->match(path))
        return info_by_name(path, json);
    struct stat st;
    if (stat(path, &st) < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return P2V_EXIT_FAIL;
    }
    uint64_t actual = (uint64_t)st.st_blocks * 512;
    char full[4096] = "";
    uint64_t data_size = 0;
    const struct source_format *fmt = img_probe_supported(path, &data_size);
    if (!fmt)
        return P2V_EXIT_FAIL;
    const char *fname = fmt->name;
    if (fmt == &source_qcow2) {
        qcow2_image *img;
        if (qcow2_image_open(path, 0, &img, &err) < 0) {
            cli_error("%s", err.msg);
            return P2V_EXIT_FAIL;
        }
        const qcow2_info *qi = qcow2_image_info(img);
        uint64_t vsize = qi->virtual_size & ~511ULL; /* QEMU counts whole sectors */
        if (qi->backing_file[0])
            qcow2_backing_path(path, qi->backing_file, full, sizeof full);
        if (json)
            info_json(path, "qcow2", qi, vsize, actual, full, 0);
        else
            info_human(path, "qcow2", qi, vsize, actual, full, 0);
        qcow2_image_close(img);
        return P2V_EXIT_OK;
    }
    uint64_t vsize, cluster = 0;
    if (fmt == &source_vpc) {
        vsize = data_size & ~511ULL; /* the footer's current size, whole sectors */
    } else if (source_is_vdisk(fmt)) {
        /* VHD, VHDX, VMDK: opened whole (parents, extents), as qemu-img does */
        blockdev *bd;
        if (source_open(path, NULL, &bd, &err) < 0) {
            cli_error("%s", err.msg);
            return P2V_EXIT_FAIL;
        }
        vsize = bd_size(bd) & ~511ULL;
        cluster = vdisk_cluster_size(bd);
        actual += vdisk_extra_file_bytes(bd);
        bd_close(bd);
    } else {
        blockdev *bd;
        if (bd_open_raw(path, &bd, &err) < 0) {
            cli_error("%s", err.msg);
            return P2V_EXIT_FAIL;
        }
        vsize = align_up_u64(bd_size(bd), 512);
        bd_close(bd);
    }
    if (json)
        info_json(path, fname, NULL, vsize, actual, NULL, cluster);
    else
        info_human(path, fname, NULL, vsize, actual, NULL, cluster);
    return P2V_EXIT_OK;
}

int img_info_main(int argc, char **argv)
{
    return img_run_on_file(argc, argv, info_usage, info_image);
}
