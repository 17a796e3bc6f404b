#!/usr/bin/env python3
"""Write VHDX files for the tests, field by field after [MS-VHDX] (qemu-img
makes neither differencing VHDX nor 4096-byte logical sectors).

usage: mkvhdx.py base RAW OUT [--lss 512|4096] [--block-size B]
       mkvhdx.py diff PARENT.vhdx PARENT.raw CHILD.vhdx EXPECTED.raw [--seed N]
                 [--locator rel|abs|both] [--parent-name NAME]
       mkvhdx.py log FILE          give FILE a log entry not yet applied
base: blocks with data are fully present, all-zero blocks alternately not
present and zero. diff: a child over PARENT (its data write GUID as
parent_linkage) with a few partially present blocks (sector bitmap) and one
fully present block; EXPECTED is what it reads as.
"""
import os
import random
import struct
import sys
import uuid

MIB = 1 << 20
BAT_G = "2dc27766-f623-4200-9d64-115e9bfd4a08"
META_G = "8b7ca206-4790-4b9a-b8fe-575f050f886e"
FP_G = "caa16737-fa36-4d43-b3b6-33f0aa44e76b"
VS_G = "2fa54224-cd1b-4876-b211-5dbed83bf4b8"
LSS_G = "8141bf1d-a96f-4709-ba47-f233a8faab5f"
PSS_G = "cda348c7-445d-4471-9cc9-e9885251c556"
ID_G = "beca12ab-b2e6-4523-93ef-c309e000c746"
PL_G = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c"
LOC_TYPE = "b04aefb7-d19e-4a81-b789-25b8e9445913"

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(b):
    c = 0xffffffff
    for x in b:
        c = _T[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


def g(s):
    return uuid.UUID(s).bytes_le


def with_crc(buf):
    buf = bytearray(buf)
    struct.pack_into("<I", buf, 4, 0)
    struct.pack_into("<I", buf, 4, crc32c(bytes(buf)))
    return bytes(buf)


def header(seq, dwg, log_guid=bytes(16)):
    h = bytearray(4096)
    struct.pack_into("<4sIQ16s16s16sHHIQ", h, 0, b"head", 0, seq, uuid.uuid4().bytes_le, dwg,
                     log_guid, 0, 1, MIB, MIB)
    return with_crc(h)


def region_table(bat_off, bat_len):
    r = bytearray(64 * 1024)
    struct.pack_into("<4sIII", r, 0, b"regi", 0, 2, 0)
    struct.pack_into("<16sQII", r, 16, g(BAT_G), bat_off, bat_len, 1)
    struct.pack_into("<16sQII", r, 48, g(META_G), 2 * MIB, MIB, 1)
    return with_crc(r)


def locator(parent_dwg, rel, absn):
    kv = [("parent_linkage", "{%s}" % uuid.UUID(bytes_le=parent_dwg))]
    if rel:
        kv.append(("relative_path", rel))
    if absn:
        kv.append(("absolute_win32_path", absn))
    head = bytearray(g(LOC_TYPE) + struct.pack("<HH", 0, len(kv)))
    ents, data = b"", b""
    base = 20 + 12 * len(kv)
    for k, v in kv:
        kb, vb = k.encode("utf-16-le"), v.encode("utf-16-le")
        ko = base + len(data)
        data += kb
        vo = base + len(data)
        data += vb
        ents += struct.pack("<IIHH", ko, vo, len(kb), len(vb))
    return bytes(head) + ents + data


def metadata(block, size, lss, has_parent, loc):
    m = bytearray(MIB)
    items = [(FP_G, struct.pack("<II", block, 2 if has_parent else 0), 4),
             (VS_G, struct.pack("<Q", size), 6), (LSS_G, struct.pack("<I", lss), 6),
             (PSS_G, struct.pack("<I", 4096), 6), (ID_G, uuid.uuid4().bytes_le, 6)]
    if has_parent:
        items.append((PL_G, loc, 6))
    struct.pack_into("<8sHH", m, 0, b"metadata", 0, len(items))
    off = 64 * 1024
    for i, (guid, val, flags) in enumerate(items):
        struct.pack_into("<16sIII", m, 32 + 32 * i, g(guid), off, len(val), flags)
        m[off:off + len(val)] = val
        off += (len(val) + 7) // 8 * 8
    return bytes(m)


def write(out, size, lss, block, dwg, bat, blobs, has_parent=False, loc=b""):
    bat_bytes = len(bat) * 8
    bat_len = (bat_bytes + MIB - 1) // MIB * MIB
    with open(out, "wb") as f:
        f.write(b"vhdxfile" + "p2v tests".encode("utf-16-le"))
        for off, blob in ((64 * 1024, header(1, dwg)), (128 * 1024, header(2, dwg)),
                          (192 * 1024, region_table(3 * MIB, bat_len)),
                          (256 * 1024, region_table(3 * MIB, bat_len)),
                          (2 * MIB, metadata(block, size, lss, has_parent, loc)),
                          (3 * MIB, b"".join(struct.pack("<Q", e) for e in bat))):
            f.seek(off)
            f.write(blob)
        end = 3 * MIB + bat_len
        for off, blob in blobs:
            f.seek(off)
            f.write(blob)
            end = max(end, off + len(blob))
        f.truncate((end + MIB - 1) // MIB * MIB)


def geometry(size, lss, block):
    chunk = (1 << 23) * lss // block
    nblk = (size + block - 1) // block
    return chunk, nblk


def base(raw, out, lss=512, block=2 * MIB):
    data = open(raw, "rb").read()
    size = len(data)
    chunk, nblk = geometry(size, lss, block)
    nbat = nblk + (nblk - 1) // chunk
    bat = [0] * nbat
    bat_len = (nbat * 8 + MIB - 1) // MIB * MIB
    pos, blobs = 3 * MIB + bat_len, []
    for b in range(nblk):
        piece = data[b * block:(b + 1) * block]
        i = b + b // chunk
        if piece.strip(b"\0"):
            bat[i] = 6 | (pos // MIB) << 20
            blobs.append((pos, piece))
            pos += block
        else:
            bat[i] = 2 if b % 2 else 0
    write(out, size, lss, block, uuid.uuid4().bytes_le, bat, blobs)


def read_info(path):
    with open(path, "rb") as f:
        hs = []
        for off in (64 * 1024, 128 * 1024):
            f.seek(off)
            hs.append(f.read(4096))
        h = max(hs, key=lambda x: struct.unpack_from("<Q", x, 8)[0])
        f.seek(2 * MIB)
        m = f.read(MIB)
    vals = {}
    for i in range(struct.unpack_from("<H", m, 10)[0]):
        gid, off, ln = struct.unpack_from("<16sII", m, 32 + 32 * i)
        vals[str(uuid.UUID(bytes_le=gid))] = m[off:off + ln]
    return (h[32:48], struct.unpack("<Q", vals[VS_G])[0], struct.unpack("<I", vals[LSS_G])[0],
            struct.unpack_from("<I", vals[FP_G])[0])


def diff(parent, parent_raw, child, expected, seed=1, locator_kind="both", parent_name=None):
    pdwg, size, lss, block = read_info(parent)
    rng = random.Random(seed)
    data = bytearray(open(parent_raw, "rb").read())
    chunk, nblk = geometry(size, lss, block)
    nsb = (nblk + chunk - 1) // chunk
    bat = [0] * (nsb * (chunk + 1))
    spb = block // lss
    name = parent_name or os.path.basename(parent)
    loc = locator(pdwg, ".\\" + name if locator_kind in ("rel", "both") else None,
                  "D:\\vms\\" + name if locator_kind in ("abs", "both") else None)
    bat_len = (len(bat) * 8 + MIB - 1) // MIB * MIB
    pos, blobs = 3 * MIB + bat_len, []
    bitmaps = {}
    # partially present: block 1 (every other sector from the seed on) and
    # the block before the last (a run); fully present: block 2.
    for b, kind in ((1, "odd"), (2, "full"), (nblk - 2, "run")):
        if b < 0 or b >= nblk:
            continue
        if kind == "odd":
            sel = range(seed % 2, spb, 2)
        elif kind == "run":
            sel = range(spb // 4, spb // 2)
        else:
            sel = range(spb)
        blk = bytearray(block)
        if kind != "full":
            blk[:] = data[b * block:(b + 1) * block].ljust(block, b"\0")
        for s in sel:
            sec = rng.getrandbits(128).to_bytes(16, "little") * (lss // 16)
            blk[s * lss:(s + 1) * lss] = sec
            off = b * block + s * lss
            if off < size:
                data[off:off + lss] = sec
            if kind != "full":
                c = b // chunk
                bm = bitmaps.setdefault(c, bytearray(MIB))
                bit = (b % chunk) * spb + s
                bm[bit // 8] |= 1 << (bit % 8)
        bat[b + b // chunk] = (6 if kind == "full" else 7) | (pos // MIB) << 20
        blobs.append((pos, bytes(blk)))
        pos += block
    for c, bm in bitmaps.items():
        bat[c * (chunk + 1) + chunk] = 6 | (pos // MIB) << 20
        blobs.append((pos, bytes(bm)))
        pos += MIB
    write(child, size, lss, block, uuid.UUID(int=rng.getrandbits(128)).bytes_le, bat, blobs,
          True, loc)
    with open(expected, "wb") as f:
        f.write(data[:size])


def add_log(path):
    f = bytearray(open(path, "rb").read())
    lg = uuid.uuid4().bytes_le
    for off, seq in ((64 * 1024, 3), (128 * 1024, 4)):
        h = bytearray(f[off:off + 4096])
        struct.pack_into("<Q", h, 8, seq)
        h[48:64] = lg
        f[off:off + 4096] = with_crc(h)
    e = bytearray(4096)
    struct.pack_into("<4sIIIQII16sQQ", e, 0, b"loge", 0, 4096, 0, 1, 0, 0, lg, len(f), len(f))
    f[MIB:MIB + 4096] = with_crc(e)
    open(path, "wb").write(f)


def main(a):
    opts = {}
    pos = []
    i = 2
    while i < len(a):
        if a[i].startswith("--"):
            opts[a[i][2:].replace("-", "_")] = a[i + 1]
            i += 2
        else:
            pos.append(a[i])
            i += 1
    if len(a) > 1 and a[1] == "base" and len(pos) == 2:
        base(pos[0], pos[1], int(opts.get("lss", 512)), int(opts.get("block_size", 2 * MIB)))
    elif len(a) > 1 and a[1] == "diff" and len(pos) == 4:
        diff(*pos, seed=int(opts.get("seed", 1)), locator_kind=opts.get("locator", "both"),
             parent_name=opts.get("parent_name"))
    elif len(a) > 1 and a[1] == "log" and len(pos) == 1:
        add_log(pos[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
