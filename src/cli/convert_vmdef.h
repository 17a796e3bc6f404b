/* convert --vm-def's command-line side (convert_vmdef.c). */
#ifndef P2V_CLI_CONVERT_VMDEF_H
#define P2V_CLI_CONVERT_VMDEF_H

#include "cli/convert_args.h"
#include "convert/convert.h"

struct json_writer;

/* --vm-def without FILE names it after OUTPUT, which must then be a file;
 * not with --dry-run unless a plan is saved. A usage error's exit status, or 0. */
int cli_check_vmdef(const struct convert_args *a, const char *output);
/* Write the VM around the committed image; a failure leaves the image.
 * P2V_EXIT_OK or P2V_EXIT_FAIL, with the notices printed. */
int cli_write_vmdef(const convert_job *job, const char *output, convert_vmdef_done *done);
/* --json: "vm_definition", what the definition holds and where it went. */
void cli_vmdef_json(struct json_writer *j, const convert_vmdef_done *d);

#endif
