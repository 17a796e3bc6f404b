#!/usr/bin/env python3
"""Damage a qcow2 image in one precise way, for the corruption tests.

usage: qcow2_poke.py IMAGE ACTION
actions:
  l1-copied        clear the COPIED bit of the first used L1 entry
  l1-misalign      point the first used L1 entry 512 bytes further (misaligned L2)
  l1-reserved      set a reserved bit in the first used L1 entry
  l2-copied        clear the COPIED bit of the first normal L2 entry
  l2-misalign      move the first normal L2 entry's offset by 512 bytes
  l2-dup           make the second normal L2 entry point at the first one's cluster
  l2-past-end      point the first normal L2 entry far past the end of the file
  ref-dec          set the stored refcount of the first data cluster to 0
  ref-inc          set the stored refcount of cluster 0 (header) to 2
  ref-leak         append an unused cluster with a stored refcount of 1
  truncate-half    cut the file to half its size
  huge-l1          set l1_size to 0x10000000 entries (2 GiB table)
  reftable-header  point the refcount table at offset 0 (the header)
  compressed-past-end  point the first compressed L2 entry past the end of the file
  version0         set the version field to 0 (an unfinished image)
"""
import struct
import sys


def be64(b, o):
    return struct.unpack_from(">Q", b, o)[0]


def main():
    path, action = sys.argv[1], sys.argv[2]
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        cbits = struct.unpack_from(">I", data, 20)[0]
        cs = 1 << cbits
        l1_size = struct.unpack_from(">I", data, 36)[0]
        l1_off = be64(data, 40)
        rt_off = be64(data, 48)

        def l1e(i):
            return be64(data, l1_off + 8 * i)

        def used_l1():
            for i in range(l1_size):
                if l1e(i) & 0x00fffffffffffe00:
                    return i
            raise SystemExit("no used L1 entry")

        def l2_entries(kind):
            out = []
            for i in range(l1_size):
                l2 = l1e(i) & 0x00fffffffffffe00
                if not l2:
                    continue
                for k in range(cs // 8):
                    o = l2 + 8 * k
                    e = be64(data, o)
                    comp = bool(e & (1 << 62))
                    if kind == "normal" and not comp and e & 0x00fffffffffffe00:
                        out.append(o)
                    if kind == "compressed" and comp:
                        out.append(o)
            return out

        def put64(o, v):
            struct.pack_into(">Q", data, o, v)

        def refblock0():
            return be64(data, rt_off) & ~0x1ff

        if action == "l1-copied":
            o = l1_off + 8 * used_l1()
            put64(o, be64(data, o) & ~(1 << 63))
        elif action == "l1-misalign":
            o = l1_off + 8 * used_l1()
            put64(o, be64(data, o) + 512)
        elif action == "l1-reserved":
            o = l1_off + 8 * used_l1()
            put64(o, be64(data, o) | (1 << 60))
        elif action == "l2-copied":
            o = l2_entries("normal")[0]
            put64(o, be64(data, o) & ~(1 << 63))
        elif action == "l2-misalign":
            o = l2_entries("normal")[0]
            put64(o, be64(data, o) + 512)
        elif action == "l2-dup":
            a, b = l2_entries("normal")[:2]
            put64(b, be64(data, a))
        elif action == "l2-past-end":
            o = l2_entries("normal")[0]
            put64(o, (1 << 63) | (len(data) + 1000 * cs))
        elif action in ("ref-dec", "ref-inc", "ref-leak"):
            rb = refblock0()
            if action == "ref-dec":
                c = (be64(data, l2_entries("normal")[0]) & 0x00fffffffffffe00) >> cbits
                struct.pack_into(">H", data, rb + 2 * c, 0)
            elif action == "ref-inc":
                struct.pack_into(">H", data, rb + 2 * 0, 2)
            else:
                data += bytes(-len(data) % cs)
                c = len(data) // cs
                data += bytes(cs)
                if 2 * c + 2 > cs:
                    raise SystemExit("first refblock is full")
                struct.pack_into(">H", data, rb + 2 * c, 1)
        elif action == "truncate-half":
            data = data[: len(data) // 2]
        elif action == "huge-l1":
            struct.pack_into(">I", data, 36, 0x10000000)
        elif action == "reftable-header":
            put64(48, 0)
        elif action == "compressed-past-end":
            o = l2_entries("compressed")[0]
            shift = 62 - (cbits - 8)
            e = be64(data, o)
            sectors = e & ~((1 << shift) - 1)
            put64(o, sectors | (len(data) + 4 * cs + 123))
        elif action == "version0":
            struct.pack_into(">I", data, 4, 0)
        else:
            raise SystemExit("unknown action " + action)
        f.seek(0)
        f.truncate(0)
        f.write(data)


if __name__ == "__main__":
    main()
