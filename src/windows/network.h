/* The old PC's network identity (docs/windows.md, "Network settings"): every
 * interface's TCP/IP settings as the offline SYSTEM hive keeps them, listed
 * in the dry run and JSON, and the static ones re-applied at the first boot
 * by a PowerShell step of the one first-boot script (drv_firstboot_add): a
 * new NIC gets a new interface GUID, so Windows would not find them. */
#ifndef P2V_WINDOWS_NETWORK_H
#define P2V_WINDOWS_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"
#include "windows/drivers.h"

#define NET_MAX 8 /* addresses, gateways or DNS servers kept per interface */

typedef struct net_iface {
    char guid[40];              /* "{...}": its key under Tcpip\Parameters\Interfaces */
    char name[128];             /* Control\Network\{4D36E972-...}\{guid}\Connection\Name, or "" */
    bool dhcp;                  /* EnableDHCP != 0 */
    char addr[NET_MAX][16];     /* IPAddress (REG_MULTI_SZ), 0.0.0.0 left out */
    unsigned prefix[NET_MAX];   /* from SubnetMask; 33 = not a prefix mask */
    size_t naddr;
    char gw[NET_MAX][16];       /* DefaultGateway */
    size_t ngw;
    char dns[NET_MAX][46];      /* NameServer (IPv4), then Tcpip6's NameServer (IPv6) */
    size_t ndns;
    char domain[256];           /* Domain (the connection's DNS suffix), or "" */
    /* Static IPv6 addresses: Windows keeps them in its NSI store, not in
     * Tcpip6 (Control\Nsi\{eb004a01-...}\10, one value per address named
     * by the interface's NET_LUID and the address; docs/windows.md). */
    char addr6[NET_MAX][46];
    unsigned prefix6[NET_MAX];  /* the on-link prefix length, 0..128 */
    size_t naddr6;
    /* From the adapter's class key (Control\Class\{4D36E972-...}\NNNN whose
     * NetCfgInstanceId is guid): */
    bool has_luid;              /* NetLuidIndex and *IfType were there */
    char luid[17];              /* the NET_LUID as the NSI store's value names spell it */
    unsigned iftype;            /* *IfType: 6 Ethernet, 71 Wi-Fi; 0 unknown */
    bool wired;                 /* *IfType 6 and a physical adapter (NCF_PHYSICAL) */
    /* The new adapter is picked by this MAC at the first boot ("" : by the
     * old name, then the next new adapter); see net_match_mac. */
    char mac[18];
} net_iface;

typedef struct net_config {
    unsigned controlset;        /* the ControlSet read (Select\Current) */
    net_iface *v;
    size_t n;
} net_config;

/* The interfaces of the current ControlSet of SYSTEM, sorted by GUID. Only
 * well-formed values are taken (addresses that parse, a suffix of DNS name
 * characters, a name without control characters or quotes' trouble is kept
 * as it is). 0 (none is no error), -ENOENT without Select\Current,
 * -ENOMEM. */
int net_read(struct hive_h *system, net_config *out, p2v_err *err);

/* The VM's NIC will have MAC mac (aa:bb:cc:dd:ee:ff, the PC's only wired
 * NIC, carried over by the VM definition): the settings of the Windows'
 * one wired interface go to the new adapter with that MAC. Nothing
 * happens without exactly one wired interface or with a mac that is not
 * one. True when an interface took it. */
bool net_match_mac(net_config *c, const char *mac);
void net_config_free(net_config *c);

/* Does the interface carry settings DHCP would not give back: a static
 * address (IPv4 without DHCP, or IPv6), or DNS servers or a suffix of its
 * own? */
bool net_iface_has_static(const net_iface *i);

/* Why the static settings of c cannot be applied on Windows w (NULL: they
 * can): the NetTCPIP PowerShell module came with Windows 8 / Server 2012. */
const char *net_cannot_apply(const drv_windows *w);

/* The PowerShell script (CRLF lines) that applies c's static settings to
 * the new adapters at the first boot; NULL when there is nothing to apply
 * (or ENOMEM: check errno). The old adapters no longer present are removed
 * first on Windows 10 2004 (build 19041) and later (pnputil
 * /remove-device). */
char *net_script(const net_config *c, const drv_windows *w);

/* Plan the network step on p: with keep and something static on a Windows
 * that can apply it, \Windows\p2v\network.ps1 and the first-boot step that
 * runs it (bounded retries). 0 or -ENOMEM. */
int net_plan(const net_config *c, const drv_windows *w, bool keep, drv_plan *p, p2v_err *err);

/* The dry run's list and the JSON array "network". */
void net_report_text(const net_config *c, const drv_windows *w, bool keep, FILE *f);
struct json_writer;
void net_report_json(const net_config *c, const drv_windows *w, bool keep,
                     struct json_writer *j);

#endif
