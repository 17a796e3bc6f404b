/* The old PC's network settings from the offline SYSTEM hive, and the
 * first-boot PowerShell step that gives them to the new adapters. */
#include "windows/network.h"

#include <ctype.h>
#include <errno.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"
#include "windows/drivers_edits.h"
#include "windows/windows.h"


bool net_iface_has_static(const net_iface *i)
{
    return (!i->dhcp && i->naddr) || i->naddr6 || i->ndns || i->domain[0];
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
 * (PowerShell also takes typographic quotes as quotes) and without '$',
 * which a double-quoted string would expand ("$(...)" runs a command). */
static bool script_safe(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '\'' || *s == '"' || *s == '`' || *s == '$')
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

/* aa:bb:cc:dd:ee:ff as Get-NetAdapter's MacAddress spells it: AA-BB-CC-DD-EE-FF. */
static void ps_mac(const char *mac, char out[18])
{
    for (size_t i = 0; i < 17; i++)
        out[i] = mac[i] == ':' ? '-' : (char)toupper((unsigned char)mac[i]);
    out[17] = 0;
}

static void script_ipv4(strbuf *b, const net_iface *i)
{
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

/* The manual IPv6 addresses go first, so that a second try starts clean;
 * Windows' own (link-local, router advertisements) stay. */
static void script_ipv6(strbuf *b, const net_iface *i)
{
    sb_add(b, "        Get-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 "
              "-PrefixOrigin Manual -ErrorAction SilentlyContinue | Remove-NetIPAddress "
              "-Confirm:$false\r\n");
    for (size_t a = 0; a < i->naddr6; a++)
        sb_add(b, "        New-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 "
                  "-IPAddress '%s' -PrefixLength %u | Out-Null\r\n", i->addr6[a], i->prefix6[a]);
}

static void script_iface(strbuf *b, const net_iface *i)
{
    const char *name = i->name[0] && script_safe(i->name) ? i->name : NULL;
    const char *what = name ? name : i->guid;
    char mac[18] = "";
    if (i->mac[0])
        ps_mac(i->mac, mac);
    sb_add(b, "# %s %s\r\n", name ? name : "(no name)", i->guid);
    sb_add(b, "$a = Select-P2vAdapter '%s' '%s'\r\nif ($a) {\r\n    try {\r\n", mac,
           name ? name : "");
    if (name)
        sb_add(b, "        if (-not (Get-NetAdapter -Name '%s' -ErrorAction SilentlyContinue)) "
                  "{ Rename-NetAdapter -Name $a.Name -NewName '%s' }\r\n", name, name);
    if (!i->dhcp && i->naddr)
        script_ipv4(b, i);
    if (i->naddr6)
        script_ipv6(b, i);
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
    sb_add(b, "        Write-Output \"p2v: %s: settings applied to $($a.Name) ($($a.MacAddress))\"\r\n",
           what);
    sb_add(b, "    } catch {\r\n        Write-Output \"p2v: %s: $_\"\r\n        $fail = 1\r\n"
              "    }\r\n} else {\r\n    Write-Output 'p2v: no new adapter for %s'\r\n}\r\n",
           what, what);
}

/* Which new adapter takes an old interface's settings: the one with the
 * MAC the VM definition gave it, else one already called by the old name,
 * else the next one not taken (in ifIndex order). */
static const char select_fn[] =
    "# Which new adapter takes an old one's settings: the one with the MAC the VM\r\n"
    "# definition gave it, else one called by the old name, else the next free one.\r\n"
    "$used = @()\r\n"
    "function Select-P2vAdapter([string]$Mac, [string]$Name) {\r\n"
    "    $free = @($new | Where-Object { $script:used -notcontains $_.ifIndex })\r\n"
    "    $pick = $null\r\n"
    "    if ($Mac) { $pick = $free | Where-Object { $_.MacAddress -eq $Mac } | "
    "Select-Object -First 1 }\r\n"
    "    if (-not $pick -and $Name) { $pick = $free | Where-Object { $_.Name -eq $Name } | "
    "Select-Object -First 1 }\r\n"
    "    if (-not $pick) { $pick = $free | Select-Object -First 1 }\r\n"
    "    if ($pick) { $script:used += $pick.ifIndex }\r\n"
    "    return $pick\r\n"
    "}\r\n";

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
    sb_add(&b, "%s", select_fn);
    /* the interface matched by MAC first, so that no other takes its adapter */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->n; i++)
            if (net_iface_has_static(&c->v[i]) && (c->v[i].mac[0] != 0) == (pass == 0)) {
                script_iface(&b, &c->v[i]);
                k++;
            }
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
            i->dhcp ? "DHCP" : i->naddr ? "static" : "no IPv4 address");
    for (size_t a = 0; !i->dhcp && a < i->naddr; a++) {
        if (i->prefix[a] <= 32)
            fprintf(f, "%s%s/%u", a ? ", " : " ", i->addr[a], i->prefix[a]);
        else
            fprintf(f, "%s%s (mask not a prefix: not applied)", a ? ", " : " ", i->addr[a]);
    }
    for (size_t g = 0; !i->dhcp && g < i->ngw; g++)
        fprintf(f, "%s%s", g ? ", " : "; gateway ", i->gw[g]);
    for (size_t a = 0; a < i->naddr6; a++)
        fprintf(f, "%s%s/%u", a ? ", " : "; IPv6 ", i->addr6[a], i->prefix6[a]);
    for (size_t d = 0; d < i->ndns; d++)
        fprintf(f, "%s%s", d ? ", " : "; DNS ", i->dns[d]);
    if (i->domain[0])
        fprintf(f, "; suffix %s", i->domain);
    if (i->mac[0])
        fprintf(f, "; to the adapter with MAC %s", i->mac);
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
        json_key(j, "addresses6");
        json_arr_begin(j);
        for (size_t a = 0; a < i->naddr6; a++) {
            json_obj_begin(j);
            json_kstr(j, "address", i->addr6[a]);
            json_ku64(j, "prefix", i->prefix6[a]);
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
        json_kstr(j, "type", !i->has_luid           ? NULL
                            : i->iftype == 6   ? "ethernet"
                            : i->iftype == 71  ? "wifi"
                                               : "other");
        json_kstr(j, "mac", i->mac[0] ? i->mac : NULL);
        json_kbool(j, "applied", keep && !net_cannot_apply(w) && net_iface_has_static(i));
        json_obj_end(j);
    }
    json_arr_end(j);
}
