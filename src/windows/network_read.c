/* The old PC's network settings from the offline SYSTEM hive: TCP/IP's
 * per-interface keys (Tcpip, Tcpip6), the names of Control\Network, the
 * adapters' class keys and the static IPv6 addresses of the NSI store
 * (docs/windows.md, "Network settings"). */
#include "windows/network.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <hivex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "windows/windows.h"

#define NET_CLASS "{4D36E972-E325-11CE-BFC1-08002BE10318}"
/* The NSI module of IPv6 ({eb004a00-...} is IPv4's), object 10: unicast
 * addresses of the persistent store. */
#define NET_NSI6_UNICAST "{eb004a01-9b1a-11d4-9123-0050047759bc}\\10"
#define NET_NSI6_NAME_LEN 48    /* 16 hex digits of NET_LUID, 32 of the address */
#define NET_IF_ETHERNET 6u      /* IF_TYPE_ETHERNET_CSMACD */
#define NET_NCF_PHYSICAL 0x4u

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

static bool value_dword(hive_h *h, hive_node_h n, const char *name, uint32_t *out)
{
    hive_value_h v = hivex_node_get_value(h, n, name);
    hive_type t;
    size_t len;
    if (!v || hivex_value_type(h, v, &t, &len) < 0 || t != hive_t_REG_DWORD || len != 4)
        return false;
    *out = (uint32_t)hivex_value_dword(h, v);
    return true;
}

static net_iface *find_iface(net_config *c, const char *guid)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcasecmp(c->v[i].guid, guid))
            return &c->v[i];
    return NULL;
}

/* The NET_LUID as the NSI store's value names spell it: the 64-bit value
 * (bits 24-47 NetLuidIndex, 48-63 IfType) as its 8 bytes in memory order
 * (little-endian), in hex. */
static void luid_string(uint32_t index, uint32_t iftype, char out[17])
{
    uint64_t v = ((uint64_t)(iftype & 0xffffu) << 48) | ((uint64_t)(index & 0xffffffu) << 24);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned)((v >> (8 * i)) & 0xffu));
}

/* Control\Class\{4D36E972-...}\NNNN: the adapter behind each interface
 * (NetCfgInstanceId), its NET_LUID (NetLuidIndex, *IfType) and whether it
 * is a physical (Characteristics & NCF_PHYSICAL) Ethernet adapter. */
static void read_class(hive_h *h, net_config *c)
{
    char path[160];
    snprintf(path, sizeof path, "ControlSet%03u\\Control\\Class\\" NET_CLASS, c->controlset);
    hive_node_h cls = (hive_node_h)win_hive_walk(h, 0, path, false);
    hive_node_h *kids = cls ? hivex_node_children(h, cls) : NULL;
    for (size_t k = 0; kids && kids[k]; k++) {
        hive_value_h v = hivex_node_get_value(h, kids[k], "NetCfgInstanceId");
        char *g = v ? hivex_value_string(h, v) : NULL;
        net_iface *o = g ? find_iface(c, g) : NULL;
        free(g);
        uint32_t idx, type, ch;
        if (!o || !value_dword(h, kids[k], "NetLuidIndex", &idx) ||
            !value_dword(h, kids[k], "*IfType", &type))
            continue;
        o->has_luid = true;
        o->iftype = type;
        luid_string(idx, type, o->luid);
        o->wired = type == NET_IF_ETHERNET && value_dword(h, kids[k], "Characteristics", &ch) &&
                   (ch & NET_NCF_PHYSICAL);
    }
    free(kids);
}

static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &b) != 1)
            return false;
        out[i] = (uint8_t)b;
    }
    return true;
}

/* An address worth giving back: not unspecified, loopback, link-local
 * (Windows makes its own) or multicast. */
static bool ipv6_static_kind(const uint8_t a[16])
{
    static const uint8_t zero[15];
    if (!memcmp(a, zero, 15) && a[15] <= 1)
        return false;
    return a[0] != 0xff && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* One value of the NSI store: "LUID(16 hex)ADDRESS(32 hex)" = data whose
 * byte 16 is the on-link prefix length (after ValidLifetime,
 * PreferredLifetime, PrefixOrigin, SuffixOrigin, u32 each). */
static void nsi6_value(hive_h *h, hive_value_h val, net_config *c)
{
    char *name = hivex_value_key(h, val);
    uint8_t a[16];
    net_iface *o = NULL;
    for (size_t i = 0; name && strlen(name) == NET_NSI6_NAME_LEN && i < c->n; i++)
        if (c->v[i].has_luid && !strncasecmp(name, c->v[i].luid, 16))
            o = &c->v[i];
    bool ok = o && o->naddr6 < NET_MAX && hex_bytes(name + 16, a, 16) && ipv6_static_kind(a);
    free(name);
    hive_type t;
    size_t len = 0;
    char *data = ok ? hivex_value_value(h, val, &t, &len) : NULL;
    if (data && t == hive_t_REG_BINARY && len > 16 && (uint8_t)data[16] <= 128 &&
        inet_ntop(AF_INET6, a, o->addr6[o->naddr6], sizeof o->addr6[0]))
        o->prefix6[o->naddr6++] = (uint8_t)data[16];
    free(data);
}

/* Control\Nsi\{eb004a01-...}\10: the static IPv6 addresses. */
static void read_nsi6(hive_h *h, net_config *c)
{
    char path[160];
    snprintf(path, sizeof path, "ControlSet%03u\\Control\\Nsi\\" NET_NSI6_UNICAST, c->controlset);
    hive_node_h n = (hive_node_h)win_hive_walk(h, 0, path, false);
    hive_value_h *vals = n ? hivex_node_values(h, n) : NULL;
    for (size_t i = 0; vals && vals[i]; i++)
        nsi6_value(h, vals[i], c);
    free(vals);
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
    read_class(system, out);
    read_nsi6(system, out);
    qsort(out->v, out->n, sizeof *out->v, cmp_iface);
    return 0;
}

bool net_match_mac(net_config *c, const char *mac)
{
    net_iface *one = NULL;
    size_t wired = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].wired) {
            one = &c->v[i];
            wired++;
        }
    if (wired != 1 || !mac || strlen(mac) != 17)
        return false;
    for (size_t i = 0; i < 17; i++)
        if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char)mac[i]))
            return false;
    snprintf(one->mac, sizeof one->mac, "%s", mac);
    return true;
}

void net_config_free(net_config *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

