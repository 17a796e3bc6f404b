/* p2v img check: qemu-img check's report and exit codes for a qcow2 image. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "blockdev/blockdev.h"
#include "source/source.h"
#include "cli/commands.h"
#include "cli/img_ops.h"
#include "qcow2/qcow2.h"
#include "util/json.h"

static const char check_usage[] =
    "Usage: p2v img check [--output=json|human] FILE\n"
    "\n"
    "Rebuild the reference counts of a qcow2 image from its tables and compare\n"
    "them with the stored ones: corruptions (a cluster used more than its\n"
    "refcount says, misaligned or out-of-file references, wrong COPIED flags)\n"
    "and leaks (clusters counted but unused). Nothing is repaired.\n"
    "Exit status (as qemu-img): 0 clean, 1 the check could not be done,\n"
    "2 corruptions found, 3 only leaks found, 63 the format (raw, vpc) has no\n"
    "checks. A VHDX or VMDK is checked as qemu-img does, by opening it (headers,\n"
    "CRCs, tables, every entry in bounds, parents, extents): 0, or 1 with the\n"
    "problem. VDI, QED...: refused (exit 1).\n";

static void check_json(const char *path, const qcow2_check_result *r)
{
    json_writer j;
    json_init(&j, stdout);
    json_obj_begin(&j);
    if (r->image_end_offset)
        json_ku64(&j, "image-end-offset", r->image_end_offset);
    if (r->total_clusters)
        json_ku64(&j, "total-clusters", r->total_clusters);
    json_ku64(&j, "check-errors", r->check_errors);
    if (r->leaks)
        json_ku64(&j, "leaks", r->leaks);
    if (r->corruptions)
        json_ku64(&j, "corruptions", r->corruptions);
    if (r->allocated_clusters)
        json_ku64(&j, "allocated-clusters", r->allocated_clusters);
    if (r->fragmented_clusters)
        json_ku64(&j, "fragmented-clusters", r->fragmented_clusters);
    if (r->compressed_clusters)
        json_ku64(&j, "compressed-clusters", r->compressed_clusters);
    json_kstr(&j, "filename", path);
    json_kstr(&j, "format", "qcow2");
    json_obj_end(&j);
    json_end(&j);
}

static void check_human(const qcow2_check_result *r)
{
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions)
            printf("\n%" PRIu64 " errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image may corrupt it.\n",
                   r->corruptions);
        if (r->leaks)
            printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
                   "This means waste of disk space, but no harm to data.\n", r->leaks);
        if (r->check_errors)
            printf("\n%" PRIu64 " internal errors have occurred during the check.\n",
                   r->check_errors);
    }
    if (r->total_clusters && r->allocated_clusters)
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n",
               r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / r->allocated_clusters,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    if (r->image_end_offset)
        printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

/* VHDX, VMDK: qemu-img's check of them is their open (headers, tables,
 * every table entry in bounds), which source_open does too, parents and
 * extents included. A VHD has no check in qemu-img (exit 63, as for raw). */
static int check_vdisk(const char *path, const char *fname, int json)
{
    p2v_err err = { { 0 } };
    blockdev *bd;
    if (source_open(path, NULL, &bd, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    bd_close(bd);
    if (json) {
        json_writer j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_ku64(&j, "check-errors", 0);
        json_kstr(&j, "filename", path);
        json_kstr(&j, "format", fname);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("No errors were found on the image.\n");
    }
    return P2V_EXIT_OK;
}

static int check_image(const char *path, int json)
{
    const struct source_format *fmt = img_probe_supported(path, NULL);
    if (!fmt)
        return P2V_EXIT_FAIL;
    if (source_is_vdisk(fmt) && fmt != &source_vdisk_vhd)
        return check_vdisk(path, fmt->name, json);
    if (fmt != &source_qcow2) {
        cli_error("%s: this image format (%s) does not support checks", path, fmt->name);
        return 63;
    }
    p2v_err err = { { 0 } };
    blockdev *raw;
    if (bd_open_raw(path, &raw, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    qcow2_image *img;
    if (qcow2_image_open_bd(raw, QCOW2_OPEN_CHECK, &img, &err) < 0) {
        cli_error("%s", err.msg);
        return P2V_EXIT_FAIL;
    }
    /* qemu-img opens the whole chain: a backing file that cannot be opened
     * means no check at all (exit 1). */
    if (qcow2_image_info(img)->backing_file[0]) {
        blockdev *chain;
        if (source_open(path, NULL, &chain, &err) < 0) {
            cli_error("%s", err.msg);
            qcow2_image_close(img);
            return P2V_EXIT_FAIL;
        }
        bd_close(chain);
    }
    qcow2_check_result res;
    int r = qcow2_check(img, &res, &err);
    for (size_t i = 0; i < res.messages.count; i++)
        fprintf(stderr, "%s\n", res.messages.msgs[i]);
    int ret;
    if (r < 0 && !res.check_errors) {
        cli_error("%s", err.msg);
        ret = P2V_EXIT_FAIL;
    } else {
        if (json)
            check_json(path, &res);
        else
            check_human(&res);
        if (r < 0 || res.check_errors) {
            cli_error("Check failed%s%s", r < 0 ? ": " : "", r < 0 ? err.msg : "");
            ret = P2V_EXIT_FAIL;
        } else {
            ret = res.corruptions ? 2 : res.leaks ? 3 : 0;
        }
    }
    qcow2_check_result_free(&res);
    qcow2_image_close(img);
    return ret;
}

int img_check_main(int argc, char **argv)
{
    return img_run_on_file(argc, argv, check_usage, check_image);
}
