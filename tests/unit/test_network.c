/* Unit tests for src/windows/network.c: what the first-boot step writes for
 * settings a hive may hold (a name the script must not quote, a mask that
 * is no prefix, DNS servers on a DHCP interface), and which Windows can
 * apply them; IPv6 addresses and the adapter picked by MAC. The reading
 * from a real hive is tested by integration/win_network. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "windows/network.h"

static net_iface iface(const char *guid, const char *name, bool dhcp)
{
    net_iface i;
    memset(&i, 0, sizeof i);
    snprintf(i.guid, sizeof i.guid, "%s", guid);
    snprintf(i.name, sizeof i.name, "%s", name);
    i.dhcp = dhcp;
    return i;
}

static void test_script(void)
{
    net_iface v[3];
    v[0] = iface("{A}", "Eth'; Remove-Item C:\\ -Recurse #", false);
    snprintf(v[0].addr[0], sizeof v[0].addr[0], "10.0.0.5");
    v[0].prefix[0] = 8;
    snprintf(v[0].addr[1], sizeof v[0].addr[1], "10.0.0.6");
    v[0].prefix[1] = 33; /* mask not a prefix */
    v[0].naddr = 2;
    v[1] = iface("{B}", "Wi-Fi", true); /* DHCP, nothing of its own: no step */
    v[2] = iface("{C}", "LAN 2", true); /* DHCP with its own DNS server */
    snprintf(v[2].dns[0], sizeof v[2].dns[0], "192.0.2.53");
    v[2].ndns = 1;
    net_config c = { .controlset = 1, .v = v, .n = 3 };
    drv_windows w10 = { .major = 10, .minor = 0, .build = 17763 };
    char *s = net_script(&c, &w10);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "Remove-Item") == NULL); /* the name is not put in the script */
    CHECK(strstr(s, "# (no name) {A}\r\n$a = Select-P2vAdapter '' ''\r\nif ($a) {") != NULL);
    CHECK(strstr(s, "Write-Output \"p2v: {A}: settings applied to $($a.Name) ($($a.MacAddress))\"") !=
          NULL);
    CHECK(strstr(s, "-IPAddress '10.0.0.5' -PrefixLength 8 |") != NULL);
    CHECK(strstr(s, "10.0.0.6") == NULL);
    CHECK(strstr(s, "{B}\r\nif") == NULL);      /* only in $old */
    CHECK(strstr(s, "$old = @('{A}', '{B}', '{C}')") != NULL);
    const char *lan = strstr(s, "# LAN 2 {C}\r\n$a = Select-P2vAdapter '' 'LAN 2'\r\nif ($a) {");
    CHECK(lan != NULL);
    if (lan) {
        CHECK(strstr(lan, "Set-DnsClientServerAddress -InterfaceIndex $a.ifIndex "
                          "-ServerAddresses @('192.0.2.53')\r\n") != NULL);
        CHECK(strstr(lan, "-Dhcp Disabled") == NULL); /* its address stays DHCP's */
        CHECK(strstr(lan, "Rename-NetAdapter -Name $a.Name -NewName 'LAN 2'") != NULL);
    }
    CHECK(strstr(s, "pnputil.exe /remove-device") == NULL); /* before 10 2004 */
    CHECK(strlen(s) >= 12 && !strcmp(s + strlen(s) - 12, "exit $fail\r\n"));
    free(s);
    w10.build = 19045;
    s = net_script(&c, &w10);
    CHECK(s && strstr(s, "pnputil.exe /remove-device $_.InstanceId\r\n") != NULL);
    free(s);
    /* nothing static: no script, no error */
    net_config dhcp = { .controlset = 1, .v = &v[1], .n = 1 };
    errno = 0;
    CHECK(net_script(&dhcp, &w10) == NULL && errno == 0);
}

/* IPv6 addresses from the NSI store, a '$' in a name (a double-quoted
 * string would run "$(...)"), and the wired interface matched by MAC goes
 * first whatever its GUID. */
static void test_ipv6_and_mac(void)
{
    net_iface v[2];
    v[0] = iface("{A}", "Wi-Fi", true);
    snprintf(v[0].addr6[0], sizeof v[0].addr6[0], "2001:db8:c::7");
    v[0].prefix6[0] = 64;
    v[0].naddr6 = 1;
    v[1] = iface("{B}", "$(Remove-Item C:\\ -Recurse)", false);
    snprintf(v[1].addr6[0], sizeof v[1].addr6[0], "2001:db8:a::20");
    v[1].prefix6[0] = 56;
    v[1].naddr6 = 1;
    v[1].wired = true;
    net_config c = { .controlset = 1, .v = v, .n = 2 };
    CHECK(net_iface_has_static(&v[0]));  /* DHCP for IPv4, a static IPv6 address */
    CHECK(!net_match_mac(&c, "52:54:00:aa:bb"));      /* not a MAC */
    CHECK(!net_match_mac(&c, "52:54:00:aa:bb:0g"));
    CHECK(net_match_mac(&c, "52:54:00:aa:bb:0c") && !strcmp(v[1].mac, "52:54:00:aa:bb:0c"));
    drv_windows w10 = { .major = 10, .minor = 0, .build = 19045 };
    char *s = net_script(&c, &w10);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "Remove-Item") == NULL);
    const char *b = strstr(s, "# (no name) {B}\r\n$a = Select-P2vAdapter '52-54-00-AA-BB-0C' ''\r\n");
    const char *a = strstr(s, "# Wi-Fi {A}\r\n$a = Select-P2vAdapter '' 'Wi-Fi'\r\n");
    CHECK(b != NULL && a != NULL && b < a);
    CHECK(strstr(s, "New-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -IPAddress "
                    "'2001:db8:a::20' -PrefixLength 56 | Out-Null\r\n") != NULL);
    CHECK(a && strstr(a, "-AddressFamily IPv6 -PrefixOrigin Manual") != NULL);
    CHECK(a && strstr(a, "-Dhcp Disabled") == NULL);
    free(s);
    /* two wired interfaces: no MAC for either */
    v[0].wired = true;
    v[1].mac[0] = 0;
    CHECK(!net_match_mac(&c, "52:54:00:aa:bb:0c") && !v[0].mac[0] && !v[1].mac[0]);
}

static void test_cannot_apply(void)
{
    drv_windows w7 = { .major = 6, .minor = 1, .build = 7601 };
    drv_windows w8 = { .major = 6, .minor = 2, .build = 9200 };
    drv_windows unknown = { .version_unknown = true };
    CHECK(net_cannot_apply(&w7) != NULL);
    CHECK(net_cannot_apply(&w8) == NULL);
    CHECK(net_cannot_apply(&unknown) != NULL);
}

int main(void)
{
    test_script();
    test_ipv6_and_mac();
    test_cannot_apply();
    return t_done("test_network");
}
