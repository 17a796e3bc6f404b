#!/usr/bin/env python3
"""Write VHD differencing disks for the tests (qemu-img makes none).

usage: mkvhd.py diff PARENT.vhd PARENT.raw CHILD.vhd EXPECTED.raw [--seed N]
           [--locator rel|abs|both|none] [--parent-name NAME] [--block-size B] [--light]
    CHILD is a differencing disk over PARENT (its footer's unique ID, its
    size); it holds, in a few blocks, a pattern of sectors (bitmap bits set)
    with new data. EXPECTED is PARENT.raw with those sectors replaced: what
    CHILD reads as. Locators: W2ru (relative ".\\NAME") and/or W2ku
    ("C:\\vms\\NAME"), NAME = PARENT's file name unless --parent-name.
    --light: one sector per block (small files for long chains).
"""
import os
import random
import struct
import sys
import uuid

SECTOR = 512


def checksum(buf, skip):
    return ~sum(b for i, b in enumerate(buf) if not skip <= i < skip + 4) & 0xffffffff


def footer(size, dtype, data_offset, uid):
    f = bytearray(512)
    struct.pack_into(">8sIIQI4sI4sQQIII16sB", f, 0, b"conectix", 2, 0x00010000, data_offset, 0,
                     b"p2vt", 0x00010000, b"Wi2k", size, size, 0, dtype, 0, uid, 0)
    struct.pack_into(">I", f, 64, checksum(f, 64))
    return bytes(f)


def dyn_header(table_off, entries, block, parent_uid, parent_name, locators):
    h = bytearray(1024)
    struct.pack_into(">8sQQIII", h, 0, b"cxsparse", 0xffffffffffffffff, table_off, 0x00010000,
                     entries, block)
    h[40:56] = parent_uid
    name = parent_name.encode("utf-16-be")[:512]
    h[64:64 + len(name)] = name
    for i, (code, space, length, off) in enumerate(locators):
        struct.pack_into(">IIIIQ", h, 576 + 24 * i, code, space, length, 0, off)
    struct.pack_into(">I", h, 36, checksum(h, 36))
    return bytes(h)


def parse_footer(path):
    with open(path, "rb") as f:
        f.seek(-512, 2)
        ft = f.read(512)
    assert ft[:8] == b"conectix", path
    return struct.unpack_from(">Q", ft, 48)[0], ft[68:84]


def diff(parent, parent_raw, child, expected, seed=1, locator="both", parent_name=None,
         block=2 << 20, light=False):
    size, puid = parse_footer(parent)
    name = parent_name or os.path.basename(parent)
    rng = random.Random(seed)
    want = expected != "-"  # "-": no expected image (long chains, fast)
    data = bytearray(open(parent_raw, "rb").read()) if want else bytearray()
    data += bytes(max(0, size - len(data)) if want else 0)
    nblocks = (size + block - 1) // block
    bitmap_size = (block // SECTOR // 8 + 511) // 512 * 512
    # Blocks 0, 2 and the last hold sectors: half of block 0, every third
    # sector of block 2, and a run near the end of the last; where, the seed
    # says (so that a child does not hide all of its parent).
    present = {}
    for b in sorted({0, 2 % nblocks, nblocks - 1}):
        secs = block // SECTOR
        if light:
            sel = range(b % 7, b % 7 + 1)
        elif b == 0:  # odd seeds the first half, even seeds the second
            sel = range(64, secs // 2) if seed % 2 else range(secs // 2, secs)
        elif b == nblocks - 1:  # (the partition tables at both ends stay)
            sel = range(secs - 120 - 40 * (seed % 2), secs - 80 - 40 * (seed % 2))
        else:
            sel = range(seed % 3, secs, 3)
        sel = [s for s in sel if b * block + s * SECTOR < size]
        present[b] = sel
    rel = (".\\" + name).encode("utf-16-le")
    absn = ("C:\\vms\\" + name).encode("utf-16-le")
    locs, blobs = [], []
    table_off = 512 + 1024
    bat_bytes = (nblocks * 4 + 511) // 512 * 512
    pos = table_off + bat_bytes
    for code, blob, kind in ((0x57327275, rel, "rel"), (0x57326B75, absn, "abs")):
        if locator in (kind, "both"):
            locs.append((code, 512, len(blob), pos))
            blobs.append((pos, blob))
            pos += 512
    bat = [0xffffffff] * nblocks
    blocks = []
    for b, sel in present.items():
        bat[b] = pos // SECTOR
        bm = bytearray(bitmap_size)
        for s in sel:
            bm[s // 8] |= 0x80 >> (s % 8)
            sec = rng.getrandbits(128).to_bytes(16, "little") * (SECTOR // 16)
            blocks.append((pos + bitmap_size + s * SECTOR, sec))
            off = b * block + s * SECTOR
            if want:
                data[off:off + SECTOR] = sec
        blocks.append((pos, bytes(bm)))
        pos += bitmap_size + block
    uid = uuid.UUID(int=rng.getrandbits(128)).bytes
    ft = footer(size, 4, 512, uid)
    with open(child, "wb") as f:
        f.write(ft)
        f.write(dyn_header(table_off, nblocks, block, puid, name, locs))
        f.write(b"".join(struct.pack(">I", e) for e in bat).ljust(bat_bytes, b"\xff"))
        for off, blob in blobs + blocks:
            f.seek(off)
            f.write(blob)
        f.seek(pos)
        f.write(ft)
    if want:
        with open(expected, "wb") as f:
            f.write(data[:size])


def main(argv):
    if len(argv) < 6 or argv[1] != "diff":
        sys.exit(__doc__)
    opts = {"seed": 1, "locator": "both", "parent_name": None, "block": 2 << 20, "light": False}
    rest = argv[6:]
    i = 0
    while i < len(rest):
        if rest[i] == "--light":
            opts["light"] = True
            i += 1
            continue
        k, v = rest[i], rest[i + 1]
        if k == "--seed":
            opts["seed"] = int(v)
        elif k == "--locator":
            opts["locator"] = v
        elif k == "--parent-name":
            opts["parent_name"] = v
        elif k == "--block-size":
            opts["block"] = int(v)
        else:
            sys.exit("unknown option " + k)
        i += 2
    diff(argv[2], argv[3], argv[4], argv[5], **opts)


if __name__ == "__main__":
    main(sys.argv)
