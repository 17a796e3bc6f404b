#!/usr/bin/env python3
"""Write the seed corpora of fuzz_vhdx (and fuzz_vmdk): small images made by
qemu-img and tests/lib/mkvhdx.py, stored as sparse inputs (the format of
fuzz/sparse_input.h: only the non-zero 4 KiB chunks), so that a 4 MiB VHDX
is a seed of a few tens of KiB.
usage: fuzz/make-vdisk-seeds.py   (needs qemu-img; writes fuzz/corpus/fuzz_vhdx, fuzz_vmdk)
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHUNK = 4096


def sparse(path, data_from=None):
    """The sparse input of a file; past data_from, only the first chunk of
    each MiB is kept (block data and bitmaps: their start is enough)."""
    data = open(path, "rb").read()
    data += bytes(-len(data) % CHUNK)
    out = [struct.pack("<I", len(data) // CHUNK)]
    for i in range(len(data) // CHUNK):
        c = data[i * CHUNK:(i + 1) * CHUNK]
        if data_from is not None and i * CHUNK >= data_from and i * CHUNK % (1 << 20):
            continue
        if c.strip(b"\0"):
            out.append(struct.pack("<I", i) + c)
    return b"".join(out)


def raw_disk(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
        for off, byte in ((0, 1), (size // 2 + 4096, 2), (size - 512, 3)):
            f.seek(off)
            f.write(bytes([byte]) * 512)


def main():
    out = os.path.join(HERE, "corpus", "fuzz_vhdx")
    os.makedirs(out, exist_ok=True)
    mk = os.path.join(ROOT, "tests", "lib", "mkvhdx.py")
    with tempfile.TemporaryDirectory() as t:
        raw = os.path.join(t, "d.raw")
        raw_disk(raw, 3 << 20)
        seeds = {}
        for name, opts in (("qemu-1m", ["-o", "block_size=1M"]),
                           ("qemu-fixed", ["-o", "subformat=fixed,block_size=1M"])):
            img = os.path.join(t, name)
            subprocess.run(["qemu-img", "convert", "-O", "vhdx"] + opts + [raw, img], check=True)
            seeds[name] = img
        base = os.path.join(t, "base.vhdx")
        subprocess.run([sys.executable, mk, "base", raw, base, "--block-size", "1048576"],
                       check=True)
        b4 = os.path.join(t, "b4.vhdx")
        subprocess.run([sys.executable, mk, "base", raw, b4, "--lss", "4096", "--block-size",
                        "1048576"], check=True)
        child = os.path.join(t, "child.vhdx")
        subprocess.run([sys.executable, mk, "diff", base, raw, child, os.path.join(t, "c.raw")],
                       check=True)
        seeds.update({"mkvhdx-base": base, "mkvhdx-4k": b4, "mkvhdx-diff": child})
        for name, img in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(sparse(img, data_from=4 << 20))
        vmdk_seeds(t, raw)


DESCRIPTOR = """# Disk DescriptorFile
version=1
CID=12345678
parentCID=87654321
createType="monolithicFlat"
parentFileNameHint="p.vmdk"

RW 2048 FLAT "x-flat.vmdk" 1
RW 2048 ZERO
RW 2048 SPARSE "x-s001.vmdk"
"""


def vmdk_seeds(t, raw):
    """fuzz_vmdk: the sparse subformats qemu-img writes (a 3 MiB disk), and a
    descriptor with a flat, a zero and a sparse extent and a parent (each of
    which the harness opens as the descriptor itself)."""
    out = os.path.join(HERE, "corpus", "fuzz_vmdk")
    os.makedirs(out, exist_ok=True)
    for sf in ("monolithicSparse", "streamOptimized"):
        img = os.path.join(t, sf + ".vmdk")
        subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=" + sf, raw, img],
                       check=True)
        with open(os.path.join(out, sf), "wb") as f:
            f.write(sparse(img))
    desc = os.path.join(t, "desc.vmdk")
    with open(desc, "w") as f:
        f.write(DESCRIPTOR)
    with open(os.path.join(out, "descriptor"), "wb") as f:
        f.write(sparse(desc))


if __name__ == "__main__":
    main()
