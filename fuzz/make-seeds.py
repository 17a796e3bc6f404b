#!/usr/bin/env python3
"""Write the small seed corpora of the partition-table fuzzers.

fuzz_mbr: whole tiny disks (an MBR with an extended partition and an EBR
chain; a protective MBR + GPT). fuzz_gpt: the same GPT disk from LBA 1 on
(the harness supplies LBA 0). Each seed is 16 KiB or less.
usage: fuzz/make-seeds.py   (writes fuzz/corpus/fuzz_mbr and fuzz/corpus/fuzz_gpt)
"""
import os
import struct
import uuid
import zlib

SS = 512
HERE = os.path.dirname(os.path.abspath(__file__))


def mbr_entry(status, ptype, lba, sectors):
    return struct.pack("<B3sB3sII", status, b"\xfe\xff\xff", ptype, b"\xfe\xff\xff", lba, sectors)


def mbr_disk():
    disk = bytearray(32 * SS)
    ents = mbr_entry(0x80, 0x07, 2, 4) + mbr_entry(0, 0x05, 8, 24)
    disk[446:446 + len(ents)] = ents
    disk[510:512] = b"\x55\xaa"
    # EBR chain: logical 5 at 9-12 (EBR 8), logical 6 at 15-20 (EBR 14).
    for ebr, start, size, nxt in ((8, 9, 4, 14), (14, 15, 6, None)):
        e = mbr_entry(0, 0x83, start - ebr, size)
        if nxt is not None:
            e += mbr_entry(0, 0x05, nxt - 8, 7)
        off = ebr * SS
        disk[off + 446:off + 446 + len(e)] = e
        disk[off + 510:off + 512] = b"\x55\xaa"
    return bytes(disk)


def gpt_header(my, alt, entries_lba, first, last, disk_guid, nent, ecrc):
    h = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, my, alt,
                              first, last, disk_guid, entries_lba, nent, 128, ecrc))
    struct.pack_into("<I", h, 16, zlib.crc32(bytes(h)))
    return bytes(h)


def gpt_disk():
    n = 16
    disk = bytearray(n * SS)
    disk[446:462] = mbr_entry(0, 0xEE, 1, n - 1)
    disk[510:512] = b"\x55\xaa"
    esp = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b").bytes_le
    lin = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4").bytes_le
    entries = bytearray(4 * 128)
    for i, (t, first, last, name) in enumerate(((esp, 3, 6, "EFI"), (lin, 7, 12, "linux"))):
        struct.pack_into("<16s16sQQQ", entries, i * 128, t,
                         uuid.UUID(int=i + 1).bytes_le, first, last, 0)
        enc = name.encode("utf-16-le")
        entries[i * 128 + 56:i * 128 + 56 + len(enc)] = enc
    ecrc = zlib.crc32(bytes(entries))
    g = uuid.UUID("11111111-2222-3333-4444-555555555555").bytes_le
    disk[SS:SS + 92] = gpt_header(1, n - 1, 2, 3, 13, g, 4, ecrc)
    disk[2 * SS:3 * SS] = entries
    disk[14 * SS:15 * SS] = entries
    disk[15 * SS:15 * SS + 92] = gpt_header(n - 1, 1, 14, 3, 13, g, 4, ecrc)
    return bytes(disk)


def write(name, fname, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def main():
    mbr, gpt = mbr_disk(), gpt_disk()
    write("fuzz_mbr", "mbr-ebr-chain", mbr)
    write("fuzz_mbr", "gpt-small", gpt)
    write("fuzz_gpt", "gpt-small-from-lba1", gpt[SS:])


if __name__ == "__main__":
    main()
