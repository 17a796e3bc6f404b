#!/bin/bash
# The old PC's network identity: a Windows 10 whose SYSTEM hive (made by
# mkvirtio.sh, MKVIRTIO_NET=1) has a static "Ethernet" (two IPv4 addresses, a
# gateway, DNS servers, a suffix, an IPv6 DNS server in Tcpip6, two static
# IPv6 addresses in the NSI store) and a DHCP "Wi-Fi" (with a static IPv6
# address). The NSI values are read back with hivexregedit first (the
# oracle of what the hive holds). The dry run and JSON list both; the image
# holds network.ps1 and the one firstboot.cmd, byte for byte as expected
# (the commands they run), and the RunOnce value read back with hivexget;
# with --vm-def --keep-mac and one wired NIC the Ethernet's settings go to
# the adapter with that MAC, with two NICs by name; with --drivers the
# driver step and the network step share the script; --network dhcp lists
# only (nothing staged, saved in plan files); Windows 7 lists only.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need sfdisk mkntfs ntfs-3g ntfscat ntfsfix hivexget hivexregedit jq python3
mk=$P2V_SRC/tests/lib/mkvirtio.sh
cd "$WORK"

MKVIRTIO_NET=1 bash "$mk" windisk pc.img win10link
MKVIRTIO_NET=1 bash "$mk" windisk pc7.img win7
bash "$mk" tree tree

part2() {
    local start size
    start=$(sfdisk -J "$1" | jq '.partitiontable.partitions[1].start')
    size=$(sfdisk -J "$1" | jq '.partitiontable.partitions[1].size')
    dd if="$1" of="$2" bs=512 skip="$start" count="$size" status=none
}
crlf() { sed 's/$/\r/'; }

# --- what the hive holds, read back with hivex: the NSI store's values
part2 pc.img src.img
ntfscat src.img /Windows/System32/config/SYSTEM >srcSYSTEM.hive
nsi='\ControlSet001\Control\Nsi\{eb004a01-9b1a-11d4-9123-0050047759bc}\10'
hivexregedit --export srcSYSTEM.hive "$nsi" >nsi.reg
check_eq "NSI values in the hive" 5 "$(grep -c '^"[0-9A-Fa-f]\{48\}"=hex(3):' nsi.reg)"
grep -q '^"000000090000060020010db8000a00000000000000000020"=hex(3):ff,ff,ff,ff,ff,ff,ff,ff,01,00,00,00,01,00,00,00,40,' nsi.reg ||
    fail "NSI value of 2001:db8:a::20/64 not as built: $(cat nsi.reg)"
check_eq "class key LUID index" 9 "$(hivexget srcSYSTEM.hive 'ControlSet001\Control\Class\{4D36E972-E325-11CE-BFC1-08002BE10318}\0001' NetLuidIndex)"

# --- the dry run and JSON
expect_exit 0 "$P2V" convert --dry-run pc.img:1 pc.img:2
for l in '  network (ControlSet001): static settings applied to the new adapters at first boot (Windows\p2v\network.ps1)' \
         '    Ethernet {3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}: static 192.168.10.20/24, 10.1.0.5/16; gateway 192.168.10.1; IPv6 2001:db8:a::20/64, 2001:db8:b::5/48; DNS 192.168.10.2, 192.168.10.3, 2001:db8::53; suffix corp.example' \
         '    Wi-Fi {8F0E2A44-51C3-4B7D-A2E9-0D6C3B5F7222}: DHCP; IPv6 2001:db8:c::7/64' \
         '    \Windows\p2v\network.ps1  <- (generated)'; do
    grep -qxF -- "$l" "$WORK/last.out" || fail "dry run lacks '$l': $(cat "$WORK/last.out")"
done
pass "dry run lists both interfaces and the staged script"
expect_exit 0 "$P2V" convert --dry-run --json pc.img:1 pc.img:2
check_eq "JSON network" \
    '[{"guid":"{3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}","name":"Ethernet","dhcp":false,"addresses":[{"address":"192.168.10.20","prefix":24},{"address":"10.1.0.5","prefix":16}],"addresses6":[{"address":"2001:db8:a::20","prefix":64},{"address":"2001:db8:b::5","prefix":48}],"gateways":["192.168.10.1"],"dns":["192.168.10.2","192.168.10.3","2001:db8::53"],"suffix":"corp.example","type":"ethernet","mac":null,"applied":true},{"guid":"{8F0E2A44-51C3-4B7D-A2E9-0D6C3B5F7222}","name":"Wi-Fi","dhcp":true,"addresses":[],"addresses6":[{"address":"2001:db8:c::7","prefix":64}],"gateways":[],"dns":[],"suffix":null,"type":"wifi","mac":null,"applied":true}]' \
    "$(jq -c '.windows_drivers[0].network' "$WORK/last.out")"

# --- what the image holds, byte for byte
crlf >net.ps1.expected <<'PS1'
# Written by p2v: the old PC's static network settings, given to the new
# adapters (run by firstboot.cmd; exit 1 asks for another try).
$ErrorActionPreference = 'Stop'
$fail = 0
$old = @('{3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}', '{8F0E2A44-51C3-4B7D-A2E9-0D6C3B5F7222}')
# The new adapters: physical, present, none of the old PC's; the driver may
# still be installing, so wait up to two minutes.
$new = @()
for ($i = 0; $i -lt 60; $i++) {
    $new = @(Get-NetAdapter -Physical | Where-Object { $old -notcontains $_.InterfaceGuid } | Sort-Object -Property ifIndex)
    if ($new.Count -ge 1) { break }
    Start-Sleep -Seconds 2
}
if ($new.Count -lt 1) { Write-Output 'p2v: no new network adapter'; exit 1 }
# The old PC's adapters, no longer present: their names and addresses go.
Get-PnpDevice -Class Net | Where-Object { -not $_.Present -and $_.InstanceId -match '^(PCI|USB)\\' } | ForEach-Object {
    Write-Output "p2v: removing the old adapter $($_.FriendlyName)"
    pnputil.exe /remove-device $_.InstanceId
}
# Which new adapter takes an old one's settings: the one with the MAC the VM
# definition gave it, else one called by the old name, else the next free one.
$used = @()
function Select-P2vAdapter([string]$Mac, [string]$Name) {
    $free = @($new | Where-Object { $script:used -notcontains $_.ifIndex })
    $pick = $null
    if ($Mac) { $pick = $free | Where-Object { $_.MacAddress -eq $Mac } | Select-Object -First 1 }
    if (-not $pick -and $Name) { $pick = $free | Where-Object { $_.Name -eq $Name } | Select-Object -First 1 }
    if (-not $pick) { $pick = $free | Select-Object -First 1 }
    if ($pick) { $script:used += $pick.ifIndex }
    return $pick
}
# Ethernet {3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}
$a = Select-P2vAdapter '' 'Ethernet'
if ($a) {
    try {
        if (-not (Get-NetAdapter -Name 'Ethernet' -ErrorAction SilentlyContinue)) { Rename-NetAdapter -Name $a.Name -NewName 'Ethernet' }
        Set-NetIPInterface -InterfaceIndex $a.ifIndex -AddressFamily IPv4 -Dhcp Disabled
        Get-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        Get-NetRoute -InterfaceIndex $a.ifIndex -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false
        New-NetIPAddress -InterfaceIndex $a.ifIndex -IPAddress '192.168.10.20' -PrefixLength 24 | Out-Null
        New-NetIPAddress -InterfaceIndex $a.ifIndex -IPAddress '10.1.0.5' -PrefixLength 16 | Out-Null
        New-NetRoute -InterfaceIndex $a.ifIndex -DestinationPrefix '0.0.0.0/0' -NextHop '192.168.10.1' | Out-Null
        Get-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -PrefixOrigin Manual -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        New-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -IPAddress '2001:db8:a::20' -PrefixLength 64 | Out-Null
        New-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -IPAddress '2001:db8:b::5' -PrefixLength 48 | Out-Null
        Set-DnsClientServerAddress -InterfaceIndex $a.ifIndex -ServerAddresses @('192.168.10.2', '192.168.10.3', '2001:db8::53')
        Set-DnsClient -InterfaceIndex $a.ifIndex -ConnectionSpecificSuffix 'corp.example'
        Write-Output "p2v: Ethernet: settings applied to $($a.Name) ($($a.MacAddress))"
    } catch {
        Write-Output "p2v: Ethernet: $_"
        $fail = 1
    }
} else {
    Write-Output 'p2v: no new adapter for Ethernet'
}
# Wi-Fi {8F0E2A44-51C3-4B7D-A2E9-0D6C3B5F7222}
$a = Select-P2vAdapter '' 'Wi-Fi'
if ($a) {
    try {
        if (-not (Get-NetAdapter -Name 'Wi-Fi' -ErrorAction SilentlyContinue)) { Rename-NetAdapter -Name $a.Name -NewName 'Wi-Fi' }
        Get-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -PrefixOrigin Manual -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false
        New-NetIPAddress -InterfaceIndex $a.ifIndex -AddressFamily IPv6 -IPAddress '2001:db8:c::7' -PrefixLength 64 | Out-Null
        Write-Output "p2v: Wi-Fi: settings applied to $($a.Name) ($($a.MacAddress))"
    } catch {
        Write-Output "p2v: Wi-Fi: $_"
        $fail = 1
    }
} else {
    Write-Output 'p2v: no new adapter for Wi-Fi'
}
exit $fail
PS1
crlf >firstboot.expected <<'CMD'
@echo off
rem Written by p2v: what the image needs at its first boot (drivers staged
rem offline, network settings), then remove the staging (this script
rem included). Started by RunOnce.
set LOG=%SystemRoot%\p2v-firstboot.log
echo p2v first boot %DATE% %TIME% >> "%LOG%"
echo p2v: the old PC's network settings >> "%LOG%"
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%SystemRoot%\p2v\network.ps1" >> "%LOG%" 2>&1
if errorlevel 1 goto retry
cd /d "%SystemRoot%"
(goto) 2>nul & rd /s /q "%SystemRoot%\p2v"
:retry
if exist "%SystemRoot%\p2v\try2" goto giveup
if exist "%SystemRoot%\p2v\try1" (type nul > "%SystemRoot%\p2v\try2") else (type nul > "%SystemRoot%\p2v\try1")
echo p2v: a step failed; trying again at the next logon >> "%LOG%"
reg add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce" /v p2v-drivers /t REG_EXPAND_SZ /d "cmd.exe /c \"%%SystemRoot%%\p2v\firstboot.cmd\"" /f >> "%LOG%" 2>&1
exit /b 1
:giveup
echo p2v: a step failed three times; giving up >> "%LOG%"
cd /d "%SystemRoot%"
(goto) 2>nul & rd /s /q "%SystemRoot%\p2v"
CMD
expect_exit 0 "$P2V" convert -O raw -o out.raw pc.img:1 pc.img:2
part2 out.raw w.img
ntfsfix -n w.img >fix.log 2>&1 || { cat fix.log; fail "ntfsfix -n"; }
cmp <(ntfscat w.img /Windows/p2v/network.ps1) net.ps1.expected || fail "network.ps1 differs"
pass "network.ps1 byte for byte"
cmp <(ntfscat w.img /Windows/p2v/firstboot.cmd) firstboot.expected || fail "firstboot.cmd differs"
pass "firstboot.cmd byte for byte"
ntfscat w.img /Windows/System32/config/SOFTWARE >SOFTWARE.hive
check_eq "RunOnce" 'cmd.exe /c "%SystemRoot%\p2v\firstboot.cmd"' \
    "$(hivexget SOFTWARE.hive 'Microsoft\Windows\CurrentVersion\RunOnce' p2v-drivers)"
# the old PC's settings stay as they were (Windows keeps them for the old GUIDs)
ntfscat w.img /Windows/System32/config/SYSTEM >SYSTEM.hive
check_eq "old interface kept" corp.example \
    "$(hivexget SYSTEM.hive 'ControlSet001\Services\Tcpip\Parameters\Interfaces\{3C1B6D2E-0A4F-4E55-9D61-7B2A90C4E111}' Domain)"

# --- --vm-def with --keep-mac: this machine's only wired NIC's MAC goes to the
# VM, and the Ethernet's settings to the adapter with it (the only change)
M=$WORK/machine
mkdir -p "$M/sys/class/net/eth0/device"
echo 52:54:00:aa:bb:01 >"$M/sys/class/net/eth0/address"
export P2V_MACHINE_ROOT=$M
expect_exit 0 "$P2V" convert -O raw -o outm.raw --vm-def libvirt --keep-mac --json pc.img:1 pc.img:2
check_eq "JSON mac" '"52:54:00:aa:bb:01"' "$(jq -c '.windows_drivers[0].network[0].mac' "$WORK/last.out")"
check_eq "JSON vm_definition mac" 52:54:00:aa:bb:01 "$(jq -r '.vm_definition.mac' "$WORK/last.out")"
part2 outm.raw wm.img
sed 's/^\$a = Select-P2vAdapter .. .Ethernet.\r$/$a = Select-P2vAdapter '"'52-54-00-AA-BB-01'"' '"'Ethernet'"'\r/' net.ps1.expected >netm.expected
check_eq "one line differs" 1 "$(diff net.ps1.expected netm.expected | grep -c '^>')"
cmp <(ntfscat wm.img /Windows/p2v/network.ps1) netm.expected || fail "network.ps1 with the MAC differs"
grep -q "<mac address='52:54:00:aa:bb:01'/>" outm.xml || fail "the VM definition lacks the MAC"
pass "the adapter with the VM's MAC takes the wired interface's settings"
# two wired NICs: which was the Windows' is unknown, so by name
mkdir -p "$M/sys/class/net/eth1/device"
echo 52:54:00:aa:bb:02 >"$M/sys/class/net/eth1/address"
expect_exit 0 "$P2V" convert -O raw -o outm2.raw --vm-def libvirt --keep-mac pc.img:1 pc.img:2
unset P2V_MACHINE_ROOT
part2 outm2.raw wm2.img
cmp <(ntfscat wm2.img /Windows/p2v/network.ps1) net.ps1.expected || fail "two NICs: network.ps1 differs"
pass "two wired NICs: by name"

# --- with virtio drivers: one script, the drivers first, then the network
expect_exit 0 "$P2V" convert -O raw -o outd.raw --drivers tree pc.img:1 pc.img:2
part2 outd.raw wd.img
ntfscat wd.img /Windows/p2v/firstboot.cmd | tr -d '\r' >fbd.txt
check_eq "firstboot.cmd steps in order" \
    'pnputil /add-driver "%SystemRoot%\p2v\drivers\*.inf" /subdirs /install >> "%LOG%" 2>&1|powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%SystemRoot%\p2v\network.ps1" >> "%LOG%" 2>&1' \
    "$(grep -E '^(pnputil|powershell)' fbd.txt | paste -sd'|')"
check_eq "one RunOnce script" 1 "$(grep -c '^set LOG=' fbd.txt)"
cmp <(ntfscat wd.img /Windows/p2v/network.ps1) net.ps1.expected || fail "network.ps1 with --drivers"

# --- --network dhcp: listed, nothing staged
expect_exit 0 "$P2V" convert --dry-run --network dhcp pc.img:1 pc.img:2
grep -qxF '  network (ControlSet001): --network dhcp: static settings listed only' "$WORK/last.out" ||
    fail "dhcp dry run: $(cat "$WORK/last.out")"
expect_exit 0 "$P2V" convert -O raw --network dhcp -o outh.raw pc.img:1 pc.img:2
part2 outh.raw wh.img
if ntfscat wh.img /Windows/p2v/network.ps1 >/dev/null 2>&1; then fail "--network dhcp staged network.ps1"; fi
ntfscat wh.img /Windows/System32/config/SOFTWARE >SOFTWAREh.hive
if hivexget SOFTWAREh.hive 'Microsoft\Windows\CurrentVersion\RunOnce' p2v-drivers >/dev/null 2>&1; then
    fail "--network dhcp: RunOnce set"
fi
pass "--network dhcp stages nothing"
expect_exit 0 "$P2V" convert --network dhcp --save-plan net.plan pc.img:1 pc.img:2
check_eq "plan network" dhcp "$(jq -r .options.network net.plan)"
expect_exit 0 "$P2V" convert --plan net.plan --dry-run --json
check_eq "plan: not applied" false "$(jq '.windows_drivers[0].network[0].applied' "$WORK/last.out")"
expect_exit 2 "$P2V" convert --network bogus --dry-run pc.img:2

# --- Windows 7: listed only
expect_exit 0 "$P2V" convert --dry-run pc7.img:1 pc7.img:2
grep -qxF '  network (ControlSet001): static settings not applied: Windows before 8 / Server 2012 has no NetTCPIP PowerShell module; set them by hand' \
    "$WORK/last.out" || fail "Windows 7 dry run: $(cat "$WORK/last.out")"
pass "Windows 7: listed, not applied"
