#!/usr/bin/env python3
"""Write the smallest valid Windows registry hive (regf) to a file, so that the
tests can fill it with hivex (hivexregedit --merge, hivexsh) instead of
shipping hives made elsewhere.

usage: blank_hive.py OUTPUT [ROOT_KEY_NAME]

Layout (FACTS.md, "A registry hive file"): a 4096-byte base block, then one
4096-byte hive bin holding the root key (nk), one security cell (sk) and a
free cell for the rest of the bin. All fields little-endian."""
import struct
import sys

BLOCK = 4096


def cell(payload):
    """An allocated cell: negative size (payload + 4, rounded up to 8)."""
    size = (len(payload) + 4 + 7) & ~7
    return struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))


def security_descriptor():
    """Self-relative SD: owner and group BUILTIN\\Administrators, DACL that
    grants Everyone full access. Enough for hivex and Windows' loaders."""
    admins = struct.pack("<BB6sII", 1, 2, b"\0\0\0\0\0\5", 32, 544)   # S-1-5-32-544
    everyone = struct.pack("<BB6sI", 1, 1, b"\0\0\0\0\0\1", 0)        # S-1-1-0
    ace = struct.pack("<BBHI", 0, 0, 8 + len(everyone), 0x000F003F) + everyone
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    hdr_len = 20
    off_owner = hdr_len
    off_group = off_owner + len(admins)
    off_dacl = off_group + len(admins)
    control = 0x8004  # self-relative, DACL present
    hdr = struct.pack("<BBHIIII", 1, 0, control, off_owner, off_group, 0, off_dacl)
    return hdr + admins + admins + acl


def build(root_name):
    name = root_name.encode("ascii")
    nk_len = 0x4C + len(name)
    nk_cell_size = (nk_len + 4 + 7) & ~7
    root_off = 0x20                      # first cell, after the 32-byte hbin header
    sk_off = root_off + nk_cell_size

    nk = bytearray(nk_len)
    nk[0:2] = b"nk"
    struct.pack_into("<H", nk, 2, 0x2C)  # hive entry | no delete | compressed name
    struct.pack_into("<Q", nk, 4, 0)     # last written
    struct.pack_into("<I", nk, 0x10, 0xFFFFFFFF)          # parent (none)
    struct.pack_into("<II", nk, 0x14, 0, 0)               # subkey counts
    struct.pack_into("<II", nk, 0x1C, 0xFFFFFFFF, 0xFFFFFFFF)  # subkey lists
    struct.pack_into("<I", nk, 0x24, 0)                   # value count
    struct.pack_into("<I", nk, 0x28, 0xFFFFFFFF)          # value list
    struct.pack_into("<I", nk, 0x2C, sk_off)              # security
    struct.pack_into("<I", nk, 0x30, 0xFFFFFFFF)          # class name
    struct.pack_into("<H", nk, 0x48, len(name))
    struct.pack_into("<H", nk, 0x4A, 0)
    nk[0x4C:] = name

    sd = security_descriptor()
    sk = struct.pack("<2sHIIII", b"sk", 0, sk_off, sk_off, 1, len(sd)) + sd

    cells = cell(bytes(nk)) + cell(sk)
    free = BLOCK - 0x20 - len(cells)
    hbin = bytearray(BLOCK)
    hbin[0:4] = b"hbin"
    struct.pack_into("<III", hbin, 4, 0, BLOCK, 0)
    hbin[0x20:0x20 + len(cells)] = cells
    struct.pack_into("<i", hbin, 0x20 + len(cells), free)

    base = bytearray(BLOCK)
    base[0:4] = b"regf"
    struct.pack_into("<II", base, 4, 1, 1)                # sequence numbers, equal
    struct.pack_into("<Q", base, 12, 0x01D0000000000000)  # FILETIME
    struct.pack_into("<IIII", base, 20, 1, 3, 0, 1)       # major, minor, type, format
    struct.pack_into("<II", base, 36, root_off, BLOCK)    # root cell, hive bins size
    struct.pack_into("<I", base, 44, 1)                   # clustering factor
    checksum = 0
    for i in range(127):
        checksum ^= struct.unpack_from("<I", base, i * 4)[0]
    struct.pack_into("<I", base, 0x1FC, checksum)
    return bytes(base) + bytes(hbin)


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    root = sys.argv[2] if len(sys.argv) == 3 else "ROOT"
    with open(sys.argv[1], "wb") as f:
        f.write(build(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
