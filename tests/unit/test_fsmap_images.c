/* The used-block maps against real filesystems built at test time with their
 * own mkfs, filled over "deleted" garbage, and checked with independent
 * oracles: the filesystem's own tools count its used space (dumpe2fs,
 * ntfsinfo, fsck.fat), and a "masked" copy holding only the mapped extents
 * (zeros elsewhere, as p2v's output would be) must check clean with the
 * filesystem's fsck and give back every file byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fsmap.h"
#include "sh_testlib.h"
#include "source/source.h"
#include "t.h"
#include "util/endian.h"

#define MiB (1024ULL * 1024ULL)
/* Every test disk has this much garbage before the partition, so offsets
 * relative to the partition start are exercised. */
#define PART_OFF MiB

static const char garbage_tag[] = "P2V-DELETED-DATA";

static char *path(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

/* Fill a file of size bytes with tagged pseudo-random garbage: what deleted
 * files leave in free space. */
static void write_garbage(const char *name, uint64_t size)
{
    FILE *f = fopen(path(name), "wb");
    uint8_t blk[4096];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    CHECK(f != NULL);
    if (!f)
        return;
    for (uint64_t off = 0; off < size; off += sizeof blk) {
        for (size_t i = 0; i < sizeof blk; i += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            put_le64(blk + i, x);
        }
        for (size_t i = 0; i < sizeof blk; i += 512)
            memcpy(blk + i, garbage_tag, sizeof garbage_tag - 1);
        fwrite(blk, 1, sizeof blk, f);
    }
    fclose(f);
}

/* Random files in dir/files: names f0..fN, some in a subdirectory. */
static void make_files(int n, size_t max_size)
{
    sh("rm -rf files && mkdir -p files/sub");
    uint64_t x = 12345;
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "files/%sf%d", i % 3 == 2 ? "sub/" : "", i);
        FILE *f = fopen(path(name), "wb");
        if (!f)
            continue;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t sz = (size_t)(x >> 33) % max_size + 1;
        for (size_t j = 0; j < sz; j++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            fputc((int)(x >> 56), f);
        }
        fclose(f);
    }
}

/* disk.img = 1 MiB of garbage, then the filesystem image fs.img. */
static void make_disk(void)
{
    sh("rm -f disk.img && head -c %llu garbage.img > disk.img && cat fs.img >> disk.img",
       (unsigned long long)PART_OFF);
}

static int map_disk(uint64_t part_len, bool allow_dirty, fsmap *m, p2v_err *err)
{
    blockdev *bd = NULL;
    fsmap_opts o = { .allow_dirty = allow_dirty };
    int r = source_open(path("disk.img"), NULL, &bd, err);
    if (r < 0)
        return r;
    r = fsmap_build(bd, PART_OFF, part_len, &o, m, err);
    bd_close(bd);
    return r;
}


/* Every fsmap error starts "<disk path>: partition at byte <offset>: " and
 * names the disk only once. */
static void check_located(const p2v_err *e)
{
    char want[700];
    snprintf(want, sizeof want, "%s: partition at byte %llu: ", path("disk.img"),
             (unsigned long long)PART_OFF);
    CHECK(strncmp(e->msg, want, strlen(want)) == 0);
    CHECK(strstr(e->msg + strlen(want), path("disk.img")) == NULL);
    CHECK(strstr(e->msg + strlen(want), "partition at byte") == NULL);
    if (strncmp(e->msg, want, strlen(want)) != 0)
        fprintf(stderr, "   not located: %s\n", e->msg);
}

/* fsmap_err_locate: one form whatever the message held before. The
 * messages are made as the layers below make them: a read error names its
 * disk through `where` (p2v_errf_at), which is what the locating goes by. */
static void test_err_locate(void)
{
    p2v_err e;
    p2v_errf(&e, -EIO, "read error at offset 5");
    fsmap_err_locate(&e, "d.img", 4096);
    CHECK_STR(e.msg, "d.img: partition at byte 4096: read error at offset 5");
    fsmap_err_locate(&e, "d.img", 4096); /* already located: unchanged */
    CHECK_STR(e.msg, "d.img: partition at byte 4096: read error at offset 5");
    p2v_errf_at(&e, -EIO, "d.img", "read error at offset 5");
    fsmap_err_locate(&e, "d.img", 4096);
    CHECK_STR(e.msg, "d.img: partition at byte 4096: read error at offset 5");
    p2v_errf_at(&e, -EIO, "d.img2", "x"); /* another path is kept */
    fsmap_err_locate(&e, "d.img", 0);
    CHECK_STR(e.msg, "d.img: partition at byte 0: d.img2: x");
    fsmap_err_locate(NULL, "d.img", 0);
}

/* fs.img: size bytes of garbage made a filesystem by the mkfs command
 * (formatted from fmt), with nfiles random files of at most max_size bytes
 * ready in files/ for it or the caller to copy in. */
static void make_fs(int nfiles, size_t max_size, uint64_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void make_fs(int nfiles, size_t max_size, uint64_t size, const char *fmt, ...)
{
    char mkfs[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mkfs, sizeof mkfs, fmt, ap);
    va_end(ap);
    make_files(nfiles, max_size);
    write_garbage("fs.img", size);
    CHECK(sh("%s", mkfs) == 0);
}

/* What mapping a damaged fs.img gave: map_disk's result and, when that is
 * 0, whether the copy is whole and why; the error message otherwise. */
struct outcome {
    int r;
    bool full;
    char notice[256];
    p2v_err err;
};

/* The disk made from fs.img (size bytes) mapped, and the outcome said. */
static struct outcome map_damaged(const char *what, uint64_t size)
{
    fsmap m;
    struct outcome o = { 0 };
    make_disk();
    o.r = map_disk(size, false, &m, &o.err);
    if (o.r == 0) {
        o.full = m.full;
        snprintf(o.notice, sizeof o.notice, "%s", m.notice);
        fsmap_free(&m);
    }
    fprintf(stderr, "   %s: r=%d full=%d notice=%s err=%s\n", what, o.r, o.full, o.notice,
            o.err.msg);
    return o;
}

/* masked.img: the partition with only the mapped extents copied. */
static void write_masked(const fsmap *m, uint64_t part_len)
{
    int in = open(path("disk.img"), O_RDONLY), out = open(path("masked.img"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(in >= 0 && out >= 0);
    CHECK(ftruncate(out, (off_t)part_len) == 0);
    uint8_t *buf = malloc(MiB);
    extent all = { 0, part_len };
    const extent *v = m->full ? &all : m->used.v;
    size_t n = m->full ? 1 : m->used.count;
    for (size_t i = 0; i < n; i++) {
        for (uint64_t o = 0; o < v[i].len; o += MiB) {
            size_t l = v[i].len - o < MiB ? (size_t)(v[i].len - o) : (size_t)MiB;
            CHECK(pread(in, buf, l, (off_t)(PART_OFF + v[i].start + o)) == (ssize_t)l);
            CHECK(pwrite(out, buf, l, (off_t)(v[i].start + o)) == (ssize_t)l);
        }
    }
    free(buf);
    close(in);
    close(out);
}

/* The map must be sorted, disjoint, inside the partition. */
static void check_map_shape(const fsmap *m, uint64_t part_len)
{
    for (size_t i = 0; i < m->used.count; i++) {
        CHECK(m->used.v[i].len > 0);
        CHECK(m->used.v[i].start + m->used.v[i].len <= part_len);
        if (i)
            CHECK(m->used.v[i].start > m->used.v[i - 1].start + m->used.v[i - 1].len);
    }
}

/* The disk made from fs.img (size bytes) mapped into m: a map of the used
 * extents (not a whole copy), sorted, disjoint and inside the partition. */
static void map_partial(const char *label, uint64_t size, fsmap *m)
{
    p2v_err err = { { 0 } };
    make_disk();
    CHECK(map_disk(size, false, m, &err) == 0);
    fprintf(stderr, "   %s: %s used=%llu extents=%zu %s %s\n", label, m->fstype,
            (unsigned long long)m->used_bytes, m->used.count, m->notice, err.msg);
    CHECK(!m->full);
    check_map_shape(m, size);
}

/* Does the map touch any byte of [start, start + len)? */
static bool map_touches(const fsmap *m, uint64_t start, uint64_t len)
{
    for (size_t i = 0; i < m->used.count; i++)
        if (m->used.v[i].start < start + len && start < m->used.v[i].start + m->used.v[i].len)
            return true;
    return false;
}

/* Is [start, start + len) of masked.img all zeros? */
static bool masked_zero(uint64_t start, uint64_t len)
{
    FILE *f = fopen(path("masked.img"), "rb");
    bool zero = f != NULL;
    int c;
    if (f && fseeko(f, (off_t)start, SEEK_SET) == 0) {
        for (uint64_t i = 0; i < len && zero; i++)
            if ((c = fgetc(f)) != 0)
                zero = false;
    }
    if (f)
        fclose(f);
    return zero;
}

/* How many 512-byte garbage tags survive in masked.img vs fs.img. */
static uint64_t count_tags(const char *name)
{
    FILE *f = fopen(path(name), "rb");
    uint8_t b[512];
    uint64_t n = 0;
    if (!f)
        return 0;
    while (fread(b, 1, sizeof b, f) == sizeof b)
        if (!memcmp(b, garbage_tag, sizeof garbage_tag - 1))
            n++;
    fclose(f);
    return n;
}

/* masked.img from the map m of fs.img: it must check clean by the
 * filesystem's own fsck (a command naming masked.img) and give every file
 * back (restore, a command comparing them); the garbage sectors of fs.img
 * and of masked.img counted in tags, of which the source must have plenty. */
static void check_masked(const fsmap *m, uint64_t part_len, const char *fsck, const char *restore,
                         uint64_t tags[2])
{
    write_masked(m, part_len);
    CHECK(sh("%s", fsck) == 0);
    CHECK(sh("%s", restore) == 0);
    tags[0] = count_tags("fs.img");
    tags[1] = count_tags("masked.img");
    fprintf(stderr, "   garbage sectors: source %llu, masked %llu\n", (unsigned long long)tags[0],
            (unsigned long long)tags[1]);
    CHECK(tags[0] > 1000);
}

/* fs.img in use (a journal to replay, hibernated, marked dirty): on the
 * disk made from it, refused as busy with a located message holding each
 * of words, and with allow_dirty copied whole; the map in m. */
static void check_busy(const char *const words[], size_t n, fsmap *m)
{
    p2v_err err = { { 0 } };
    make_disk();
    CHECK(map_disk(16 * MiB, false, m, &err) == -EBUSY);
    fprintf(stderr, "   %s\n", err.msg);
    for (size_t i = 0; i < n; i++)
        CHECK(strstr(err.msg, words[i]) != NULL);
    check_located(&err);
    CHECK(map_disk(16 * MiB, true, m, &err) == 0);
    CHECK(m->full && m->dirty);
}

/* ---- ext2/3/4 ---- */

/* Used blocks by dumpe2fs's own count: blocks - free. */
static uint64_t ext_oracle_used_bytes(void)
{
    char out[256];
    uint64_t blocks = strtoull(sh_out(out, sizeof out, "dumpe2fs -h fs.img | sed -n 's/^Block count: *//p'"), NULL, 10);
    uint64_t bsize = strtoull(sh_out(out, sizeof out, "dumpe2fs -h fs.img | sed -n 's/^Block size: *//p'"), NULL, 10);
    uint64_t first = strtoull(sh_out(out, sizeof out, "dumpe2fs -h fs.img | sed -n 's/^First block: *//p'"), NULL, 10);
    /* Sum of per-group free blocks, from the group listing (exact, unlike the
     * superblock's lazily updated total). */
    uint64_t free_blocks = strtoull(sh_out(out, sizeof out,
        "dumpe2fs fs.img | sed -n 's/^  *\\([0-9]*\\) free blocks,.*/\\1/p' | awk '{s+=$1} END {print s+0}'"), NULL, 10);
    CHECK(blocks > 0 && bsize > 0);
    return (blocks - free_blocks) * bsize + 0 * first;
}

static void ext_case(const char *label, const char *mkfs, uint64_t size)
{
    fsmap m;
    char out[256];

    fprintf(stderr, "-- %s\n", label);
    make_fs(24, 300000, size, "%s -q -F -E nodiscard -d files fs.img", mkfs);
    /* Delete some files: their data stays behind in now-free blocks. */
    char blocks[4096];
    sh_out(blocks, sizeof blocks, "debugfs -R 'blocks /f3' fs.img");
    uint64_t bsize = strtoull(sh_out(out, sizeof out, "dumpe2fs -h fs.img | sed -n 's/^Block size: *//p'"), NULL, 10);
    CHECK(sh("debugfs -w -R 'rm /f3' fs.img && debugfs -w -R 'rm /sub/f5' fs.img && "
             "rm files/f3 files/sub/f5") == 0);
    CHECK(sh("e2fsck -fn fs.img") == 0);
    map_partial(label, size, &m);
    CHECK(strncmp(m.fstype, "ext", 3) == 0);
    /* Mapped bytes = the fs's used blocks (+ the boot area before block 1 for
     * 1 KiB blocks, which dumpe2fs does not count). */
    uint64_t oracle = ext_oracle_used_bytes();
    uint64_t mapped = extent_list_bytes(&m.used);
    CHECK(mapped == oracle || mapped == oracle + 1024);
    CHECK(m.used_bytes == mapped);
    /* Every free block range dumpe2fs lists lies outside the map. */
    char ranges[65536];
    sh_out(ranges, sizeof ranges, "dumpe2fs fs.img | sed -n 's/^  Free blocks: //p' | tr ',\\n' '  '");
    size_t nranges = 0, bad = 0;
    for (char *p = ranges; *p;) {
        char *e;
        uint64_t a = strtoull(p, &e, 10), b;
        if (e == p)
            break;
        b = a;
        if (*e == '-')
            b = strtoull(e + 1, &e, 10);
        nranges++;
        if (map_touches(&m, a * bsize, (b - a + 1) * bsize))
            bad++;
        p = e;
        while (*p == ' ')
            p++;
    }
    fprintf(stderr, "   %zu free ranges from dumpe2fs, %zu touched by the map\n", nranges, bad);
    CHECK(nranges > 0);
    CHECK(bad == 0);
    uint64_t tags[2];
    check_masked(&m, size, "e2fsck -fn masked.img",
                 "rm -rf back && mkdir back && debugfs -R 'rdump / back' masked.img && "
                 "diff -r -x lost+found files back", tags);
    CHECK(tags[1] < tags[0]);
    /* The deleted file's blocks held data; now free, they read as zeros. */
    size_t ndel = 0;
    for (char *p = blocks; *p;) {
        char *e;
        uint64_t blk = strtoull(p, &e, 10);
        if (e == p)
            break;
        ndel++;
        CHECK(!map_touches(&m, blk * bsize, bsize));
        CHECK(masked_zero(blk * bsize, bsize));
        p = e;
    }
    fprintf(stderr, "   %zu blocks of the deleted file read back as zeros\n", ndel);
    CHECK(ndel > 0);
    fsmap_free(&m);
}

static void test_ext(void)
{
    ext_case("ext4 with journal", "mkfs.ext4", 48 * MiB);
    ext_case("ext4 without journal", "mkfs.ext4 -O ^has_journal", 48 * MiB);
    ext_case("ext2, 1 KiB blocks", "mkfs.ext2 -b 1024", 24 * MiB);
    ext_case("ext3", "mkfs.ext3", 32 * MiB);
}

/* needs_recovery: refused, or copied whole with allow_dirty. */
static void test_ext_dirty(void)
{
    fsmap m;
    make_fs(3, 1000, 16 * MiB,
            "mkfs.ext4 -q -F -d files fs.img && debugfs -w -R 'feature needs_recovery' fs.img");
    check_busy((const char *const[]){ "needs journal recovery", "--allow-dirty" }, 2, &m);
    fsmap_free(&m);
}

/* State "errors" (the kernel or e2fsck recorded damage): the bitmaps are not
 * trusted, every sector is copied, with or without allow_dirty. */
static void test_ext_errors(void)
{
    fsmap m;
    p2v_err err = { { 0 } };
    make_fs(3, 1000, 16 * MiB, "mkfs.ext4 -q -F -d files fs.img && debugfs -w -R 'ssv state 2' fs.img");
    char st[256];
    CHECK(strstr(sh_out(st, sizeof st, "dumpe2fs -h fs.img | grep '^Filesystem state:'"),
                 "with errors") != NULL);
    make_disk();
    for (int dirty_ok = 0; dirty_ok < 2; dirty_ok++) {
        CHECK(map_disk(16 * MiB, dirty_ok, &m, &err) == 0);
        CHECK(m.full && !m.dirty && m.used.count == 0);
        CHECK_STR(m.notice, "ext4 filesystem has errors recorded (state \"errors\"), so its block "
                            "bitmaps cannot be trusted; run e2fsck on it in the guest");
        fsmap_free(&m);
    }
    /* The same filesystem without the errors state is mapped. */
    CHECK(sh("debugfs -w -R 'ssv state 1' fs.img") == 0);
    make_disk();
    CHECK(map_disk(16 * MiB, false, &m, &err) == 0);
    CHECK(!m.full && m.used.count > 0);
    fsmap_free(&m);
}

/* A group descriptor whose checksum no longer matches: never a map. */
static void test_ext_bad_gd_csum(void)
{
    make_fs(3, 1000, 16 * MiB, "mkfs.ext4 -q -F -b 4096 -d files fs.img");
    /* Group descriptors start at block 1 (4 KiB): flip bg_free_blocks_count. */
    uint8_t b;
    int fd = open(path("fs.img"), O_RDWR);
    CHECK(pread(fd, &b, 1, 4096 + 12) == 1);
    b ^= 0x5A;
    CHECK(pwrite(fd, &b, 1, 4096 + 12) == 1);
    close(fd);
    CHECK(sh("e2fsck -fn fs.img") != 0);
    struct outcome o = map_damaged("bad gd csum", 16 * MiB);
    CHECK(o.r < 0 || (o.full && strstr(o.notice, "checksum")));
}

/* ext2 (no checksums): a used block cleared in the block bitmap. The bitmap
 * now disagrees with the group descriptors' free count: never a map. */
static void test_ext_bitmap_bit_cleared(void)
{
    char out[256];
    make_fs(4, 50000, 16 * MiB, "mkfs.ext2 -q -F -b 1024 -d files fs.img");
    uint64_t blk = strtoull(sh_out(out, sizeof out, "debugfs -R 'blocks /f1' fs.img | awk '{print $1}'"), NULL, 10);
    uint64_t bpg = strtoull(sh_out(out, sizeof out, "dumpe2fs -h fs.img | sed -n 's/^Blocks per group: *//p'"), NULL, 10);
    CHECK(blk > 1 && bpg > 0);
    if (blk <= 1 || bpg == 0)
        return;
    uint64_t group = (blk - 1) / bpg, bit = (blk - 1) % bpg;
    uint64_t bitmap = strtoull(sh_out(out, sizeof out,
        "dumpe2fs fs.img | sed -n 's/^  Block bitmap at \\([0-9]*\\).*/\\1/p' | sed -n '%llup'",
        (unsigned long long)group + 1), NULL, 10);
    CHECK(bitmap > 0);
    int fd = open(path("fs.img"), O_RDWR);
    uint8_t b;
    off_t at = (off_t)(bitmap * 1024 + bit / 8);
    CHECK(pread(fd, &b, 1, at) == 1);
    CHECK(b & (1u << (bit % 8)));
    b &= (uint8_t)~(1u << (bit % 8));
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
    char what[80];
    snprintf(what, sizeof what, "ext2 bitmap bit of block %llu cleared", (unsigned long long)blk);
    struct outcome o = map_damaged(what, 16 * MiB);
    CHECK(o.r == 0);
    CHECK(o.full && strstr(o.notice, "group descriptors say"));
}

/* ---- FAT ---- */

static void fat_case(const char *label, int bits, uint64_t size, const char *extra)
{
    fsmap m;
    char out[512];

    fprintf(stderr, "-- %s\n", label);
    make_fs(30, 60000, size, "mkfs.fat -F %d %s fs.img", bits, extra);
    CHECK(sh("mcopy -s -i fs.img files/* ::/") == 0);
    char chain[4096];
    sh_out(chain, sizeof chain, "mshowfat -i fs.img ::/f4 | sed 's/.*<//; s/>.*//'");
    CHECK(sh("mdel -i fs.img ::/f4 ::/sub/f8 && "
             "rm files/f4 files/sub/f8") == 0);
    CHECK(sh("fsck.fat -n fs.img") == 0);
    map_partial(label, size, &m);
    CHECK_STR(m.fstype, "vfat");
    /* fsck.fat's count of clusters in use. */
    sh_out(out, sizeof out, "fsck.fat -n -v fs.img | sed -n 's/.* files, \\([0-9]*\\)\\/.*/\\1/p'");
    uint64_t used_clusters = strtoull(out, NULL, 10);
    uint64_t csize = strtoull(sh_out(out, sizeof out, "fsck.fat -n -v fs.img | sed -n 's/^ *\\([0-9]*\\) bytes per cluster.*/\\1/p'"), NULL, 10);
    uint64_t data_start = strtoull(sh_out(out, sizeof out, "fsck.fat -n -v fs.img | sed -n 's/^Data area starts at byte \\([0-9]*\\).*/\\1/p'"), NULL, 10);
    fprintf(stderr, "   oracle: %llu clusters of %llu, data at %llu\n",
            (unsigned long long)used_clusters, (unsigned long long)csize,
            (unsigned long long)data_start);
    CHECK(csize > 0 && data_start > 0);
    CHECK_EQ_U64(m.used_bytes, data_start + used_clusters * csize);
    CHECK_EQ_U64(extent_list_bytes(&m.used), m.used_bytes);
    uint64_t tags[2];
    check_masked(&m, size, "fsck.fat -n masked.img",
                 "rm -rf back && mkdir back && mcopy -s -n -i masked.img ::/* back/ && "
                 "diff -r files back", tags);
    CHECK(tags[1] < tags[0] / 20);
    /* The deleted file's clusters ("<a-b> <c-d>" from mshowfat): outside the
     * map, zeros in the copy. */
    size_t ndel = 0;
    for (char *p = chain; *p;) {
        char *e;
        uint64_t a = strtoull(p, &e, 10), b;
        if (e == p) {
            p++;
            continue;
        }
        b = a;
        if (*e == '-')
            b = strtoull(e + 1, &e, 10);
        for (uint64_t c = a; c <= b; c++) {
            ndel++;
            CHECK(!map_touches(&m, data_start + (c - 2) * csize, csize));
            CHECK(masked_zero(data_start + (c - 2) * csize, csize));
        }
        p = e;
    }
    fprintf(stderr, "   %zu clusters of the deleted file read back as zeros\n", ndel);
    CHECK(ndel > 0);
    fsmap_free(&m);
}

static void test_fat(void)
{
    fat_case("FAT12", 12, 2 * MiB, "");
    fat_case("FAT16", 16, 24 * MiB, "-s 4");
    fat_case("FAT32", 32, 40 * MiB, "-s 1");
}

/* A FAT entry pointing past the last cluster: never a map. */
static void test_fat_out_of_range(void)
{
    make_fs(3, 5000, 40 * MiB, "mkfs.fat -F 32 -s 1 fs.img && mcopy -s -i fs.img files/* ::/");
    /* The FAT starts after the reserved sectors; entry 10 := 0x0FFFFF00. */
    uint8_t bs[512], e[4];
    int fd = open(path("fs.img"), O_RDWR);
    CHECK(pread(fd, bs, 512, 0) == 512);
    uint64_t fat = (uint64_t)get_le16(bs + 14) * get_le16(bs + 11);
    put_le32(e, 0x0FFFFF00);
    CHECK(pwrite(fd, e, 4, (off_t)(fat + 10 * 4)) == 4);
    close(fd);
    struct outcome o = map_damaged("FAT out of range", 40 * MiB);
    CHECK(o.r == 0 && o.full && strstr(o.notice, "outside"));
}

/* FAT32 with mirroring off: the active FAT (here the second) is the one in
 * use, whatever the first holds. */
static void test_fat32_active_fat(void)
{
    fsmap m;
    p2v_err err = { { 0 } };
    char chain[1024];
    make_fs(3, 100000, 40 * MiB, "mkfs.fat -F 32 -s 1 fs.img && mcopy -s -i fs.img files/* ::/");
    sh_out(chain, sizeof chain, "mshowfat -i fs.img ::/f0 | sed 's/.*<//; s/>.*//'");
    uint8_t bs[512];
    int fd = open(path("fs.img"), O_RDWR);
    CHECK(pread(fd, bs, 512, 0) == 512);
    uint64_t fat0 = (uint64_t)get_le16(bs + 14) * 512, fatsz = (uint64_t)get_le32(bs + 36) * 512;
    uint64_t data = fat0 + 2 * fatsz;
    /* ExtFlags: mirroring disabled (bit 7), active FAT 1; FAT 0 emptied. */
    put_le16(bs + 40, 0x81);
    CHECK(pwrite(fd, bs, 512, 0) == 512);
    uint8_t *z = calloc(1, (size_t)fatsz);
    CHECK(pwrite(fd, z, (size_t)fatsz, (off_t)fat0) == (ssize_t)fatsz);
    free(z);
    close(fd);
    make_disk();
    CHECK(map_disk(40 * MiB, false, &m, &err) == 0);
    CHECK(!m.full);
    char *e;
    uint64_t a = strtoull(chain, &e, 10), b = a;
    if (*e == '-')
        b = strtoull(e + 1, NULL, 10);
    CHECK(a >= 2 && b >= a);
    fprintf(stderr, "   FAT32 active FAT 1: f0 in clusters %llu-%llu, covered %d\n",
            (unsigned long long)a, (unsigned long long)b,
            fsmap_covers(&m, data + (a - 2) * 512, (b - a + 1) * 512));
    CHECK(fsmap_covers(&m, data + (a - 2) * 512, (b - a + 1) * 512));
    fsmap_free(&m);
}

/* ---- NTFS ---- */

static void ntfs_populate(void)
{
    make_files(16, 200000);
    CHECK(sh("for f in files/f* ; do ntfscp -f fs.img $f $(basename $f) || exit 1; done") == 0);
}

static void ntfs_case(uint64_t cs, uint64_t ss)
{
    fsmap m;
    char out[256];
    uint64_t size = 24 * MiB;

    fprintf(stderr, "-- NTFS, %llu-byte clusters, %llu-byte sectors\n", (unsigned long long)cs,
            (unsigned long long)ss);
    write_garbage("fs.img", size);
    CHECK(sh("mkfs.ntfs -q -F -Q -c %llu -s %llu fs.img", (unsigned long long)cs,
             (unsigned long long)ss) == 0);
    ntfs_populate();
    map_partial("ntfs", size, &m);
    CHECK_STR(m.fstype, "ntfs");
    uint64_t nclus = strtoull(sh_out(out, sizeof out, "ntfsinfo -m fs.img | sed -n 's/.*Volume Size in Clusters: *//p'"), NULL, 10);
    uint64_t freec = strtoull(sh_out(out, sizeof out, "ntfsinfo -m fs.img | sed -n 's/.*Free Clusters: *\\([0-9]*\\).*/\\1/p'"), NULL, 10);
    fprintf(stderr, "   oracle: %llu clusters, %llu free\n", (unsigned long long)nclus,
            (unsigned long long)freec);
    CHECK(nclus > 0);
    CHECK_EQ_U64(m.used_bytes, (nclus - freec) * cs);
    /* The map adds only the tail past the last cluster and the last sector. */
    CHECK(extent_list_bytes(&m.used) >= m.used_bytes);
    CHECK(extent_list_bytes(&m.used) <= m.used_bytes + cs + 2 * ss);
    /* $Bitmap as ntfscat reads it: set clusters inside the map, free ones outside. */
    CHECK(sh("ntfscat -i 6 fs.img > bitmap.bin") == 0);
    FILE *bf = fopen(path("bitmap.bin"), "rb");
    size_t set = 0, clear = 0, wrong = 0;
    for (uint64_t c = 0; bf && c < nclus; c++) {
        int byte = (c % 8 == 0) ? fgetc(bf) : -2;
        static int cur;
        if (byte != -2)
            cur = byte;
        bool used = cur >= 0 && (cur >> (c % 8)) & 1;
        if (used) {
            set++;
            wrong += !fsmap_covers(&m, c * cs, cs);
        } else {
            clear++;
            wrong += map_touches(&m, c * cs, cs);
        }
    }
    if (bf)
        fclose(bf);
    fprintf(stderr, "   $Bitmap by ntfscat: %zu used, %zu free clusters, %zu disagree\n", set, clear, wrong);
    CHECK(set == nclus - freec);
    CHECK(wrong == 0);
    uint64_t tags[2];
    check_masked(&m, size, "ntfsfix -n masked.img",
                 "for f in files/f*; do ntfscat masked.img $(basename $f) | cmp - $f || exit 1; done",
                 tags);
    CHECK(tags[1] * 20 < tags[0]);
    fsmap_free(&m);
}

static void test_ntfs(void)
{
    ntfs_case(4096, 512);
    ntfs_case(512, 512);
    ntfs_case(65536, 512);
    ntfs_case(4096, 4096);
}

/* Find MFT record rec of fs.img: returns its byte offset. */
static uint64_t ntfs_record_offset(int fd, unsigned rec)
{
    uint8_t bs[512];
    CHECK(pread(fd, bs, 512, 0) == 512);
    uint64_t cs = (uint64_t)get_le16(bs + 11) * bs[13];
    return get_le64(bs + 0x30) * cs + rec * 1024ULL;
}

/* Offset of attribute type in the MFT record at rec_off, or 0. */
static uint64_t ntfs_find_attr(int fd, uint64_t rec_off, uint32_t type)
{
    uint8_t r[1024];
    CHECK(pread(fd, r, sizeof r, (off_t)rec_off) == (ssize_t)sizeof r);
    uint32_t o = get_le16(r + 0x14);
    while (o + 8 < sizeof r) {
        uint32_t t = get_le32(r + o), len = get_le32(r + o + 4);
        if (t == 0xFFFFFFFF || len == 0)
            break;
        if (t == type)
            return rec_off + o;
        o += len;
    }
    return 0;
}

/* A new 16 MiB NTFS fs.img (mkfs.ntfs with opts), open for writing in *fd,
 * and the offsets of its MFT record rec (*rec_off) and of that record's
 * attribute type (which must be there). */
static uint64_t ntfs_new_attr(const char *opts, unsigned rec, uint32_t type, int *fd,
                              uint64_t *rec_off)
{
    write_garbage("fs.img", 16 * MiB);
    CHECK(sh("mkfs.ntfs -q -F -Q %s fs.img", opts) == 0);
    *fd = open(path("fs.img"), O_RDWR);
    *rec_off = ntfs_record_offset(*fd, rec);
    uint64_t a = ntfs_find_attr(*fd, *rec_off, type);
    CHECK(a != 0);
    return a;
}

/* $Bitmap's run list pointing elsewhere (to free, zeroed space, or past the
 * end of the volume): never a map. */
static void test_ntfs_bad_bitmap_runlist(void)
{
    for (int variant = 0; variant < 2; variant++) {
        int fd;
        uint64_t rec, a = ntfs_new_attr("-c 4096", 6, 0x80, &fd, &rec);
        uint8_t hdr[0x40];
        CHECK(pread(fd, hdr, sizeof hdr, (off_t)a) == (ssize_t)sizeof hdr);
        CHECK(hdr[8] == 1); /* non-resident */
        uint64_t mp = a + get_le16(hdr + 0x20);
        uint8_t run[8];
        CHECK(pread(fd, run, sizeof run, (off_t)mp) == (ssize_t)sizeof run);
        unsigned lenb = run[0] & 0x0F, lcnb = run[0] >> 4;
        CHECK(lcnb >= 1 && lcnb <= 4);
        /* Variant 0: a cluster in zero-filled space near the end (we zero
         * it); variant 1: far past the end of the volume. */
        uint32_t lcn = variant == 0 ? 16 * 256 - 64 : 0x7FFFFF;
        if (variant == 0) {
            uint8_t z[4096] = { 0 };
            CHECK(pwrite(fd, z, sizeof z, (off_t)lcn * 4096) == (ssize_t)sizeof z);
        }
        for (unsigned i = 0; i < lcnb; i++)
            run[1 + lenb + i] = (uint8_t)(i < 4 ? lcn >> (8 * i) : 0);
        if (lcnb < 3 && variant == 1)
            run[1 + lenb + lcnb - 1] = 0x7F;
        CHECK(pwrite(fd, run, sizeof run, (off_t)mp) == (ssize_t)sizeof run);
        close(fd);
        char what[40];
        snprintf(what, sizeof what, "corrupt $Bitmap runs (%d)", variant);
        struct outcome o = map_damaged(what, 16 * MiB);
        CHECK(o.r < 0 || o.full);
        CHECK(o.r < 0 ? o.err.msg[0] != '\0' : o.notice[0] != '\0');
    }
}

/* Dirty flag and hibernation: refused, or copied whole with allow_dirty. */
static void test_ntfs_dirty(void)
{
    fsmap m;
    p2v_err err = { { 0 } };

    /* Hibernated: hiberfil.sys starting with HIBR. */
    write_garbage("fs.img", 16 * MiB);
    CHECK(sh("mkfs.ntfs -q -F -Q fs.img && printf 'HIBR%%01020d' 0 > hib && "
             "ntfscp -f fs.img hib hiberfil.sys") == 0);
    check_busy((const char *const[]){ "hibernat", "shut" }, 2, &m);
    CHECK(m.used_bytes > 0);
    fsmap_free(&m);

    /* A resumed-from hiberfil.sys ("wake") is not in use. */
    CHECK(sh("mkfs.ntfs -q -F -Q fs.img && printf 'wake%%01020d' 0 > hib && "
             "ntfscp -f fs.img hib hiberfil.sys") == 0);
    make_disk();
    CHECK(map_disk(16 * MiB, false, &m, &err) == 0);
    CHECK(!m.full && !m.dirty);
    fsmap_free(&m);

    /* Dirty: set VOLUME_IS_DIRTY in $Volume's $VOLUME_INFORMATION (0x70). */
    int fd;
    uint64_t rec, a = ntfs_new_attr("", 3, 0x70, &fd, &rec);
    uint8_t hdr[0x18], bs[512];
    CHECK(pread(fd, hdr, sizeof hdr, (off_t)a) == (ssize_t)sizeof hdr);
    uint64_t in_rec = a - rec + get_le16(hdr + 0x14) + 0x0A;
    /* The same record in $MFTMirr must agree, or the volume does not mount. */
    CHECK(pread(fd, bs, 512, 0) == 512);
    uint64_t mirr = get_le64(bs + 0x38) * get_le16(bs + 11) * bs[13] + 3 * 1024;
    uint64_t offs[2] = { rec + in_rec, mirr + in_rec };
    for (int i = 0; i < 2; i++) {
        uint8_t fl[2];
        CHECK(pread(fd, fl, 2, (off_t)offs[i]) == 2);
        fl[0] |= 1;
        CHECK(pwrite(fd, fl, 2, (off_t)offs[i]) == 2);
    }
    close(fd);
    check_busy((const char *const[]){ "dirty" }, 1, &m);
    fsmap_free(&m);
}

/* ---- swap and the rest ---- */

static void test_swap(void)
{
    fsmap m;
    p2v_err err = { { 0 } };
    char a[128], b[128];
    write_garbage("fs.img", 8 * MiB);
    CHECK(sh("mkswap -L p2vswap fs.img") == 0);
    make_disk();
    CHECK(map_disk(8 * MiB, false, &m, &err) == 0);
    CHECK_STR(m.fstype, "swap");
    CHECK(!m.full);
    CHECK(m.used.count == 1 && m.used.v[0].start == 0 && m.used.v[0].len == 4096);
    write_masked(&m, 8 * MiB);
    sh_out(a, sizeof a, "blkid -p -o value -s UUID fs.img");
    sh_out(b, sizeof b, "blkid -p -o value -s UUID masked.img");
    CHECK(a[0] != '\0');
    CHECK_STR(a, b);
    CHECK_STR(sh_out(b, sizeof b, "blkid -p -o value -s LABEL masked.img"), "p2vswap");
    CHECK(count_tags("masked.img") == 0);
    fsmap_free(&m);
}

static void test_unknown(void)
{
    fsmap m;
    p2v_err err = { { 0 } };
    write_garbage("fs.img", 4 * MiB);
    make_disk();
    CHECK(map_disk(4 * MiB, false, &m, &err) == 0);
    CHECK(m.full && strstr(m.notice, "no filesystem recognised"));
    fsmap_free(&m);
    /* BitLocker signature. */
    int fd = open(path("disk.img"), O_RDWR);
    CHECK(pwrite(fd, "\xeb\x58\x90-FVE-FS-", 11, PART_OFF) == 11);
    close(fd);
    CHECK(map_disk(4 * MiB, false, &m, &err) == 0);
    CHECK(m.full && strstr(m.notice, "BitLocker"));
    fsmap_free(&m);
    /* A partition past the disk end is an error, not a map. */
    CHECK(map_disk(8 * MiB, false, &m, &err) == -EINVAL);
    check_located(&err);
    CHECK(strstr(err.msg, "go past the end of the disk") != NULL);
}

int main(void)
{
    const char *tools[] = { "mkfs.ext4", "mkfs.fat", "mkfs.ntfs", "mkswap", "debugfs", "dumpe2fs",
                            "e2fsck", "fsck.fat", "mcopy", "ntfscp", "ntfscat", "ntfsinfo",
                            "ntfsfix", "blkid" };
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    setenv("MTOOLS_SKIP_CHECK", "1", 1);
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "command -v %s >/dev/null", tools[i]);
        if (system(cmd) != 0) {
            fprintf(stderr, "test_fsmap_images: required tool %s is missing (scripts/deps)\n",
                    tools[i]);
            return 1;
        }
    }
    if (t_scratch("fsmap") < 0)
        return 1;
    write_garbage("garbage.img", PART_OFF);
    test_ext();
    test_err_locate();
    test_ext_dirty();
    test_ext_errors();
    test_ext_bad_gd_csum();
    test_ext_bitmap_bit_cleared();
    test_fat();
    test_fat_out_of_range();
    test_fat32_active_fat();
    test_ntfs();
    test_ntfs_bad_bitmap_runlist();
    test_ntfs_dirty();
    test_swap();
    test_unknown();
    if (t_failures) {
        fprintf(stderr, "tool log:\n");
        char cmd[600];
        snprintf(cmd, sizeof cmd, "tail -n 40 %s/log >&2", dir);
        (void)!system(cmd);
    }
    return t_scratch_done("test_fsmap_images");
}
