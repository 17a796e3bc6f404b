/* P2V_DEBUG=timing: where a copy's time went, on stderr. */
#ifndef P2V_CLI_COPY_TIMING_H
#define P2V_CLI_COPY_TIMING_H

#include "copy/copy.h"

/* Prints one line when the environment has P2V_DEBUG=timing (or a
 * comma-separated list holding "timing"); nothing otherwise. */
void cli_print_copy_timing(const copy_stats *st);

#endif
