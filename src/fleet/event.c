/* The report format of docs/fleet.md: events as JSON, the PC's identity, the
 * token file. No I/O but the token file; the sender is in send.c. */
#include "fleet/fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *fleet_kind_name(enum fleet_kind k)
{
    switch (k) {
    case FLEET_START: return "start";
    case FLEET_PROGRESS: return "progress";
    case FLEET_FINISH: return "finish";
    case FLEET_FAILED: return "failed";
    }
    return "?";
}

/* The SMBIOS strings of the report's "pc", in its order: the key, the field
 * of fleet_pc, and the one of vm_machine it is taken from. */
static const struct pc_smbios {
    const char *key;
    size_t off, machine_off;
} pc_smbios[] = {
    { "serial", offsetof(fleet_pc, serial), offsetof(struct vm_machine, serial) },
    { "uuid", offsetof(fleet_pc, uuid), offsetof(struct vm_machine, uuid) },
    { "vendor", offsetof(fleet_pc, vendor), offsetof(struct vm_machine, vendor) },
    { "model", offsetof(fleet_pc, model), offsetof(struct vm_machine, product) },
};
#define NPC_SMBIOS (sizeof pc_smbios / sizeof pc_smbios[0])

/* An empty identity field is unknown: null, so a receiver never keys on "". */
static void pc_json(json_writer *j, const fleet_pc *pc)
{
    json_key(j, "pc");
    json_obj_begin(j);
    for (size_t i = 0; i < NPC_SMBIOS; i++)
        json_kstr_or_null(j, pc_smbios[i].key, (const char *)pc + pc_smbios[i].off);
    json_kstr_or_null(j, "mac", pc->mac);
    json_kstr_or_null(j, "computername", pc->computername);
    vm_machine_hw_json(j, pc->memory, pc->cpus, pc->msdm);
    json_obj_end(j);
}

void fleet_rate_json(json_writer *j, double rate)
{
    json_ku64(j, "rate", rate > 0 ? (uint64_t)rate : 0);
}

static void progress_json(json_writer *j, const fleet_progress *p)
{
    json_key(j, "progress");
    json_obj_begin(j);
    json_kstr(j, "stage", p->stage ? p->stage : "copy");
    if (p->partition > 0)
        json_ki64(j, "partition", p->partition);
    else
        json_knull(j, "partition");
    json_ku64(j, "bytes_done", p->bytes_done);
    json_ku64(j, "bytes_total", p->bytes_total);
    fleet_rate_json(j, p->rate);
    json_key(j, "eta");
    if (p->eta >= 0)
        json_u64(j, (uint64_t)(p->eta + 0.5));
    else
        json_null(j);
    json_obj_end(j);
}

void fleet_event_json(const fleet_event *e, FILE *out)
{
    json_writer j;
    json_init(&j, out);
    json_obj_begin(&j);
    json_ku64(&j, "p2v_report", FLEET_REPORT_VERSION);
    json_kstr(&j, "event", fleet_kind_name(e->kind));
    json_kstr(&j, "run", e->run);
    json_kstr(&j, "time", e->time);
    if (e->pc)
        pc_json(&j, e->pc);
    if (e->started) {
        json_kstr(&j, "started", e->started);
        json_kdouble(&j, "elapsed",
                     e->elapsed >= 0 ? (double)(uint64_t)(e->elapsed * 10 + 0.5) / 10 : 0);
    }
    if (e->output)
        json_kstr(&j, "output", e->output);
    if (e->output_template)
        json_kstr(&j, "output_template", e->output_template);
    if (e->selection) {
        json_key(&j, "selection");
        json_arr_begin(&j);
        for (size_t i = 0; i < e->nselection; i++)
            json_str(&j, e->selection[i]);
        json_arr_end(&j);
    }
    if (e->selection && e->roles) {
        json_key(&j, "roles");
        json_arr_begin(&j);
        for (size_t i = 0; i < e->nselection; i++)
            json_str(&j, e->roles[i] ? e->roles[i] : "");
        json_arr_end(&j);
    }
    if (e->kind == FLEET_PROGRESS && e->progress)
        progress_json(&j, e->progress);
    if (e->kind == FLEET_FINISH && e->result) {
        json_key(&j, "result");
        e->result(&j, e->result_ctx);
    }
    if (e->kind == FLEET_FAILED)
        json_kstr(&j, "error", e->error ? e->error : "unknown error");
    json_obj_end(&j);
    json_end(&j);
}

void fleet_pc_from_machine(const struct vm_machine *m, fleet_pc *pc)
{
    memset(pc, 0, sizeof *pc);
    for (size_t i = 0; i < NPC_SMBIOS; i++)
        snprintf((char *)pc + pc_smbios[i].off, VM_STR, "%s",
                 (const char *)m + pc_smbios[i].machine_off);
    if (m->nmacs)
        snprintf(pc->mac, sizeof pc->mac, "%s", m->macs[0]);
    pc->memory = m->memory;
    pc->cpus = m->cpus;
    pc->msdm = m->msdm;
}

static void trim(char *s)
{
    size_t n = strcspn(s, "\r\n");
    s[n] = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, n - lead + 1);
}

int fleet_token_read(const char *path, char *tok, size_t len, p2v_err *err)
{
    char buf[FLEET_TOKEN_MAX + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return p2v_errf(err, -errno, "token file %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return p2v_errf(err, -e, "token file %s: %s", path, strerror(e));
    if ((size_t)n > FLEET_TOKEN_MAX)
        return p2v_errf(err, -EINVAL, "token file %s: longer than %d bytes", path,
                        FLEET_TOKEN_MAX);
    buf[n] = 0;
    trim(buf);
    /* The token goes into an HTTP header: a control character would split it. */
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return p2v_errf(err, -EINVAL, "token file %s: a control character in the token",
                            path);
    if (!buf[0])
        return p2v_errf(err, -EINVAL, "token file %s: empty", path);
    if (strlen(buf) >= len)
        return p2v_errf(err, -EINVAL, "token file %s: token too long", path);
    memcpy(tok, buf, strlen(buf) + 1);
    return 0;
}

unsigned fleet_retry_delay(unsigned attempt)
{
    if (attempt < 2)
        return 0;
    unsigned s = 1u << (attempt - 2 < 5 ? attempt - 2 : 5);
    return s;
}

void fleet_time_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
