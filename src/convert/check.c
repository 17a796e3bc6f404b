/* What a front end needs besides the conversion itself: the machine's
 * disks, a disk's size, and the check of the written image, so that the
 * picking screen reaches blockdev, sink and qcow2 only through src/convert/. */
#include <string.h>

#include "convert/convert.h"
#include "qcow2/qcow2.h"

int convert_machine_disks(char ***paths, size_t *count, p2v_err *err)
{
    return bd_list_machine_disks(paths, count, err);
}

void convert_machine_disks_free(char **paths, size_t count)
{
    bd_list_free(paths, count);
}

uint64_t convert_disk_bytes(const convert_disk *d)
{
    return bd_size(d->bd);
}

int convert_check_output(const char *output, enum sink_format format, convert_output_check *c,
                         p2v_err *err)
{
    memset(c, 0, sizeof *c);
    struct sink_target_info ti;
    sink_target_info(output, &ti);
    if (!ti.is_file) {
        c->kind = CONVERT_CHECKED_NOT_FILE;
        snprintf(c->what, sizeof c->what, "%s", ti.what);
        return 0;
    }
    if (format == SINK_RAW) {
        c->kind = CONVERT_CHECKED_RAW;
        return 0;
    }
    c->kind = CONVERT_CHECKED_QCOW2;
    qcow2_image *img;
    qcow2_check_result cr = { 0 };
    int r = qcow2_image_open(output, QCOW2_OPEN_CHECK, &img, err);
    if (r < 0)
        return r;
    r = qcow2_check(img, &cr, err);
    /* a check that counted its own errors has a result to show */
    if (r >= 0 || cr.check_errors) {
        c->corruptions = cr.corruptions;
        c->leaks = cr.leaks;
        c->check_errors = cr.check_errors;
        c->allocated_clusters = cr.allocated_clusters;
        c->total_clusters = cr.total_clusters;
        r = 0;
    }
    qcow2_check_result_free(&cr);
    qcow2_image_close(img);
    return r;
}
