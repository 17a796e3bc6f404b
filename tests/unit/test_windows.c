/* Windows fixups as pure functions: the BCD device parser over hand-built
 * bytes (partition, ramdisk, damaged lengths), and BCD / MountedDevices
 * rewrites of hives built at test time (blank_hive.py + mkwin_reg.py +
 * hivexregedit --merge). A rewritten hive must export (hivexregedit, not
 * p2v) exactly like a hive generated directly with the new identities: every
 * byte of every value is the expectation. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh_testlib.h"
#include "t.h"
#include "util/endian.h"
#include "windows/windows.h"

static char lib[512];

/* A hive named out from mkwin_reg.py's arguments. */
static int build_hive(const char *out, const char *args)
{
    return sh("python3 %s/blank_hive.py %s && python3 %s/mkwin_reg.py %s >%s.reg && "
              "hivexregedit --merge %s %s.reg",
              lib, out, lib, args, out, out, out);
}

/* ---- the device parser over bytes ---- */

static void part_block(uint8_t *b, bool gpt, uint8_t fill)
{
    memset(b, 0, WIN_BCD_PART_BLOCK);
    put_le32(b, 6);
    put_le32(b + 8, WIN_BCD_PART_BLOCK);
    memset(b + 16, fill, gpt ? 16 : 8);
    put_le32(b + 36, gpt ? 0 : 1);
    memset(b + 40, fill + 1, gpt ? 16 : 4);
}

/* options GUID + ramdisk block nesting a partition block and a path, with a
 * local part of local bytes (24 as Windows writes it, 32 padded). */
static size_t ramdisk_elem(uint8_t *e, bool gpt, size_t local)
{
    const size_t path = 10, rec = WIN_BCD_FILE_HDR + WIN_BCD_PART_BLOCK + path;
    size_t outer = WIN_BCD_BLOCK_HDR + local + rec;
    memset(e, 0, 16 + outer);
    memset(e, 0x77, 16);
    uint8_t *o = e + 16;
    put_le32(o + 4, 1);
    put_le32(o + 8, (uint32_t)outer);
    put_le32(o + 16, 3);
    uint8_t *r = o + WIN_BCD_BLOCK_HDR + local;
    put_le32(r, 1);
    put_le32(r + 4, (uint32_t)rec);
    put_le32(r + 8, 5);
    part_block(r + WIN_BCD_FILE_HDR, gpt, 0x40);
    memset(r + WIN_BCD_FILE_HDR + WIN_BCD_PART_BLOCK, 0x5c, path);
    return 16 + outer;
}

/* Both ramdisk layouts: the container found where its lengths say, read and
 * rewritten in place; damaged lengths refused with the offending values,
 * never scanned for. */
static void test_parse_ramdisk(size_t local)
{
    uint8_t e[512];
    win_dev_ref refs[4];
    size_t n, rec = 16 + 16 + local, part = rec + 12;
    char why[200], msg[120];

    size_t len = ramdisk_elem(e, true, local);
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == 0);
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(refs[0].offset, part);
    CHECK(refs[0].depth == 1 && refs[0].id.gpt && refs[0].id.part_guid.b[0] == 0x40 &&
          refs[0].id.disk_guid.b[15] == 0x41);
    /* A move rewrites the container's identity and nothing else. */
    uint8_t want[512];
    memcpy(want, e, len);
    win_part_id m = { .mbr_signature = 0x89abcdef, .mbr_offset = 0x200000 };
    win_bcd_device_set(e, refs[0].offset, &m);
    memset(want + part + 16, 0, 40);
    put_le64(want + part + 16, 0x200000);
    put_le32(want + part + 36, 1);
    put_le32(want + part + 40, 0x89abcdef);
    CHECK(memcmp(e, want, len) == 0);
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == 0 && n == 1 &&
          !refs[0].id.gpt && refs[0].id.mbr_offset == 0x200000);

    ramdisk_elem(e, true, local);
    put_le32(e + 16 + 8, 4000);
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "device block at byte 16: length 4000") != NULL);
    ramdisk_elem(e, true, local);
    put_le32(e + rec + 4, 9999);
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    snprintf(msg, sizeof msg, "image record of 9999 bytes, but %zu are left", len - rec);
    CHECK(strstr(why, msg) != NULL);
    /* The record one byte shorter than the block: lengths that do not add up. */
    ramdisk_elem(e, true, local);
    put_le32(e + rec + 4, (uint32_t)(len - rec - 1));
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    ramdisk_elem(e, true, local);
    put_le32(e + rec + 8, 4);
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "version 1 kind 4") != NULL);
    ramdisk_elem(e, true, local);
    put_le32(e + part + 8, 0x40); /* nested partition block too short */
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    snprintf(msg, sizeof msg, "partition device at byte %zu: length 64", part);
    CHECK(strstr(why, msg) != NULL);
    ramdisk_elem(e, true, local);
    put_le32(e + part + 8, 0x49); /* the path would be an odd number of bytes */
    CHECK(win_bcd_device_parse(e, len, refs, 4, &n, why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "container block of 73 bytes") != NULL);
    /* The other layout's offsets read as this one: the lengths do not add up. */
    len = ramdisk_elem(e, true, local);
    size_t other = local == WIN_BCD_RAMDISK_LOCAL ? WIN_BCD_RAMDISK_LOCAL_PADDED
                                                   : WIN_BCD_RAMDISK_LOCAL;
    memmove(e + 32 + other, e + rec, len - rec);
    memset(e + 36, 0, other - 4);
    put_le32(e + 16 + 8, (uint32_t)(len - rec + 16 + other));
    CHECK(win_bcd_device_parse(e, len - rec + 32 + other, refs, 4, &n, why, sizeof why) == 0 &&
          n == 1 && refs[0].offset == 32 + other + 12);
    put_le32(e + 16 + 8, (uint32_t)(len - rec + 16 + other + 2)); /* 2 bytes more than the record */
    memset(e + len - rec + 32 + other, 0, 2);
    CHECK(win_bcd_device_parse(e, len - rec + 32 + other + 2, refs, 4, &n, why, sizeof why) ==
          -EINVAL);
}

static void test_parse(void)
{
    uint8_t e[512];
    win_dev_ref refs[4];
    size_t n;
    char why[200];

    memset(e, 0, 16);
    part_block(e + 16, false, 0x11);
    CHECK(win_bcd_device_parse(e, 88, refs, 4, &n, why, sizeof why) == 0);
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(refs[0].offset, 16);
    CHECK(!refs[0].id.gpt && refs[0].id.mbr_offset == 0x1111111111111111ull &&
          refs[0].id.mbr_signature == 0x12121212);

    /* Set a GPT identity into the MBR block: the style changes with it. */
    win_part_id g = { .gpt = true };
    memset(g.part_guid.b, 0xAB, 16);
    memset(g.disk_guid.b, 0xCD, 16);
    win_bcd_device_set(e, 16, &g);
    uint8_t want[88];
    memset(want, 0, 16);
    part_block(want + 16, true, 0);
    memset(want + 32, 0xAB, 16);
    memset(want + 56, 0xCD, 16);
    CHECK(memcmp(e, want, 88) == 0);

    /* Windows' layout: the container at 0x34 of the ramdisk block. */
    CHECK_EQ_U64(16 + WIN_BCD_RAMDISK_LOCAL + WIN_BCD_FILE_HDR, 0x34);
    test_parse_ramdisk(WIN_BCD_RAMDISK_LOCAL);
    test_parse_ramdisk(WIN_BCD_RAMDISK_LOCAL_PADDED);
    CHECK(win_bcd_device_parse(e, 20, refs, 4, &n, why, sizeof why) == -EINVAL);
    /* Devices that name no partition ("boot", locate): no refs, no error. */
    memset(e, 0, 40);
    put_le32(e + 16, 1);
    put_le32(e + 24, 24);
    CHECK(win_bcd_device_parse(e, 40, refs, 4, &n, why, sizeof why) == 0 && n == 0);
}

static void test_md_forms(void)
{
    uint8_t v[24];
    win_part_id id = { .mbr_signature = 0x1234abcd, .mbr_offset = 0x100000 }, back;
    CHECK_EQ_U64(win_md_encode(&id, v), 12);
    CHECK(memcmp(v, "\xcd\xab\x34\x12\x00\x00\x10\x00\x00\x00\x00\x00", 12) == 0);
    CHECK(win_md_parse(v, 12, &back) && !back.gpt && back.mbr_offset == 0x100000);
    id.gpt = true;
    memset(id.part_guid.b, 0x5A, 16);
    CHECK_EQ_U64(win_md_encode(&id, v), 24);
    CHECK(memcmp(v, "DMIO:ID:", 8) == 0 && v[8] == 0x5A && v[23] == 0x5A);
    CHECK(win_md_parse(v, 24, &back) && back.gpt && guid_equal(&back.part_guid, &id.part_guid));
    CHECK(!win_md_parse(v, 23, &back));
    v[0] = 'X';
    CHECK(!win_md_parse(v, 24, &back));
}

/* ---- rewrites of real hives ---- */

static win_part_id mbr(uint32_t sig, uint64_t off)
{
    return (win_part_id){ .mbr_signature = sig, .mbr_offset = off };
}

static win_part_id gpt(const char *disk, const char *part)
{
    win_part_id id = { .gpt = true };
    CHECK(guid_parse(disk, &id.disk_guid) == 0 && guid_parse(part, &id.part_guid) == 0);
    return id;
}

static bool has_line(const p2v_warnings *w, const char *a, const char *b)
{
    for (size_t i = 0; i < w->count; i++)
        if (strstr(w->msgs[i], a) && (!b || strstr(w->msgs[i], b)))
            return true;
    return false;
}

/* Load name, run the rewrite, save to name.out. */
static int rewrite(const char *name, bool bcd, const win_map *m, win_report *rep,
                   unsigned *changed)
{
    size_t len = 0;
    uint8_t *data = slurp(name, &len), *out = NULL;
    win_hive *h = NULL;
    p2v_err err;
    int r = data ? win_hive_open(data, len, true, name, &h, &err) : -ENOENT;
    free(data);
    if (r == 0)
        r = bcd ? win_bcd_rewrite(h, m, "\\Boot\\BCD", rep, changed, &err)
                : win_md_rewrite(h, m, rep, changed, &err);
    if (r == 0 && (r = win_hive_save(h, &out, &len, &err)) == 0) {
        char o[600];
        snprintf(o, sizeof o, "%s.out", name);
        r = spill(o, out, len);
    }
    if (r < 0)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    free(out);
    win_hive_close(h);
    return r;
}

/* The rewritten hive exports exactly as the expected one. */
static int same_export(const char *got, const char *want)
{
    return sh("hivexregedit --export %s '\\' >%s.txt && hivexregedit --export %s '\\' >%s.txt "
              "&& diff -u %s.txt %s.txt",
              got, got, want, want, want, got);
}

/* Hive name rewritten for the moves mv (as a BCD when bcd): it must succeed
 * with `changes` values changed and export as name.want does; the report
 * in rep. */
static void rewrite_as_wanted(const char *name, bool bcd, const win_move *mv, size_t n,
                              unsigned changes, win_report *rep)
{
    win_map m = { mv, n };
    unsigned changed = 0;
    char out[64], want[64];
    snprintf(out, sizeof out, "%s.out", name);
    snprintf(want, sizeof want, "%s.want", name);
    CHECK(rewrite(name, bcd, &m, rep, &changed) == 0);
    CHECK_EQ_U64(changed, changes);
    CHECK(same_export(out, want) == 0);
}

#define OLDSIG 0x1234abcd
#define NEWSIG 0x89abcdef

/* BIOS Windows on MBR moved on MBR: C: last, a new signature. */
static void test_bcd_mbr_moved(void)
{
    CHECK(build_hive("bcd1", "bcd --disk 0x1234abcd --boot 1048576 --os 105906176 "
                             "--recovery 210763776") == 0);
    CHECK(build_hive("bcd1.want", "bcd --disk 0x89abcdef --boot 1048576 --os 316669952 "
                                  "--recovery 105906176") == 0);
    win_move mv[] = {
        { mbr(OLDSIG, 1048576), mbr(NEWSIG, 1048576), "pc.img:1" },
        { mbr(OLDSIG, 105906176), mbr(NEWSIG, 316669952), "pc.img:2" },
        { mbr(OLDSIG, 210763776), mbr(NEWSIG, 105906176), "pc.img:3" },
    };
    win_report rep = { 0 };
    rewrite_as_wanted("bcd1", true, mv, 3, 8, &rep);
    CHECK_EQ_U64(rep.warnings.count, 0);
    CHECK(has_line(&rep.changes, "\"Windows Boot Manager\"", "MBR 0x1234abcd @ 1048576 -> MBR "
                   "0x89abcdef @ 1048576 (pc.img:1)"));
    CHECK(has_line(&rep.changes, "\"Windows Recovery Environment\"", "(ramdisk image)"));
    win_report_free(&rep);
}

#define GDISK "11111111-2222-3333-4444-555555555555"
#define GP1 "aaaaaaaa-0000-4000-8000-000000000001"
#define GP2 "aaaaaaaa-0000-4000-8000-000000000002"
#define GP3 "aaaaaaaa-0000-4000-8000-000000000003"

/* UEFI Windows on GPT to MBR, the recovery partition left behind: its
 * references stay and are warned about; FirmwareVariable goes. */
static void test_bcd_gpt_to_mbr(void)
{
    CHECK(build_hive("bcd2", "bcd --style gpt --firmware efi --disk " GDISK " --boot " GP1
                             " --os " GP2 " --recovery " GP3) == 0);
    CHECK(build_hive("bcd2.want", "bcd --style mbr --firmware efi --no-fwvar --disk 0x89abcdef "
                                  "--boot 1048576 --os 105906176 --recovery gpt:" GDISK
                                  "@" GP3) == 0);
    win_move mv[] = {
        { gpt(GDISK, GP1), mbr(NEWSIG, 1048576), "pc.img:1" },
        { gpt(GDISK, GP2), mbr(NEWSIG, 105906176), "pc.img:2" },
    };
    win_report rep = { 0 };
    rewrite_as_wanted("bcd2", true, mv, 2, 5, &rep);
    CHECK_EQ_U64(rep.warnings.count, 3);
    CHECK(has_line(&rep.warnings, "\"Windows Recovery Environment\"",
                   "points at a partition that is not in the image"));
    CHECK(has_line(&rep.warnings, "\"Windows Recovery\"", GP3));
    CHECK(has_line(&rep.changes, "FirmwareVariable dropped", "Windows Boot Manager"));
    win_report_free(&rep);
}

#define NDISK "99999999-8888-4777-8666-555555555555"
#define NP1 "bbbbbbbb-0000-4000-8000-000000000001"
#define NP2 "bbbbbbbb-0000-4000-8000-000000000002"
#define NP3 "bbbbbbbb-0000-4000-8000-000000000003"

/* Drive letters of an MBR Windows moved to GPT: C:, D: and the volume names
 * follow; E: (another disk) and the CD-ROM stay as they were. */
static void test_mounted_mbr_to_gpt(void)
{
    CHECK(build_hive("sys1", "system --disk 0x1234abcd --mounted '"
                             "\\DosDevices\\C:=105906176,\\DosDevices\\D:=210763776,"
                             "\\DosDevices\\E:=0xdeadbeef@1048576,"
                             "\\??\\Volume{c0000000-0000-4000-8000-000000000001}=105906176,"
                             "\\??\\Volume{c0000000-0000-4000-8000-000000000002}=1048576'") == 0);
    CHECK(build_hive("sys1.want", "system --style gpt --disk " NDISK " --mounted '"
                                  "\\DosDevices\\C:=" NP2 ",\\DosDevices\\D:=" NP3 ","
                                  "\\DosDevices\\E:=mbr:0xdeadbeef@1048576,"
                                  "\\??\\Volume{c0000000-0000-4000-8000-000000000001}=" NP2 ","
                                  "\\??\\Volume{c0000000-0000-4000-8000-000000000002}=" NP1 "'") == 0);
    win_move mv[] = {
        { mbr(OLDSIG, 1048576), gpt(NDISK, NP1), "pc.img:1" },
        { mbr(OLDSIG, 105906176), gpt(NDISK, NP2), "pc.img:2" },
        { mbr(OLDSIG, 210763776), gpt(NDISK, NP3), "pc.img:3" },
    };
    win_report rep = { 0 };
    rewrite_as_wanted("sys1", false, mv, 3, 4, &rep);
    CHECK(has_line(&rep.changes, "\\DosDevices\\C: kept", "(pc.img:2)"));
    CHECK(has_line(&rep.changes, "\\DosDevices\\D: kept", NP3));
    CHECK(!has_line(&rep.changes, "\\DosDevices\\E:", NULL));
    win_report_free(&rep);
}

/* Not hives, or not a BCD: clear errors. */
static void test_refusals(void)
{
    win_hive *h = NULL;
    p2v_err err;
    uint8_t junk[8192] = { 0 };
    CHECK(win_hive_open(junk, sizeof junk, false, "x.img:1 \\Boot\\BCD", &h, &err) == -EBADMSG);
    CHECK(strstr(err.msg, "x.img:1 \\Boot\\BCD: not a registry hive hivex can read: damaged (") != NULL);
    CHECK(strstr(err.msg, "Operation not supported") == NULL);
    size_t len;
    uint8_t *data = slurp("sys1", &len);
    CHECK(data && win_hive_open(data, len, true, "SYSTEM", &h, &err) == 0);
    free(data);
    if (!h)
        return;
    win_report rep = { 0 };
    unsigned changed;
    CHECK(win_bcd_rewrite(h, NULL, "\\Boot\\BCD", &rep, &changed, &err) == -EINVAL);
    CHECK(strstr(err.msg, "not a BCD store") != NULL);
    char s[64];
    CHECK(win_hive_get_string(h, "ControlSet001\\Control\\Session Manager\\environment",
                              "PROCESSOR_ARCHITECTURE", s, sizeof s) == 0);
    CHECK_STR(s, "AMD64");
    uint32_t d = 0;
    CHECK(win_hive_get_dword(h, "select", "Current", &d) == 0 && d == 1);
    CHECK(win_hive_get_dword(h, "Select", "Missing", &d) == -ENOENT);
    win_hive_close(h);
    win_report_free(&rep);
}

/* ---- ReAgent.xml ---- */

/* WinRE's file as reagentc writes it (a UTF-8 BOM, CRLF lines), for an MBR
 * disk: WinreLocation on the recovery partition, the unused locations. */
#define REAGENT_HEAD "\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\r\n\r\n<WindowsRE version=\"2.0\">\r\n" \
    "  <WinreBCD id=\"{3b8f6f6a-5a8e-4b8a-9e55-6c1f0c7a0003}\"/>\r\n"
#define REAGENT_TAIL "  <PBRImageLocation path=\"\" id=\"0\" offset=\"0\" guid=\"{00000000-0000-0000-0000-000000000000}\" index=\"0\"/>\r\n" \
    "  <InstallState state=\"1\"/>\r\n  <OsBuildVersion path=\"19041.1.amd64fre.vb_release.191206-1406\"/>\r\n</WindowsRE>\r\n"

static void check_reagent_n(const char *in, size_t len, const char *want, const win_map *m,
                            unsigned nchanged, size_t nwarn, const char *warning)
{
    win_report rep = { 0 };
    p2v_err err = { 0 };
    uint8_t *out = NULL;
    size_t olen = 0;
    unsigned changed = 99;
    CHECK(win_reagent_rewrite((const uint8_t *)in, len, m, "C: ReAgent.xml", &out, &olen,
                              &rep, &changed, &err) == 0);
    CHECK_EQ_U64(changed, nchanged);
    CHECK_EQ_U64(rep.warnings.count, nwarn);
    if (warning) {
        CHECK(rep.warnings.count && strstr(rep.warnings.msgs[0], warning));
        if (rep.warnings.count && !strstr(rep.warnings.msgs[0], warning))
            fprintf(stderr, "warning: %s\nwanted: %s\n", rep.warnings.msgs[0], warning);
    }
    if (want) {
        CHECK(out != NULL && olen == strlen(want) && !memcmp(out, want, olen));
        if (out && (olen != strlen(want) || memcmp(out, want, olen)))
            fprintf(stderr, "got:\n%.*s\nwant:\n%s\n", (int)olen, (const char *)out, want);
    } else {
        CHECK(out == NULL);
    }
    free(out);
    win_report_free(&rep);
}

static void check_reagent(const char *in, const char *want, const win_map *m, unsigned nchanged,
                          size_t nwarn)
{
    check_reagent_n(in, strlen(in), want, m, nchanged, nwarn, NULL);
}

static void test_reagent(void)
{
    /* MBR 0x1234abcd: recovery at 93323264 moves to 1048576 of 0xcafe0001 */
    win_move mv[2] = { { .from = mbr(0x1234abcd, 93323264), .to = mbr(0xcafe0001, 1048576),
                         .what = "pc.img:4" },
                       { .from = mbr(0x1234abcd, 17825792), .to = mbr(0xcafe0001, 2097152),
                         .what = "pc.img:2" } };
    win_map m = { mv, 2 };
    const char *in = REAGENT_HEAD
        "  <WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"305441741\" offset=\"93323264\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        "  <ImageLocation path=\"\" id=\"0\" offset=\"0\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        REAGENT_TAIL;
    const char *want = REAGENT_HEAD
        "  <WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"3405643777\" offset=\"1048576\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        "  <ImageLocation path=\"\" id=\"0\" offset=\"0\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        REAGENT_TAIL;
    check_reagent(in, want, &m, 1, 0);

    /* MBR -> GPT: id 0 and the disk GUID, attributes in another order and quoted with ' */
    win_move g = { .from = mbr(0x1234abcd, 93323264),
                   .to = gpt("11111111-2222-4333-8444-555555555555",
                             "aaaaaaaa-0000-4000-8000-000000000004"),
                   .what = "pc.img:4" };
    g.to.mbr_offset = 3145728;
    win_map mg = { &g, 1 };
    in = "<WindowsRE><WinreLocation guid='{00000000-0000-0000-0000-000000000000}' offset='93323264' "
         "path='\\Recovery\\WindowsRE' id='305441741'></WinreLocation></WindowsRE>";
    want = "<WindowsRE><WinreLocation guid='{11111111-2222-4333-8444-555555555555}' offset='3145728' "
           "path='\\Recovery\\WindowsRE' id='0'></WinreLocation></WindowsRE>";
    check_reagent(in, want, &mg, 1, 0);

    /* GPT -> MBR: the disk GUID and offset name the source partition */
    win_move b = { .from = gpt("11111111-2222-4333-8444-555555555555",
                               "aaaaaaaa-0000-4000-8000-000000000004"),
                   .to = mbr(0x00c0ffee, 40894464), .what = "pc.img:4" };
    b.from.mbr_offset = 105906176;
    win_map mb = { &b, 1 };
    in = "<WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"0\" offset=\"105906176\" guid=\"{11111111-2222-4333-8444-555555555555}\"/>";
    want = "<WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"12648430\" offset=\"40894464\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>";
    check_reagent(in, want, &mb, 1, 0);

    /* a partition left behind, damaged values, a tag cut short, UTF-16:
     * warned about (or ignored) and left as they are */
    check_reagent("<WinreLocation path=\"\\R\" id=\"1\" offset=\"512\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>",
                  NULL, &m, 0, 1);
    check_reagent("<WinreLocation path=\"\\R\" id=\"99999999999\" offset=\"-1\" guid=\"x\"/>", NULL,
                  &m, 0, 1);
    /* not understood (issue 25 item 9): a cut tag, another format, UTF-16
     * with or without a BOM: warned about, never silently left */
    const char *cut = "<WinreLocation path=\"\\R\" id=\"305441741\" offset=\"93323264";
    check_reagent_n(cut, strlen(cut), NULL, &m, 0, 1,
                    "C: ReAgent.xml: no WinreLocation (or other *Location) element");
    check_reagent_n("{\"WinreLocation\": 1}", 20, NULL, &m, 0, 1, "damaged, cut short or another format");
    check_reagent_n("\xff\xfe<\0W\0", 6, NULL, &m, 0, 1, "UTF-16 text, which p2v does not rewrite");
    static const char u16[] = "<\0W\0i\0n\0r\0e\0L\0o\0c\0a\0t\0i\0o\0n\0 \0";
    check_reagent_n(u16, sizeof u16 - 1, NULL, &m, 0, 1,
                    "NUL bytes in it (UTF-16 without a byte order mark, or not text)");
}

/* Where ReAgent.xml puts WinRE, as plan roles read it: the WinreLocation
 * element only (not ImageLocation), with the rewrite's reading of values. */
static void test_reagent_winre(void)
{
    win_part_id loc;
    const char *in = REAGENT_HEAD
        "  <ImageLocation path=\"\\Recovery\\OEM\" id=\"305441741\" offset=\"1048576\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        "  <WinreLocation path=\"\\Recovery\\WindowsRE\" id=\"305441741\" offset=\"93323264\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>\r\n"
        REAGENT_TAIL;
    CHECK(win_reagent_winre((const uint8_t *)in, strlen(in), &loc));
    CHECK(!loc.gpt);
    CHECK_EQ_U64(loc.mbr_signature, 0x1234abcd);
    CHECK_EQ_U64(loc.mbr_offset, 93323264);
    /* GPT: id 0, the disk GUID */
    in = "<WindowsRE><WinreLocation guid='{11111111-2222-4333-8444-555555555555}' offset='105906176' "
         "path='\\Recovery\\WindowsRE' id='0'/></WindowsRE>";
    CHECK(win_reagent_winre((const uint8_t *)in, strlen(in), &loc));
    p2v_guid want;
    CHECK(guid_parse("11111111-2222-4333-8444-555555555555", &want) == 0);
    CHECK(loc.gpt && guid_equal(&loc.disk_guid, &want));
    CHECK_EQ_U64(loc.mbr_offset, 105906176);
    /* WinRE disabled (empty path), damaged values, a cut tag, UTF-16: none */
    static const char *const none[] = {
        "<WinreLocation path=\"\" id=\"305441741\" offset=\"93323264\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>",
        "<WinreLocation path=\"\\R\" id=\"99999999999\" offset=\"-1\" guid=\"x\"/>",
        "<WinreLocation path=\"\\R\" id=\"305441741\" offset=\"93323264",
        "<XWinreLocation path=\"\\R\" id=\"1\" offset=\"512\" guid=\"{00000000-0000-0000-0000-000000000000}\"/>",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        CHECK(!win_reagent_winre((const uint8_t *)none[i], strlen(none[i]), &loc));
    static const char u16[] = "<\0W\0i\0n\0r\0e\0L\0o\0c\0a\0t\0i\0o\0n\0 \0";
    CHECK(!win_reagent_winre((const uint8_t *)u16, sizeof u16 - 1, &loc));
}

/* The picking screen's flag: the release without its edition, and the build. */
static void test_install_short(void)
{
    static const struct { const char *product, *build, *want; } cases[] = {
        { "Windows 10 Pro", "19045", "Windows 10 (19045)" },
        { "Windows 10 Pro", "22631", "Windows 11 (22631)" }, /* 11 keeps 10's ProductName */
        { "Windows Server 2019 Standard", "17763", "Windows Server 2019 (17763)" },
        { "Windows 7 Professional", "7601", "Windows 7 (7601)" },
        { "Windows 8.1 Pro", "9600", "Windows 8.1 (9600)" },
        { "", "19045", "Windows (19045)" },
        { "Windows 10 Enterprise", "", "Windows 10" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        win_install w;
        memset(&w, 0, sizeof w);
        w.present = true;
        snprintf(w.product, sizeof w.product, "%s", cases[i].product);
        snprintf(w.build, sizeof w.build, "%s", cases[i].build);
        char out[96];
        win_install_short(&w, out, sizeof out);
        CHECK_STR(out, cases[i].want);
    }
}

int main(void)
{
    t_libdir(lib, sizeof lib, __FILE__);
    static void (*const tests[])(void) = {
        test_parse, test_install_short, test_md_forms, test_bcd_mbr_moved, test_bcd_gpt_to_mbr,
        test_mounted_mbr_to_gpt, test_refusals, test_reagent, test_reagent_winre,
    };
    return T_SCRATCH_RUN("win", "test_windows", tests);
}
