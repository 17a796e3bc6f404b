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

static const char info_usage[] =
    "Usage: p2v img info [--output=json|human] FILE\n"
    "\n"
    "Describe a qcow2, raw or fixed VHD (vpc) image: format, virtual size (in whole 512-byte\n"
    "sectors, as qemu-img reports it), disk usage, cluster size, backing file\n"
    "and the qcow2 options (compat, compression type, refcount bits, lazy\n"
    "refcounts, corrupt flag, extended L2). JSON field names are qemu-img's.\n";

/* fmt: "qcow2" (qi set), "raw" or "vpc" (a fixed VHD). */
static void info_json(const char *path, const char *fmt, const qcow2_info *qi, uint64_t vsize,
                      uint64_t actual, const char *full_backing)
{
    json_writer j;
    json_init(&j, stdout);
    json_obj_begin(&j);
    if (qi && qi->backing_format[0])
        json_kstr(&j, "backing-filename-format", qi->backing_format);
    json_ku64(&j, "virtual-size", vsize);
    json_kstr(&j, "filename", path);
    if (qi)
        json_ku64(&j, "cluster-size", qi->cluster_size);
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
                       uint64_t actual, const char *full_backing)
{
    char a[32], b[32];
    printf("image: %s\n", path);
    printf("file format: %s\n", fmt);
    printf("virtual size: %s (%" PRIu64 " bytes)\n", img_size_str(vsize, a, sizeof a), vsize);
    printf("disk size: %s\n", img_size_str(actual, b, sizeof b));
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

int img_info_main(int argc, char **argv)
{
    int json;
    const char *path;
    int r = img_parse_output_args(argc, argv, info_usage, &json, NULL, &path);
    if (r)
        return r < 0 ? P2V_EXIT_OK : r;
    p2v_err err = { { 0 } };
    struct stat st;
    if (stat(path, &st) < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return P2V_EXIT_FAIL;
    }
    uint64_t actual = (uint64_t)st.st_blocks * 512;
    char full[4096] = "";
    const struct source_format *fmt;
    uint64_t data_size = 0;
    if (source_probe_path(path, &fmt, &data_size, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    const char *fname = fmt->name;
    if (!fmt->open) {
        img_unsupported(path, fname);
        return P2V_EXIT_FAIL;
    }
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
            info_json(path, "qcow2", qi, vsize, actual, full);
        else
            info_human(path, "qcow2", qi, vsize, actual, full);
        qcow2_image_close(img);
        return P2V_EXIT_OK;
    }
    uint64_t vsize;
    if (fmt == &source_vpc) {
        vsize = data_size & ~511ULL; /* the footer's current size, whole sectors */
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
        info_json(path, fname, NULL, vsize, actual, NULL);
    else
        info_human(path, fname, NULL, vsize, actual, NULL);
    return P2V_EXIT_OK;
}
