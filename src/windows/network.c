/* The old PC's network settings from the offline SYSTEM hive, and the
 * first-boot PowerShell step that gives them to the new adapters. */
#include "windows/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"
#include "windows/drivers_edits.h"
#include "windows/windows.h"

#define NET_CLASS "{4D36E972-E325-11CE-BFC1-08002BE10318}"

/* ---- reading ---- */

/* The strings of value name: a REG_MULTI_SZ's, or a REG_SZ split at commas
 * and spaces (NameServer). NULL-terminated, malloc'd; NULL when absent. */
static char **value_strings(hive_h *h, hive_node_h node, const char *name)
{
    hive_value_h v = hivex_node_get_value(h, node, name);
    hive_type t;
    size_t len;
    if (!v || hivex_value_type(h, v, &t, &len) < 0)
        return NULL;
    if (t == hive_t_REG_MULTI_SZ)
        return hivex_value_multiple_strings(h, v);
    if (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ)
        return NULL;
    char *s = hivex_value_string(h, v);
    size_t n = 0;
    char **out = s ? calloc(strlen(s) / 2 + 2, sizeof *out) : NULL;
    char *save = NULL;
    for (char *tok = out ? strtok_r(s, ", ", &save) : NULL; tok; tok = strtok_r(NULL, ", ", &save))
        out[n++] = strdup(tok);
    free(s);
    return out;
}

static void strings_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* A dotted mask's prefix length, or 33 when it is not a prefix mask. */
static unsigned mask_prefix(const char *mask)
{
    struct in_addr a;
    if (!mask || inet_pton(AF_INET, mask, &a) != 1)
        return 33;
    uint32_t m = ntohl(a.s_addr), inv = ~m;
    if (inv & (inv + 1))
        return 33;
    return (unsigned)__builtin_popcount(m);
}

static bool is_ip(int af, const char *s)
{
    unsigned char buf[16];
    return s && strlen(s) < 46 && inet_pton(af, s, buf) == 1;
}

static void read_addresses(hive_h *h, hive_node_h n, net_iface *o)
{
    char **ip = value_strings(h, n, "IPAddress"), **mask = value_strings(h, n, "SubnetMask");
    size_t nmask = 0;
    while (mask && mask[nmask])
        nmask++;
    for (size_t i = 0; ip && ip[i] && o->naddr < NET_MAX; i++) {
        if (!is_ip(AF_INET, ip[i]) || !strcmp(ip[i], "0.0.0.0"))
            continue;
        snprintf(o->addr[o->naddr], sizeof o->addr[0], "%s", ip[i]);
        o->prefix[o->naddr++] = mask_prefix(i < nmask ? mask[i] : NULL);
    }
    strings_free(ip);
    strings_free(mask);
    char **gw = value_strings(h, n, "DefaultGateway");
    for (size_t i = 0; gw && gw[i] && o->ngw < NET_MAX; i++)
        if (is_ip(AF_INET, gw[i]) && strcmp(gw[i], "0.0.0.0"))
            snprintf(o->gw[o->ngw++], sizeof o->gw[0], "%s", gw[i]);
    strings_free(gw);
}

static void read_dns(hive_h *h, hive_node_h n, int af, net_iface *o)
{
    char **ns = n ? value_strings(h, n, "NameServer") : NULL;
    for (size_t i = 0; ns && ns[i] && o->ndns < NET_MAX; i++)
        if (is_ip(af, ns[i]))
            snprintf(o->dns[o->ndns++], sizeof o->dns[0], "%s", ns[i]);
    strings_free(ns);
}

/* A DNS suffix is taken only as DNS name characters. */
static void read_domain(hive_h *h, hive_node_h n, net_iface *o)
{
    hive_value_h v = hivex_node_get_value(h, n, "Domain");
    char *s = v ? hivex_value_string(h, v) : NULL;
    if (s && strlen(s) < sizeof o->domain && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
                                                    strlen(s))
        snprintf(o->domain, sizeof o->domain, "%s", s);
    free(s);
}

static void read_name(hive_h *h, unsigned cs, net_iface *o)
{
    char path[200];
    snprintf(path, sizeof path, "ControlSet%03u\\Control\\Network\\" NET_CLASS "\\%s\\Connection",
             cs, o->guid);
    hive_node_h n = (hive_node_h)win_hive_walk(h, 0, path, false);
    hive_value_h v = n ? hivex_node_get_value(h, n, "Name") : 0;
    char *s = v ? hivex_value_string(h, v) : NULL;
    if (s)
        snprintf(o->name, sizeof o->name, "%s", s);
    free(s);
}

static int cmp_iface(const void *a, const void *b)
{
    return strcasecmp(((const net_iface *)a)->guid, ((const net_iface *)b)->guid);
}

int net_read(hive_h *system, net_config *out, p2v_err *err)
{
    memset(out, 0, sizeof *out);
    hive_node_h sel = (hive_node_h)win_hive_walk(system, 0, "Select", false);
    hive_value_h cur = sel ? hivex_node_get_value(system, sel, "Current") : 0;
    if (!cur)
        return p2v_errf(err, -ENOENT, "SYSTEM has no Select\\Current");
    out->controlset = (unsigned)hivex_value_dword(system, cur);
    char path[128], path6[128];
    snprintf(path, sizeof path, "ControlSet%03u\\Services\\Tcpip\\Parameters\\Interfaces",
             out->controlset);
    snprintf(path6, sizeof path6, "ControlSet%03u\\Services\\Tcpip6\\Parameters\\Interfaces",
             out->controlset);
    hive_node_h ifs = (hive_node_h)win_hive_walk(system, 0, path, false), ifs6 = (hive_node_h)win_hive_walk(system, 0, path6, false);
    hive_node_h *kids = ifs ? hivex_node_children(system, ifs) : NULL;
    size_t nk = 0;
    while (kids && kids[nk])
        nk++;
    out->v = calloc(nk ? nk : 1, sizeof *out->v);
    if (!out->v) {
        free(kids);
        return p2v_errf(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nk; i++) {
        char *g = hivex_node_name(system, kids[i]);
        if (!g || strlen(g) >= sizeof out->v[0].guid || g[0] != '{') {
            free(g);
            continue;
        }
        net_iface *o = &out->v[out->n++];
        snprintf(o->guid, sizeof o->guid, "%s", g);
        free(g);
        hive_value_h d = hivex_node_get_value(system, kids[i], "EnableDHCP");
        o->dhcp = d && hivex_value_dword(system, d) != 0;
        read_addresses(system, kids[i], o);
        read_dns(system, kids[i], AF_INET, o);
        read_dns(system, ifs6 ? hivex_node_get_child(system, ifs6, o->guid) : 0, AF_INET6, o);
        read_domain(system, kids[i], o);
        read_name(system, out->controlset, o);
    }
    free(kids);
    qsort(out->v, out->n, sizeof *out->v, cmp_iface);
    return 0;
}

void net_config_free(net_config *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

bool net_iface_has_static(const net_iface *i)
{
    return (!i->dhcp && i->naddr) || i->ndns || i->domain[0];
}

const char *net_cannot_apply(const drv_windows *w)
{
    if (w->version_unknown)
        return "the Windows version cannot be told";
    if (w->major < 6 || (w->major == 6 && w->minor < 2))
        return "Windows before 8 / Server 2012 has no NetTCPIP PowerShell module; set them by "
               "hand";
    return NULL;
}

/* ---- the first-boot step ---- */

/* A name used in the script only when plain printable ASCII without quotes
 * (PowerShell also takes typographic quotes as quotes). */
static bool script_safe(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '\'' || *s == '"' || *s == '`')
            return false;
    return true;
}

typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool failed;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !b->failed; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void script_iface(strbuf *b, const net_iface *i, size_t k)
{
    const char *name = i->name[0] && script_safe(i->name) ? i->name : NULL;
    const char *what = name ? name : i->guid;
    sb_add(b, "# %s %s\r\n", name ? name : "(no name)", i->guid);
    sb_add(b, "if ($new.Count -gt %zu) {\r\n    $a = $new[%zu]\r\n    try {\r\n", k, k);
    if (name)
        sb_add(b, "        if (-not (Get-NetAdapter -Name '%s' -ErrorAction SilentlyContinue)) "
                  "{ Rename-NetAdapter -Name $a.Name -NewName '%s' }\r\n", name, name);
    if (!i->dhcp && i->naddr) {
        sb_add(b, "        Set-NetIPInterface -InterfaceIndex $a.ifIndex -AddressFamily IPv4 "
                  "-Dhcp Disabled\r\n");
        sb_add(b, "        Get-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv4 "
                  "-ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false\r\n");
        sb_add(b, "        Get-NetRoute -InterfaceIndex $a.ifIndex -DestinationPrefix "
                  "'0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute "
                  "-Confirm:$false\r\n");
        for (size_t a = 0; a < i->naddr; a++)
            if (i->prefix[a] <= 32)
                sb_add(b, "        New-NetIPAddress -InterfaceIndex $a.ifIndex -IPAddress '%s' "
                          "-PrefixLength %u | Out-Null\r\n", i->addr[a], i->prefix[a]);
        for (size_t g = 0; g < i->ngw; g++)
            sb_add(b, "        New-NetRoute -InterfaceIndex $a.ifIndex -DestinationPrefix "
                      "'0.0.0.0/0' -NextHop '%s' | Out-Null\r\n", i->gw[g]);
    }
    if (i->ndns) {
        sb_add(b, "        Set-DnsClientServerAddress -InterfaceIndex $a.ifIndex "
                  "-ServerAddresses @(");
        for (size_t d = 0; d < i->ndns; d++)
            sb_add(b, "%s'%s'", d ? ", " : "", i->dns[d]);
        sb_add(b, ")\r\n");
    }
    if (i->domain[0])
        sb_add(b, "        Set-DnsClient -InterfaceIndex $a.ifIndex -ConnectionSpecificSuffix "
                  "'%s'\r\n", i->domain);
    sb_add(b, "        Write-Output 'p2v: %s: settings applied'\r\n", what);
    sb_add(b, "    } catch {\r\n        Write-Output \"p2v: %s: $_\"\r\n        $fail = 1\r\n"
              "    }\r\n} else {\r\n    Write-Output 'p2v: no new adapter for %s'\r\n}\r\n",
           what, what);
}

char *net_script(const net_config *c, const drv_windows *w)
{
    strbuf b = { 0 };
    size_t k = 0;
    sb_add(&b, "# Written by p2v: the old PC's static network settings, given to the new\r\n"
               "# adapters (run by firstboot.cmd; exit 1 asks for another try).\r\n"
               "$ErrorActionPreference = 'Stop'\r\n$fail = 0\r\n$old = @(");
    for (size_t i = 0; i < c->n; i++)
        sb_add(&b, "%s'%s'", i ? ", " : "", c->v[i].guid);
    sb_add(&b, ")\r\n"
               "# The new adapters: physical, present, none of the old PC's; the driver may\r\n"
               "# still be installing, so wait up to two minutes.\r\n"
               "$new = @()\r\n"
               "for ($i = 0; $i -lt 60; $i++) {\r\n"
               "    $new = @(Get-NetAdapter -Physical | Where-Object { $old -notcontains "
               "$_.InterfaceGuid } | Sort-Object -Property ifIndex)\r\n"
               "    if ($new.Count -ge 1) { break }\r\n"
               "    Start-Sleep -Seconds 2\r\n"
               "}\r\n"
               "if ($new.Count -lt 1) { Write-Output 'p2v: no new network adapter'; exit 1 }\r\n");
    if (w->major >= 10 && w->build >= 19041)
        sb_add(&b, "# The old PC's adapters, no longer present: their names and addresses go.\r\n"
                   "Get-PnpDevice -Class Net | Where-Object { -not $_.Present -and "
                   "$_.InstanceId -match '^(PCI|USB)\\\\' } | ForEach-Object {\r\n"
                   "    Write-Output \"p2v: removing the old adapter $($_.FriendlyName)\"\r\n"
                   "    pnputil.exe /remove-device $_.InstanceId\r\n"
                   "}\r\n");
    for (size_t i = 0; i < c->n; i++)
        if (net_iface_has_static(&c->v[i]))
            script_iface(&b, &c->v[i], k++);
    sb_add(&b, "exit $fail\r\n");
    if (b.failed || k == 0) {
        free(b.s);
        errno = b.failed ? ENOMEM : 0;
        return NULL;
    }
    return b.s;
}

static const char net_step[] =
    "echo p2v: the old PC's network settings >> \"%LOG%\"\r\n"
    "powershell.exe -NoProfile -ExecutionPolicy Bypass -File \"%SystemRoot%\\p2v\\network.ps1\" "
    ">> \"%LOG%\" 2>&1\r\n"
    "if errorlevel 1 goto retry\r\n";

int net_plan(const net_config *c, const drv_windows *w, bool keep, drv_plan *p, p2v_err *err)
{
    if (!keep || net_cannot_apply(w))
        return 0;
    errno = 0;
    char *s = net_script(c, w);
    if (!s)
        return errno ? p2v_errf(err, -ENOMEM, "out of memory") : 0;
    int rc = drv_copy_add(p, -1, (uint8_t *)s, strlen(s), "Windows\\p2v\\network.ps1");
    if (rc == 0)
        rc = drv_firstboot_add(p, net_step, true);
    return rc < 0 ? p2v_errf(err, rc, "out of memory") : 0;
}

/* ---- reports ---- */

static void iface_text(const net_iface *i, FILE *f)
{
    fprintf(f, "    %s %s: %s", i->name[0] ? i->name : "(no name)", i->guid,
            i->dhcp ? "DHCP" : i->naddr ? "static" : "no address");
    for (size_t a = 0; !i->dhcp && a < i->naddr; a++) {
        if (i->prefix[a] <= 32)
            fprintf(f, "%s%s/%u", a ? ", " : " ", i->addr[a], i->prefix[a]);
        else
            fprintf(f, "%s%s (mask not a prefix: not applied)", a ? ", " : " ", i->addr[a]);
    }
    for (size_t g = 0; !i->dhcp && g < i->ngw; g++)
        fprintf(f, "%s%s", g ? ", " : "; gateway ", i->gw[g]);
    for (size_t d = 0; d < i->ndns; d++)
        fprintf(f, "%s%s", d ? ", " : "; DNS ", i->dns[d]);
    if (i->domain[0])
        fprintf(f, "; suffix %s", i->domain);
    fputc('\n', f);
}

void net_report_text(const net_config *c, const drv_windows *w, bool keep, FILE *f)
{
    if (!c->n)
        return;
    bool any = false;
    for (size_t i = 0; i < c->n; i++)
        any |= net_iface_has_static(&c->v[i]);
    const char *why = net_cannot_apply(w);
    fprintf(f, "  network (ControlSet%03u):", c->controlset);
    if (!any)
        fprintf(f, " nothing static\n");
    else if (!keep)
        fprintf(f, " --network dhcp: static settings listed only\n");
    else if (why)
        fprintf(f, " static settings not applied: %s\n", why);
    else
        fprintf(f, " static settings applied to the new adapters at first boot "
                   "(Windows\\p2v\\network.ps1)\n");
    for (size_t i = 0; i < c->n; i++)
        iface_text(&c->v[i], f);
}

void net_report_json(const net_config *c, const drv_windows *w, bool keep, json_writer *j)
{
    json_key(j, "network");
    json_arr_begin(j);
    for (size_t k = 0; k < c->n; k++) {
        const net_iface *i = &c->v[k];
        json_obj_begin(j);
        json_kstr(j, "guid", i->guid);
        json_kstr(j, "name", i->name[0] ? i->name : NULL);
        json_kbool(j, "dhcp", i->dhcp);
        json_key(j, "addresses");
        json_arr_begin(j);
        for (size_t a = 0; a < i->naddr; a++) {
            json_obj_begin(j);
            json_kstr(j, "address", i->addr[a]);
            if (i->prefix[a] <= 32)
                json_ku64(j, "prefix", i->prefix[a]);
            else
                json_knull(j, "prefix");
            json_obj_end(j);
        }
        json_arr_end(j);
        json_key(j, "gateways");
        json_arr_begin(j);
        for (size_t g = 0; g < i->ngw; g++)
            json_str(j, i->gw[g]);
        json_arr_end(j);
        json_key(j, "dns");
        json_arr_begin(j);
        for (size_t d = 0; d < i->ndns; d++)
            json_str(j, i->dns[d]);
        json_arr_end(j);
        json_kstr(j, "suffix", i->domain[0] ? i->domain : NULL);
        json_kbool(j, "applied", keep && !net_cannot_apply(w) && net_iface_has_static(i));
        json_obj_end(j);
    }
    json_arr_end(j);
}
