/* p2v fleet serve | status: the receiver of many conversions' reports, with
 * its page, and its table in a terminal (docs/fleet.md). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "fleet/server.h"
#include "util/size.h"

static const char fleet_usage[] =
    "Usage: p2v fleet serve --dir DIR --token-file FILE [--listen ADDR:PORT]\n"
    "                       [--tls-cert FILE --tls-key FILE]\n"
    "                       [--live ISO|DIR] [--plan PLAN] [--output TEMPLATE]\n"
    "                       [--boot-check [--boot-check-timeout SECONDS]]\n"
    "       p2v fleet status [--json] [--ca FILE] URL\n"
    "\n"
    "serve: receive the reports that 'p2v convert --report-url URL/api/report'\n"
    "sends, keep them in DIR/fleet.sqlite (a restart loses nothing) and show them:\n"
    "the page at / (one row per PC, totals and a chart; updated in place every\n"
    "2 seconds, or reloaded every 5 without JavaScript), /api/pcs and\n"
    "/api/pcs/ID as JSON. Runs until interrupted (Ctrl-C, SIGTERM).\n"
    "  --dir DIR              where the state is kept (created if missing)\n"
    "  --token-file FILE      the token every report must carry\n"
    "                         (Authorization: Bearer); its first line\n"
    "  --listen ADDR:PORT     IPv4 address and port to listen on (default\n"
    "                         127.0.0.1:8080; PORT 0 picks a free one, named on\n"
    "                         standard error)\n"
    "  --tls-cert FILE        HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE         ... and its PEM private key (both needed)\n"
    "  --live ISO|DIR         serve p2v Live for network boot: /boot.ipxe (an\n"
    "                         iPXE script) and /live/vmlinuz, /live/initrd.img,\n"
    "                         /live/filesystem.squashfs from the ISO or a folder\n"
    "                         holding them (directly or under live/)\n"
    "  --plan PLAN            a plan file, served as /plan.json and named in the\n"
    "                         script's p2v.plan=\n"
    "  --output TEMPLATE      the script's p2v.output= (e.g.\n"
    "                         nbd://10.1.1.5:10809/{serial}); with --boot-check\n"
    "                         also where finished images are (no --live needed)\n"
    "  --boot-check           boot each finished image whose name matches\n"
    "                         --output's TEMPLATE with 'p2v boot-check', one at a\n"
    "                         time, queued in DIR (a restart resumes it); the\n"
    "                         verdict and last screen are shown on the page\n"
    "  --boot-check-timeout SECONDS  boot-check's --timeout (default 300)\n"
    "status: print the PCs of the server at URL (http[s]://HOST:PORT) as a table.\n"
    "  --json                 the server's /api/pcs as it is\n"
    "  --ca FILE              trust this PEM certificate (or CA) for an https://\n"
    "                         URL instead of the system's CA store\n"
    "  -h, --help             this text\n"
    "See docs/fleet.md.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static int usage(const char *msg, const char *arg)
{
    fputs("p2v: fleet: ", stderr);
    fprintf(stderr, msg, arg);
    fputc('\n', stderr);
    return cli_usage_error(fleet_usage);
}

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_ready(void *ctx, const char *addr, unsigned port)
{
    const fleet_serve_opts *o = ctx;
    cli_notice("fleet: listening on %s://%s:%u/", o->tls_cert ? "https" : "http", addr, port);
}

static void on_log(void *ctx, const char *msg)
{
    (void)ctx;
    cli_notice("fleet: %s", msg);
}

/* The options that need others, and the files they name. */
static int serve_check(fleet_serve_opts *o, char *files, size_t flen)
{
    if (!o->dir)
        return usage("%s", "serve needs --dir DIR");
    if (!o->token_file)
        return usage("%s", "serve needs --token-file FILE: reports are taken only with the token");
    if (!o->tls_cert != !o->tls_key)
        return usage("%s", "--tls-cert and --tls-key go together");
    if (o->boot_check && !o->output)
        return usage("%s", "--boot-check needs --output TEMPLATE: only images of that name are "
                           "booted");
    if (o->boot_check_timeout && !o->boot_check)
        return usage("%s", "--boot-check-timeout goes with --boot-check");
    if (o->plan && !o->live_dir)
        return usage("%s", "--plan goes into the boot script: it needs --live");
    if (o->output && !o->live_dir && !o->boot_check)
        return usage("%s", "--output goes into the boot script or names the images to boot-check: "
                           "it needs --live or --boot-check");
    if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
        cli_error("%s: %s", o->dir, strerror(errno));
        return P2V_EXIT_FAIL;
    }
    struct stat st;
    p2v_err err;
    if (o->live_dir && stat(o->live_dir, &st) == 0 && S_ISREG(st.st_mode)) {
        if (fleet_live_from_iso(o->live_dir, o->dir, &err) < 0) {
            cli_error("fleet serve: %s", err.msg);
            return P2V_EXIT_FAIL;
        }
        snprintf(files, flen, "%s/live-files", o->dir);
        o->live_dir = files;
    } else if (o->live_dir && (stat(o->live_dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        cli_error("fleet serve: --live %s: not an ISO image or a folder", o->live_dir);
        return P2V_EXIT_FAIL;
    }
    if (o->plan && (stat(o->plan, &st) < 0 || !S_ISREG(st.st_mode))) {
        cli_error("fleet serve: --plan %s: not a file", o->plan);
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}

static int serve(int argc, char **argv)
{
    static const struct option lo[] = { { "dir", required_argument, NULL, 'd' },
                                        { "listen", required_argument, NULL, 'l' },
                                        { "token-file", required_argument, NULL, 't' },
                                        { "tls-cert", required_argument, NULL, 'C' },
                                        { "tls-key", required_argument, NULL, 'K' },
                                        { "live", required_argument, NULL, 'L' },
                                        { "plan", required_argument, NULL, 'P' },
                                        { "output", required_argument, NULL, 'o' },
                                        { "boot-check", no_argument, NULL, 'b' },
                                        { "boot-check-timeout", required_argument, NULL, 'T' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    static fleet_serve_opts o;
    static char self[4096];
    o = (fleet_serve_opts){ .ready = on_ready, .log = on_log, .ctx = &o, .stop = &g_stop };
    int c;
    char *end;
    unsigned long t;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'd': o.dir = optarg; break;
        case 'l': o.listen = optarg; break;
        case 't': o.token_file = optarg; break;
        case 'C': o.tls_cert = optarg; break;
        case 'K': o.tls_key = optarg; break;
        case 'L': o.live_dir = optarg; break;
        case 'P': o.plan = optarg; break;
        case 'o': o.output = optarg; break;
        case 'b': o.boot_check = true; break;
        case 'T':
            t = strtoul(optarg, &end, 10);
            if (*end || !*optarg || t == 0 || t > 86400)
                return usage("--boot-check-timeout %s: not a number of seconds (1-86400)", optarg);
            o.boot_check_timeout = (unsigned)t;
            break;
        case 'h': fputs(fleet_usage, stdout); return P2V_EXIT_OK;
        case ':': return usage("option '%s' needs an argument", argv[optind - 1]);
        default: return usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage("unexpected argument '%s'", argv[optind]);
    static char files[4096];
    int rc = serve_check(&o, files, sizeof files);
    if (rc != P2V_EXIT_OK)
        return rc;
    /* boot-check runs as this very binary */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (o.boot_check && n <= 0) {
        cli_error("fleet serve: --boot-check: cannot find the p2v binary: %s", strerror(errno));
        return P2V_EXIT_FAIL;
    }
    self[n > 0 ? n : 0] = 0;
    o.self = self;
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    p2v_err err;
    if (fleet_serve(&o, &err) < 0) {
        cli_error("fleet serve: %s", err.msg);
        return P2V_EXIT_FAIL;
    }
    return P2V_EXIT_OK;
}

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static int64_t jnum(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v) : -1;
}

/* A PC's string, cut to w and with control characters made visible as '?'. */
static void cell(const char *s, int w)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", w, s ? s : "-");
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    printf("%-*s ", w, buf);
}

/* --boot-check's verdict in a word: ok, failed, error, queued, running, -. */
static const char *boot_word(struct json_object *pc)
{
    struct json_object *bc, *b;
    if (!json_object_object_get_ex(pc, "boot_check", &bc) ||
        !json_object_is_type(bc, json_type_object))
        return "-";
    if (json_object_object_get_ex(bc, "booted", &b) && json_object_is_type(b, json_type_boolean))
        return json_object_get_boolean(b) ? "ok" : "failed";
    return jstr(bc, "state") ? jstr(bc, "state") : "-";
}

static void print_row(struct json_object *pc)
{
    char model[160], prog[64] = "-", a[32], b[32];
    snprintf(model, sizeof model, "%s %s", jstr(pc, "vendor") ? jstr(pc, "vendor") : "",
             jstr(pc, "model") ? jstr(pc, "model") : "");
    int64_t done = jnum(pc, "bytes_done"), total = jnum(pc, "bytes_total");
    if (total > 0)
        snprintf(prog, sizeof prog, "%3d%% %s/%s", (int)(done * 100 / total),
                 size_human((uint64_t)done, a, sizeof a), size_human((uint64_t)total, b, sizeof b));
    printf("%-4lld ", (long long)jnum(pc, "id"));
    cell(jstr(pc, "name"), 20);
    cell(model, 24);
    cell(jstr(pc, "status"), 10);
    cell(boot_word(pc), 8);
    cell(prog, 24);
    cell(jstr(pc, "output"), 30);
    if (jstr(pc, "error"))
        cell(jstr(pc, "error"), 60);
    putchar('\n');
}

static int status(int argc, char **argv)
{
    static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
                                        { "ca", required_argument, NULL, 'c' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    bool json = false;
    const char *ca = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': ca = optarg; break;
        case 'h': fputs(fleet_usage, stdout); return P2V_EXIT_OK;
        case ':': return usage("option '%s' needs an argument", argv[optind - 1]);
        default: return usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return usage("%s", "status needs one URL");
    char url[2048], *body = NULL;
    size_t len;
    const char *base = argv[optind];
    size_t bl = strlen(base);
    snprintf(url, sizeof url, "%.*s/api/pcs", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base);
    p2v_err err;
    if (fleet_http_get(url, 0, ca, &body, &len, &err) < 0) {
        cli_error("fleet status: %s", err.msg);
        return P2V_EXIT_FAIL;
    }
    struct json_object *o = json_tokener_parse(body);
    if (!o || !json_object_is_type(o, json_type_array)) {
        cli_error("fleet status: %s: not a list of PCs", url);
        json_object_put(o);
        free(body);
        return P2V_EXIT_FAIL;
    }
    if (json) {
        fwrite(body, 1, len, stdout);
    } else {
        printf("%-4s %-20s %-24s %-10s %-8s %-24s %-30s\n", "ID", "NAME", "MODEL", "STATUS",
               "BOOT", "PROGRESS", "IMAGE");
        for (size_t i = 0; i < json_object_array_length(o); i++)
            print_row(json_object_array_get_idx(o, i));
    }
    json_object_put(o);
    free(body);
    return P2V_EXIT_OK;
}

int cmd_fleet(int argc, char **argv)
{
    if (argc < 2)
        return usage("%s", "serve or status?");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(fleet_usage, stdout);
        return P2V_EXIT_OK;
    }
    if (!strcmp(argv[1], "serve"))
        return serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status"))
        return status(argc - 1, argv + 1);
    return usage("unknown fleet command '%s' (serve or status)", argv[1]);
}
