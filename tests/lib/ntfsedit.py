#!/usr/bin/env python3
"""Edits of an NTFS volume image that the refusal tests need and no ntfs-3g
tool makes (test code, written from the on-disk format, no libntfs-3g):

  ntfsedit.py badclus IMG LCN
      list cluster LCN in $BadClus:$Bad (as chkdsk /b does: the cluster
      becomes an allocated run of the otherwise sparse attribute, and is
      marked in use in $Bitmap)
  ntfsedit.py mft-far IMG CLUSTERS [FRAG_BELOW]
      move $MFT to the end of the volume, CLUSTERS clusters allocated (the
      records it holds copied to their start, the rest unused); with
      FRAG_BELOW, mark every other free cluster below that LCN in use, so
      that the free space there is single clusters
  ntfsedit.py bitmap-clear IMG NAME
      mark the clusters of the unnamed $DATA of the file called NAME free in
      $Bitmap, and nothing else (what a crash or a broken tool may leave,
      and chkdsk /f repairs); prints each cleared run as LCN+COUNT
  ntfsedit.py info IMG
      the cluster size, cluster count and $MFT's runs, one per line

Records are read and written with their update sequence fixups (512-byte
strides); records 0-3 are mirrored into $MFTMirr; the boot sector and its
backup (sector number_of_sectors) get the new $MFT LCN.
"""
import struct
import sys

FIXUP_STRIDE = 512
AT_DATA = 0x80
AT_END = 0xFFFFFFFF


def signed_len(v):
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return n


def encode_runs(runs):
    """[(lcn or None for a hole, length)] -> mapping pairs."""
    out, prev = bytearray(), 0
    for lcn, length in runs:
        ls = signed_len(length)
        body = length.to_bytes(ls, "little", signed=True)
        if lcn is None:
            out += bytes([ls]) + body
            continue
        d = lcn - prev
        os_ = signed_len(d)
        out += bytes([ls | os_ << 4]) + body + d.to_bytes(os_, "little", signed=True)
        prev = lcn
    return bytes(out + b"\0")


class Attr:
    def __init__(self, rec, off):
        self.rec, self.off = rec, off
        (self.type, self.length, self.nonres, self.name_len, self.name_off) = struct.unpack_from(
            "<IIBBH", rec, off)

    @property
    def name(self):
        o = self.off + self.name_off
        return self.rec[o:o + 2 * self.name_len].decode("utf-16-le")

    def runs(self):
        rec, off = self.rec, self.off
        mp = struct.unpack_from("<H", rec, off + 0x20)[0]
        o, lcn, runs = off + mp, 0, []
        while rec[o]:
            ls, os_ = rec[o] & 15, rec[o] >> 4
            length = int.from_bytes(rec[o + 1:o + 1 + ls], "little", signed=True)
            if os_:
                lcn += int.from_bytes(rec[o + 1 + ls:o + 1 + ls + os_], "little", signed=True)
                runs.append((lcn, length))
            else:
                runs.append((None, length))
            o += 1 + ls + os_
        return runs

    def set_runs(self, runs, cluster=None):
        """New mapping pairs, the attribute record resized in its MFT record;
        highest VCN (and with cluster, the allocated size) to match."""
        rec, off = self.rec, self.off
        mp = struct.unpack_from("<H", rec, off + 0x20)[0]
        enc = encode_runs(runs)
        new_len = (mp + len(enc) + 7) & ~7
        used, alloc = struct.unpack_from("<II", rec, 0x18)
        delta = new_len - self.length
        if used + delta > alloc:
            raise SystemExit("ntfsedit: the new runlist does not fit in the MFT record")
        tail = bytes(rec[off + self.length:used])
        rec[off + new_len:off + new_len + len(tail)] = tail
        if delta < 0:
            rec[used + delta:used] = bytes(-delta)
        rec[off + mp:off + new_len] = enc + bytes(new_len - mp - len(enc))
        struct.pack_into("<I", rec, off + 4, new_len)
        struct.pack_into("<I", rec, 0x18, used + delta)
        total = sum(n for _, n in runs)
        struct.pack_into("<q", rec, off + 0x18, total - 1)
        if cluster:
            struct.pack_into("<q", rec, off + 0x28, total * cluster)
        self.length = new_len


def attrs(rec):
    off = struct.unpack_from("<H", rec, 0x14)[0]
    while off + 8 <= len(rec):
        a = Attr(rec, off)
        if a.type == AT_END or a.length == 0:
            return
        yield a
        off += a.length


def find_attr(rec, atype, name=""):
    for a in attrs(rec):
        if a.type == atype and a.name == name:
            return a
    raise SystemExit("ntfsedit: attribute 0x%x '%s' not found" % (atype, name))


def unfix(rec):
    usa, cnt = struct.unpack_from("<HH", rec, 4)
    for i in range(1, cnt):
        end = i * FIXUP_STRIDE - 2
        rec[end:end + 2] = rec[usa + 2 * i:usa + 2 * i + 2]
    return rec


def fix(rec):
    rec = bytearray(rec)
    usa, cnt = struct.unpack_from("<HH", rec, 4)
    usn = (struct.unpack_from("<H", rec, usa)[0] + 1) & 0xFFFF or 1
    struct.pack_into("<H", rec, usa, usn)
    for i in range(1, cnt):
        end = i * FIXUP_STRIDE - 2
        rec[usa + 2 * i:usa + 2 * i + 2] = rec[end:end + 2]
        struct.pack_into("<H", rec, end, usn)
    return bytes(rec)


class Vol:
    def __init__(self, path):
        self.f = open(path, "r+b")
        bs = self.pread(0, 512)
        self.bps, spc = struct.unpack_from("<HB", bs, 11)
        self.cs = self.bps * spc
        self.sectors = struct.unpack_from("<q", bs, 0x28)[0]
        self.nr = self.sectors // spc
        self.mft_lcn, self.mirr_lcn = struct.unpack_from("<qq", bs, 0x30)
        r = struct.unpack_from("<b", bs, 0x40)[0]
        self.rsz = r * self.cs if r > 0 else 1 << -r
        self.mft_runs = [(self.mft_lcn, 1 << 40)]   # enough to read record 0
        self.mft_runs = find_attr(self.record(0), AT_DATA).runs()

    def pread(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def pwrite(self, off, data):
        self.f.seek(off)
        self.f.write(data)

    def byte_of(self, runs, pos):
        """Volume byte offset of byte pos of an attribute with these runs."""
        vcn, within = divmod(pos, self.cs)
        for lcn, n in runs:
            if vcn < n:
                if lcn is None:
                    raise SystemExit("ntfsedit: byte %d lies in a hole" % pos)
                return (lcn + vcn) * self.cs + within
            vcn -= n
        raise SystemExit("ntfsedit: byte %d is past the runlist" % pos)

    def attr_read(self, runs, n):
        return b"".join(self.pread(self.byte_of(runs, p), min(self.cs, n - p))
                        for p in range(0, n, self.cs))

    def attr_write(self, runs, data):
        for p in range(0, len(data), self.cs):
            self.pwrite(self.byte_of(runs, p), data[p:p + self.cs])

    def record(self, n):
        """MFT record n, fixups undone (read in 512-byte pieces: each lies
        within one cluster whatever the cluster and record sizes)."""
        pos = n * self.rsz
        return unfix(bytearray(b"".join(self.pread(self.byte_of(self.mft_runs, pos + p),
                                                   FIXUP_STRIDE)
                                        for p in range(0, self.rsz, FIXUP_STRIDE))))

    def write_record(self, n, rec, mft_runs=None):
        data = fix(rec)
        runs = mft_runs or self.mft_runs
        for p in range(0, self.rsz, FIXUP_STRIDE):
            self.pwrite(self.byte_of(runs, n * self.rsz + p), data[p:p + FIXUP_STRIDE])
        if n < 4:
            mirr = self.mirr_lcn * self.cs + n * self.rsz
            self.pwrite(mirr, data)

    def bitmap(self):
        a = find_attr(self.record(6), AT_DATA)
        runs = a.runs()
        size = struct.unpack_from("<q", a.rec, a.off + 0x30)[0]
        return runs, bytearray(self.attr_read(runs, size))

    def set_boot_mft(self, lcn):
        for sec in (0, self.sectors):
            bs = bytearray(self.pread(sec * self.bps, self.bps))
            if len(bs) < self.bps or bs[3:11] != b"NTFS    ":
                continue
            struct.pack_into("<q", bs, 0x30, lcn)
            self.pwrite(sec * self.bps, bs)


def bit(bm, lcn):
    return bm[lcn // 8] >> (lcn % 8) & 1


def set_bit(bm, lcn, v):
    if v:
        bm[lcn // 8] |= 1 << (lcn % 8)
    else:
        bm[lcn // 8] &= ~(1 << (lcn % 8)) & 0xFF


def cmd_badclus(v, lcn):
    rec = v.record(8)
    a = find_attr(rec, AT_DATA, "$Bad")
    total = sum(n for _, n in a.runs())
    a.set_runs([(None, lcn), (lcn, 1), (None, total - lcn - 1)])
    v.write_record(8, rec)
    runs, bm = v.bitmap()
    set_bit(bm, lcn, 1)
    v.attr_write(runs, bm)


def cmd_mft_far(v, clusters, frag_below):
    old_runs = v.mft_runs
    old_total = sum(n for _, n in old_runs)
    if clusters < old_total:
        raise SystemExit("ntfsedit: $MFT already holds %d clusters" % old_total)
    data = v.attr_read(old_runs, old_total * v.cs)
    runs, bm = v.bitmap()
    start = v.nr - clusters - 8
    if any(bit(bm, c) for c in range(start, start + clusters)):
        raise SystemExit("ntfsedit: the end of the volume is not free")
    new_runs = [(start, clusters)]
    v.pwrite(start * v.cs, data + bytes((clusters - old_total) * v.cs))
    rec = unfix(bytearray(data[:v.rsz]))
    find_attr(rec, AT_DATA).set_runs(new_runs, v.cs)
    v.write_record(0, rec, new_runs)
    v.set_boot_mft(start)
    for lcn, n in old_runs:
        for c in range(lcn, lcn + n):
            set_bit(bm, c, 0)
    for c in range(start, start + clusters):
        set_bit(bm, c, 1)
    free_seen = 0
    for c in range(frag_below):
        if not bit(bm, c):
            if free_seen % 2 == 0:
                set_bit(bm, c, 1)
            free_seen += 1
    v.attr_write(runs, bm)


AT_FILE_NAME = 0x30


def record_name(rec):
    """The first $FILE_NAME of a record in use, or None."""
    if rec[:4] != b"FILE" or not struct.unpack_from("<H", rec, 0x16)[0] & 1:
        return None
    for a in attrs(rec):
        if a.type == AT_FILE_NAME and not a.nonres:
            v = a.off + struct.unpack_from("<H", rec, a.off + 0x14)[0]
            n = rec[v + 0x40]
            return bytes(rec[v + 0x42:v + 0x42 + 2 * n]).decode("utf-16-le")
    return None


def cmd_bitmap_clear(v, name):
    size = struct.unpack_from("<q", v.record(0), find_attr(v.record(0), AT_DATA).off + 0x30)[0]
    for n in range(size // v.rsz):
        rec = v.record(n)
        if record_name(rec) != name:
            continue
        runs, bm = v.bitmap()
        for lcn, count in find_attr(rec, AT_DATA).runs():
            if lcn is None:
                continue
            for c in range(lcn, lcn + count):
                set_bit(bm, c, 0)
            print("%d+%d" % (lcn, count))
        v.attr_write(runs, bm)
        return
    raise SystemExit("ntfsedit: no file called %s" % name)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    v = Vol(argv[2])
    if argv[1] == "badclus":
        cmd_badclus(v, int(argv[3]))
    elif argv[1] == "mft-far":
        cmd_mft_far(v, int(argv[3]), int(argv[4]) if len(argv) > 4 else 0)
    elif argv[1] == "bitmap-clear":
        cmd_bitmap_clear(v, argv[3])
    elif argv[1] == "info":
        print("cluster", v.cs)
        print("clusters", v.nr)
        for lcn, n in v.mft_runs:
            print("mft", lcn, n)
    else:
        raise SystemExit(__doc__)
    v.f.close()


if __name__ == "__main__":
    main(sys.argv)
