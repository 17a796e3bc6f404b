/* Where the bad-sector map of --bad-sectors zero goes (docs/bad-sectors.md),
 * decided and checked while planning, before anything is read or written:
 * a copy of hours must not end in "cannot create the map". */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert_impl.h"
#include "sink/guard.h"
#include "sink/sink.h"

/* The map must never land on a source, on OUTPUT, or on anything that is
 * not a regular file (a device, a directory). */
static int check_target(const convert_job *job, const char *map, p2v_err *err)
{
    struct stat st, ost;
    if (stat(map, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map %s: not a regular file", map);
        for (size_t i = 0; i < job->nsrc; i++)
            if (job->src[i]->has_st && sink_same_file(&st, &job->src[i]->st))
                return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map %s: that is the source "
                                "%s, which p2v never writes", map, job->src[i]->path);
        if (job->rq.output && stat(job->rq.output, &ost) == 0 && sink_same_file(&st, &ost))
            return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map %s: that is OUTPUT", map);
    } else if (errno != ENOENT) {
        return p2v_errf(err, -errno, "--bad-sectors-map %s: %s", map, strerror(errno));
    }
    if (job->rq.output && !strcmp(map, job->rq.output))
        return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map %s: that is OUTPUT", map);
    char *copy = strdup(map);
    if (!copy)
        return p2v_errf(err, -ENOMEM, "out of memory");
    const char *dir = dirname(copy);
    int r = 0;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        r = p2v_errf(err, -ENOENT, "--bad-sectors-map %s: no directory %s to create it in", map,
                     dir);
    else if (access(dir, W_OK | X_OK) < 0)
        r = p2v_errf(err, -errno, "--bad-sectors-map %s: cannot create it in %s: %s", map, dir,
                     strerror(errno));
    free(copy);
    return r;
}

int convert_badmap_prepare(convert_job *job, p2v_err *err)
{
    const convert_request *rq = &job->rq;
    const char *out = rq->output;
    job->badmap[0] = '\0';
    if (rq->bad_sectors != SALVAGE_ZERO) {
        if (rq->bad_sectors_map)
            return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map goes with --bad-sectors zero "
                            "(with fail, no sector is written as zeros and no map is made)");
        return 0;
    }
    if (!out && !rq->bad_sectors_map)
        return 0; /* a dry run without OUTPUT: nothing to place */
    struct sink_target_info ti;
    sink_target_info(out, &ti);
    if (!rq->bad_sectors_map && !ti.is_file)
        return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors zero with -o %s needs "
                        "--bad-sectors-map FILE: OUTPUT is not a file the map can go beside",
                        out);
    int n = rq->bad_sectors_map
          ? snprintf(job->badmap, sizeof job->badmap, "%s", rq->bad_sectors_map)
          : snprintf(job->badmap, sizeof job->badmap, "%s.badmap", out);
    if (n < 0 || (size_t)n >= sizeof job->badmap) {
        job->badmap[0] = '\0';
        return p2v_errf(err, -ENAMETOOLONG, "the bad-sector map's name is too long");
    }
    if (!job->badmap[0])
        return p2v_errf(err, CONVERT_EUSAGE, "--bad-sectors-map: an empty name");
    return check_target(job, job->badmap, err);
}
