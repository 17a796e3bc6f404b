/* p2v plan show: how a plan file resolves on the disks at hand — for a plan
 * by role (schema 2), which partition each "select" entry picks; for a plan
 * by identity (schema 1), where its disks are now. Nothing is written. The
 * work is src/convert/planfile*.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "convert/planfile.h"
#include "util/json.h"

static const char plan_usage[] =
    "Usage: p2v plan show [--json] PLAN [DISK...]\n"
    "\n"
    "Show how the plan file PLAN resolves on the disks at hand: each entry of a\n"
    "plan by role (\"p2v_plan\": 2) with the partition it picks (DISK:N, filesystem,\n"
    "label, size) or \"optional, nothing matched\"; for a plan by disk identity\n"
    "(\"p2v_plan\": 1) where its disks are now. Then the selection in target\n"
    "order, as 'p2v convert --plan PLAN' would copy it. With no DISK, every disk\n"
    "of the machine is looked at (a role plan leaves out disks holding a mounted\n"
    "filesystem: the live medium, ...). Nothing is written. A plan that does not fit\n"
    "(an entry that matches nothing, two partitions where one is meant) exits 1\n"
    "with the reason. See docs/plan-files.md.\n"
    "\n"
    "Options:\n"
    "  --json               the resolution as JSON on stdout\n"
    "  -h, --help           this help\n";

static int show(const char *path, char **disks, int ndisks, bool json)
{
    convert_planfile *pf = NULL;
    convert_events ev = { .message = cli_convert_message };
    p2v_err err;
    if (convert_planfile_load(path, &pf, &err) < 0 ||
        convert_planfile_resolve(pf, ndisks ? (const char *const *)disks : NULL,
                                 (size_t)ndisks, &ev, &err) < 0) {
        cli_error("%s", err.msg);
        convert_planfile_free(pf);
        return P2V_EXIT_FAIL;
    }
    if (json) {
        json_writer j;
        json_init(&j, stdout);
        convert_planfile_resolution_json(pf, &j);
        json_end(&j);
    } else {
        convert_planfile_resolution_text(pf, stdout);
    }
    convert_planfile_free(pf);
    return P2V_EXIT_OK;
}

int cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    int c;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(plan_usage, stdout);
        return P2V_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "show")) {
        cli_error("%s", argc < 2 ? "plan: which? (plan show PLAN [DISK...])"
                                 : "plan: unknown sub-command (plan show PLAN [DISK...])");
        return cli_usage_error(plan_usage);
    }
    argc--, argv++;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(plan_usage, stdout);
            return P2V_EXIT_OK;
        }
        if (c != 'J') {
            cli_error("plan show: unknown option '%s'", argv[optind - 1]);
            return cli_usage_error(plan_usage);
        }
        json = true;
    }
    if (optind >= argc) {
        cli_error("%s", "plan show: no PLAN given");
        return cli_usage_error(plan_usage);
    }
    return show(argv[optind], argv + optind + 1, argc - optind - 1, json);
}
