/* p2v convert's command line (cli/ only): the parsed arguments and the
 * parsing, shared by cmd_convert.c (the run and its output) and
 * convert_args.c (the usage text and the option parser). */
#ifndef P2V_CLI_CONVERT_ARGS_H
#define P2V_CLI_CONVERT_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "convert/convert.h"
#include "copy/salvage.h"

struct convert_args {
    const char *output;
    sink_opts sink;
    plan_opts plan;
    plan_extra add_esp;         /* --add-esp: plan.extra points here */
    bool copy_all;
    bool copy_system_files;     /* --copy-system-files */
    unsigned queue_depth;       /* --queue-depth; 0: the default */
    unsigned io_timeout;        /* --io-timeout SECONDS; 0: the default (60) */
    bool cluster_given;
    bool format_given;
    const char *active;         /* --active DISK:N */
    uint32_t sector_size;       /* --sector-size for image files; 0: detected */
    uint64_t min_free;          /* --min-free SIZE */
    bool min_free_set;          /* --min-free given (0 included) */
    bool verify, dry_run, json, progress, force, allow_dirty, no_windows_fixups, allow_mounted;
    const char *drivers;        /* --drivers DIR|ISO */
    int target_bus;             /* enum drv_bus; 0: not given */
    bool keep_services;         /* --keep-services */
    bool network_dhcp;          /* --network dhcp (keep: false) */
    enum salvage_policy bad_sectors;
    const char *bad_sectors_map;    /* --bad-sectors-map FILE */
    bool boot_check;            /* --boot-check */
    const char *plan_file;      /* --plan FILE */
    const char *save_plan;      /* --save-plan FILE */
    const char *report_url;     /* --report-url URL */
    const char *report_token_file; /* --report-token-file FILE */
    const char *report_ca;      /* --report-ca FILE */
    convert_vmdef_opts vmdef;   /* --vm-def (spec NULL: none), --keep-mac ... */
    bool tpm_given;             /* --tpm was given (auto included) */
    const char *layout_option;  /* the first option that shapes the layout (long name) */
    char **sels;
    int nsels;
};

/* The usage text of p2v convert (cmd_convert.c). */
extern const char convert_usage[];

/* "p2v: <message>" and the usage text on stderr; P2V_EXIT_USAGE. */
int convert_usage_error(const char *fmt, const char *arg);
/* SEL = DISK:N[=SIZE|min], split at the last colon. */
int convert_parse_sel_sized(const char *s, char **path, unsigned *number, uint64_t *size,
                            bool *min);
int convert_parse_sel(const char *s, char **path, unsigned *number);
/* "-c zstd" joined into "--compress=zstd" before getopt; free with
 * convert_free_joined_args. */
char **convert_join_compress_args(int argc, char **argv, int *nargc, char ***joined_out);
void convert_free_joined_args(char **v, char **joined, int argc);
/* 0, a usage exit status (2), or -1 after --help. */
int convert_parse_args(int argc, char **argv, struct convert_args *a);

#endif
