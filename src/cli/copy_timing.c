#include "cli/copy_timing.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool timing_wanted(void)
{
    const char *d = getenv("P2V_DEBUG");
    if (!d)
        return false;
    for (const char *p = strstr(d, "timing"); p; p = strstr(p + 1, "timing"))
        if ((p == d || p[-1] == ',') && (p[6] == '\0' || p[6] == ','))
            return true;
    return false;
}

static double sec(uint64_t ns) { return (double)ns / 1e9; }

void cli_print_copy_timing(const copy_stats *st)
{
    if (!timing_wanted())
        return;
    fprintf(stderr,
            "p2v: timing: copy %.3f s; %u readers: %llu blocks, %.1f MiB read in %.3f s "
            "(summed), waiting for a buffer %.3f s; %u writers: %.1f MiB written in %.3f s, "
            "waiting for data %.3f s (summed)\n",
            sec(st->total_ns), st->queue_depth, (unsigned long long)st->reads,
            (double)st->read / 1048576.0, sec(st->read_ns), sec(st->read_wait_ns),
            st->writers, (double)st->written / 1048576.0, sec(st->write_ns), sec(st->write_wait_ns));
}
