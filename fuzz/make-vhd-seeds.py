#!/usr/bin/env python3
"""Write the seed corpus of fuzz_vhd: tiny VHDs with 4 KiB blocks.

dynamic: 8 blocks, blocks 1 and 5 allocated; differencing: the same with a
bitmap that sends half the sectors to the parent (W2ru and W2ku locators);
fixed: 4 KiB of data and the footer (the reader's parent case).
usage: fuzz/make-vhd-seeds.py   (writes fuzz/corpus/fuzz_vhd)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 4096


def csum(buf, at):
    return ~sum(b for i, b in enumerate(buf) if not at <= i < at + 4) & 0xffffffff


def footer(size, dtype, data_offset):
    f = bytearray(512)
    struct.pack_into(">8sIIQI4sI4sQQIII", f, 0, b"conectix", 2, 0x10000, data_offset, 0,
                     b"p2vt", 0x10000, b"Wi2k", size, size, 0, dtype, 0)
    f[68:84] = bytes(range(16))
    struct.pack_into(">I", f, 64, csum(f, 64))
    return bytes(f)


def dynamic(dtype):
    nblocks, size = 8, 8 * BLOCK
    h = bytearray(1024)
    struct.pack_into(">8sQQIII", h, 0, b"cxsparse", 2**64 - 1, 1536, 0x10000, nblocks, BLOCK)
    h[40:56] = bytes(range(16))
    locs = []
    if dtype == 4:
        for i, (code, name) in enumerate(((0x57327275, ".\\p.vhd"), (0x57326B75, "C:\\v\\p.vhd"))):
            struct.pack_into(">IIIIQ", h, 576 + 24 * i, code, 512, len(name) * 2, 0, 2048 + 512 * i)
            locs.append((2048 + 512 * i, name.encode("utf-16-le")))
    struct.pack_into(">I", h, 36, csum(h, 36))
    bat = [0xffffffff] * nblocks
    body = bytearray(3072)
    for b, blk in ((1, 0), (5, 1)):
        bat[b] = (3072 + blk * (512 + BLOCK)) // 512
        bm = bytes([0xF0]) if dtype == 4 else bytes([0xFF])
        body += bm.ljust(512, b"\0") + bytes([b + 1]) * BLOCK
    img = bytearray(footer(size, dtype, 512)) + h + b"".join(struct.pack(">I", e) for e in bat)
    img += bytes(3072 - len(img))
    for off, blob in locs:
        img[off:off + len(blob)] = blob
    img += body[3072:]
    return bytes(img) + footer(size, dtype, 512)


def main():
    out = os.path.join(HERE, "corpus", "fuzz_vhd")
    os.makedirs(out, exist_ok=True)
    seeds = {"dynamic": dynamic(3), "differencing": dynamic(4),
             "fixed": bytes([7]) * BLOCK + footer(BLOCK, 2, 2**64 - 1)}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
