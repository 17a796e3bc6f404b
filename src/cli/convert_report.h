/* p2v convert --report-url: the run's events sent to a receiver (docs/fleet.md),
 * from the command's own steps. cli/ only; the format and the sender are
 * src/fleet/. */
#ifndef P2V_CLI_CONVERT_REPORT_H
#define P2V_CLI_CONVERT_REPORT_H

#include "convert/convert.h"
#include "fleet/fleet.h"

struct cli_report {
    fleet_reporter *rep;        /* NULL: no --report-url */
    enum convert_phase phase;
    bool phase_open;
    double t0;                  /* when the phase began (monotonic seconds) */
};

/* Open the reporter (token file, libcurl). P2V_EXIT_OK or, with a message,
 * P2V_EXIT_FAIL. Nothing when url is NULL. */
int cli_report_open(struct cli_report *cr, const char *url, const char *token_file,
                    const char *ca_file,
                    unsigned io_timeout);
/* start, naming OUTPUT and the selections; P2V_EXIT_FAIL (said) when the
 * receiver cannot be reached: no conversion nobody watches by mistake. */
int cli_report_start(struct cli_report *cr, const convert_request *rq);
void cli_report_progress(struct cli_report *cr, const convert_job *job,
                         const convert_progress *p);
/* finish with convert --json's object (and the boot check when checked). */
struct bootcheck_result;
int cli_report_finish(struct cli_report *cr, const convert_job *job, const convert_result *res,
                      const char *output, const struct bootcheck_result *bres);
/* At the end of the command: finish (no result) after a success that wrote
 * nothing, failed with the last error otherwise; then free. */
int cli_report_close(struct cli_report *cr, int status);

#endif
