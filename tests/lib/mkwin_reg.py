#!/usr/bin/env python3
"""Registry contents of a synthetic Windows, as .reg text for
`hivexregedit --merge` onto a hive made by blank_hive.py (parents are
written before their children, as hivexregedit needs).

usage:
  mkwin_reg.py bcd --style mbr|gpt --disk ID --boot PART --os PART
                   --recovery PART [--firmware efi|bios] [--no-fwvar]
  mkwin_reg.py system --mounted NAME=PART[,NAME=PART...] [--style mbr|gpt]
                   [--disk ID] [--arch AMD64] [--computername NAME]
  mkwin_reg.py software [--product NAME] [--build N]
  mkwin_reg.py template
  mkwin_reg.py reagent --style mbr|gpt --disk ID --recovery OFFSET

ID: MBR disk signature (0x...) or GPT disk GUID. PART: MBR byte offset or
GPT partition GUID, optionally as [mbr:|gpt:][ID@]PART to give that one
reference its own style and disk (a partition left on another disk). The BCD holds {bootmgr}, a Windows OS loader, its resume
loader, a WinRE loader on a ramdisk (the .wim on the recovery partition) and
the ramdisk's device options, encoded as docs/windows.md describes. With
--firmware efi and --style gpt, {bootmgr} carries a FirmwareVariable value
(unless --no-fwvar). Output is deterministic: the same arguments give the
same bytes, so a store built with the new identities is the byte-for-byte
expectation of a rewritten one."""
import argparse
import struct
import sys
import uuid

BOOTMGR = "{9dea862c-5cdd-4e70-acc1-f32b344d4795}"
OSLOADER = "{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0001}"
RESUME = "{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0002}"
WINRE = "{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0003}"
RAMOPTS = "{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0004}"


def guid_bytes(g):
    return uuid.UUID(g.strip("{}")).bytes_le


def part_block(style, disk, part):
    """The 0x48-byte partition device block."""
    if style == "gpt":
        pid, did, st = guid_bytes(part), guid_bytes(disk), 0
    else:
        pid = struct.pack("<Q", int(part, 0)) + bytes(8)
        did = struct.pack("<I", int(disk, 0)) + bytes(12)
        st = 1
    return struct.pack("<IIII", 6, 0, 0x48, 0) + pid + struct.pack("<II", 0, st) + did + bytes(16)


def spec(style, disk, part):
    """[mbr:|gpt:][ID@]PART -> (style, disk, part)"""
    for s in ("mbr", "gpt"):
        if part.startswith(s + ":"):
            style, part = s, part[4:]
    if "@" in part:
        disk, part = part.split("@", 1)
    return style, disk, part


def device(style, disk, part):
    return bytes(16) + part_block(*spec(style, disk, part))


def ramdisk(style, disk, part, path, opts, local_len=24):
    """A ramdisk device: header, the local part (u32 3 = ramdisk, then image
    base u64, size u64, offset u32: 24 bytes packed as Windows writes it, so
    the container starts at 0x34 of the block as DiscUtils reads it;
    local_len=32 gives the padded form p2v's earlier stores had), then the
    image record: u32 1, u32 length, u32 5, the container's partition
    block, the path in UTF-16 with its NUL."""
    p = (path + "\0").encode("utf-16-le")
    rec = part_block(*spec(style, disk, part))
    rec = struct.pack("<III", 1, 12 + len(rec) + len(p), 5) + rec + p
    local = struct.pack("<I", 3) + bytes(local_len - 4)
    outer = struct.pack("<IIII", 0, 1, 16 + len(local) + len(rec), 0) + local + rec
    return guid_bytes(opts) + outer


def hexval(b):
    return "hex:" + ",".join("%02x" % x for x in b)


def regstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Reg:
    def __init__(self):
        self.out = ["Windows Registry Editor Version 5.00", ""]
        self.made = set()

    def key(self, path, values=()):
        parts = path.strip("\\").split("\\")
        for i in range(1, len(parts)):
            self._key("\\".join(parts[:i]), ())
        self._key(path.strip("\\"), values)

    def _key(self, path, values):
        if path in self.made and not values:
            return
        self.made.add(path)
        self.out.append("[\\%s]" % path)
        for name, val in values:
            self.out.append("%s=%s" % (regstr(name), val))
        self.out.append("")

    def text(self):
        return "\n".join(self.out) + "\n"


def bcd_object(reg, guid, otype, elements):
    reg.key("Objects\\%s\\Description" % guid, [("Type", "dword:%08x" % otype)])
    for el, val in elements:
        reg.key("Objects\\%s\\Elements\\%s" % (guid, el), [("Element", val)])


def objlist(*guids):
    return hexval(("".join(g + "\0" for g in guids) + "\0").encode("utf-16-le")).replace(
        "hex:", "hex(7):")


def bcd(a):
    reg = Reg()
    efi = a.firmware == "efi"
    ext = "efi" if efi else "exe"
    dev = lambda p: hexval(device(a.style, a.disk, p))
    bm = [("11000001", dev(a.boot)), ("12000004", regstr("Windows Boot Manager")),
          ("23000003", regstr(OSLOADER)), ("24000001", objlist(OSLOADER)),
          ("25000004", "hex(b):1e,00,00,00,00,00,00,00")]
    if efi:
        bm.append(("12000002", regstr("\\EFI\\Microsoft\\Boot\\bootmgfw.efi")))
    bcd_object(reg, BOOTMGR, 0x10100002, bm)
    if efi and a.style == "gpt" and not a.no_fwvar:
        reg.key("Objects\\%s\\Description" % BOOTMGR,
                [("Type", "dword:10100002"),
                 ("FirmwareVariable", hexval(b"\x01\x00\x00\x00HD-node-of-old-disk" + guid_bytes(spec(a.style, a.disk, a.boot)[2])))])
    bcd_object(reg, OSLOADER, 0x10200003, [
        ("11000001", dev(a.os)), ("12000002", regstr("\\Windows\\system32\\winload." + ext)),
        ("12000004", regstr("Windows 10")), ("21000001", dev(a.os)),
        ("22000002", regstr("\\Windows")), ("23000003", regstr(RESUME)),
        ("24000010", objlist(WINRE))])
    bcd_object(reg, RESUME, 0x10200004, [
        ("11000001", dev(a.os)), ("12000002", regstr("\\Windows\\system32\\winresume." + ext)),
        ("12000004", regstr("Windows Resume Application")), ("21000001", dev(a.os)),
        ("22000002", regstr("\\hiberfil.sys"))])
    wim = "\\Recovery\\WindowsRE\\Winre.wim"
    rd = hexval(ramdisk(a.style, a.disk, a.recovery, wim, RAMOPTS))
    bcd_object(reg, WINRE, 0x10200003, [
        ("11000001", rd), ("12000002", regstr("\\windows\\system32\\winload." + ext)),
        ("12000004", regstr("Windows Recovery Environment")), ("21000001", rd),
        ("22000002", regstr("\\windows"))])
    bcd_object(reg, RAMOPTS, 0x30000000, [
        ("12000004", regstr("Windows Recovery")), ("31000003", dev(a.recovery)),
        ("32000004", regstr("\\Recovery\\WindowsRE\\boot.sdi"))])
    return reg.text()


GLOBALSETTINGS = "{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}"
BOOTLOADERSETTINGS = "{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}"
BADMEMORY = "{5189b25c-5558-4bf2-bca4-289b11bd29e2}"


def template(a):
    """A BCD-Template: the inheritable objects bcdboot copies into a new
    store ({globalsettings}, {bootloadersettings}, {badmemory})."""
    reg = Reg()
    bcd_object(reg, GLOBALSETTINGS, 0x10100000, [
        ("12000004", regstr("Global Settings")), ("12000005", regstr("en-US")),
        ("14000006", objlist(BADMEMORY))])
    bcd_object(reg, BOOTLOADERSETTINGS, 0x20200003, [
        ("12000004", regstr("Boot Loader Settings")), ("14000006", objlist(GLOBALSETTINGS))])
    bcd_object(reg, BADMEMORY, 0x20100000, [("12000004", regstr("Bad memory"))])
    return reg.text()


def reagent_text(style, disk, offset):
    """WinRE's ReAgent.xml as reagentc writes it (UTF-8 with a BOM, CRLF):
    WinreLocation on the partition at byte OFFSET of the disk (MBR: id =
    the signature in decimal, guid zero; GPT: id 0, guid = the disk GUID)."""
    if style == "gpt":
        ident, guid = "0", "{%s}" % disk.strip("{}").lower()
    else:
        ident, guid = str(int(disk, 0)), "{00000000-0000-0000-0000-000000000000}"
    zero = 'id="0" offset="0" guid="{00000000-0000-0000-0000-000000000000}"'
    lines = [
        "<?xml version='1.0' encoding='utf-8'?>", "",
        '<WindowsRE version="2.0">',
        '  <WinreBCD id="%s"/>' % WINRE,
        '  <WinreLocation path="\\Recovery\\WindowsRE" id="%s" offset="%d" guid="%s"/>'
        % (ident, int(offset), guid),
        '  <ImageLocation path="" %s/>' % zero,
        '  <PBRImageLocation path="" %s index="0"/>' % zero,
        '  <InstallState state="1"/>',
        '  <IsAutoRepairOn state="1"/>',
        "</WindowsRE>", ""]
    return ("\ufeff" + "\r\n".join(lines)).encode("utf-8")


def md_value(style, disk, part):
    style, disk, part = spec(style, disk, part)
    if style == "gpt":
        return b"DMIO:ID:" + guid_bytes(part)
    return struct.pack("<IQ", int(disk, 0), int(part, 0))


def system(a):
    reg = Reg()
    reg.key("Select", [("Current", "dword:00000001"), ("Default", "dword:00000001")])
    reg.key("ControlSet001\\Control\\Session Manager\\Environment",
            [("PROCESSOR_ARCHITECTURE", regstr(a.arch))])
    vals = []
    for item in a.mounted.split(","):
        name, part = item.split("=", 1)
        vals.append((name, hexval(md_value(a.style, a.disk, part))))
    # A CD-ROM named by its device path: neither form, left alone.
    vals.append(("\\DosDevices\\Z:", hexval("\\??\\IDE#CdRomQEMU#1&0".encode("utf-16-le"))))
    reg.key("MountedDevices", vals)
    if a.computername is not None:
        reg.key("ControlSet001\\Control\\ComputerName\\ComputerName",
                [("ComputerName", regstr(a.computername))])
    return reg.text()


def software(a):
    reg = Reg()
    reg.key("Microsoft\\Windows NT\\CurrentVersion",
            [("ProductName", regstr(a.product)), ("CurrentBuild", regstr(a.build)),
             ("CurrentBuildNumber", regstr(a.build)), ("InstallationType", regstr("Client"))])
    return reg.text()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["bcd", "system", "software", "template", "reagent"])
    p.add_argument("--style", default="mbr", choices=["mbr", "gpt"])
    p.add_argument("--disk", default="0x0")
    p.add_argument("--boot")
    p.add_argument("--os")
    p.add_argument("--recovery")
    p.add_argument("--firmware", default="bios", choices=["bios", "efi"])
    p.add_argument("--no-fwvar", action="store_true")
    p.add_argument("--mounted", default="")
    p.add_argument("--arch", default="AMD64")
    p.add_argument("--computername")
    p.add_argument("--product", default="Windows 10 Pro")
    p.add_argument("--build", default="19045")
    a = p.parse_args()
    if a.what == "reagent":
        sys.stdout.buffer.write(reagent_text(a.style, a.disk, a.recovery))
        return
    sys.stdout.write({"bcd": bcd, "system": system, "software": software,
                      "template": template}[a.what](a))


if __name__ == "__main__":
    main()
