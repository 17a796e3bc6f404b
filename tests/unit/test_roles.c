/* Plans by role (plan/roles.c) on the synthetic PCs of the test suite, as
 * p2v's detection describes them: a BIOS Windows (System Reserved + C:), a
 * UEFI Windows (ESP, MSR, C:, WinRE), the story PC, a PC with two Windows,
 * and a vendor PC with OEM partitions. */
#include <errno.h>

#include "plan/roles.h"
#include "t.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define P(d, n, w, f, l, s, ...)                                                                    \
    { .disk = d, .number = n, .what = w, .fs = f, .label = l, .size = s, __VA_ARGS__ }

static const struct role_part win_mbr[] = {
    P(0, 1, "pc.img:1", "ntfs", "System Reserved", 100 * MiB, .active = true, .boot_store = true,
      .has_files = true),
    P(0, 2, "pc.img:2", "ntfs", "", 60 * GiB, .windows = true, .has_files = true,
      .win_version = "6.1.7601"),
};

static const struct role_part win_gpt[] = {
    P(0, 1, "nvme.img:1", "vfat", "SYSTEM", 100 * MiB, .esp = true, .boot_store = true,
      .has_files = true),
    P(0, 2, "nvme.img:2", "", "", 16 * MiB),
    P(0, 3, "nvme.img:3", "ntfs", "Windows", 200 * GiB, .windows = true, .has_files = true,
      .win_version = "10.0.19045"),
    P(0, 4, "nvme.img:4", "ntfs", "Recovery", 600 * MiB, .winre = true, .has_files = true),
    P(1, 1, "hdd.img:1", "ntfs", "DATA", 900 * GiB, .has_files = true),
    P(1, 2, "hdd.img:2", "vfat", "DOCS", 10 * GiB, .has_files = true),
};

static const struct role_part two_windows[] = {
    P(0, 1, "a.img:1", "ntfs", "", 50 * GiB, .active = true, .boot_store = true,
      .windows = true, .has_files = true, .win_version = "6.1.7601"),
    P(0, 2, "a.img:2", "ntfs", "", 80 * GiB, .windows = true, .has_files = true,
      .win_version = "10.0.19045"),
};

static const struct role_part oem_pc[] = {
    P(0, 1, "d.img:1", "vfat", "DellUtility", 40 * MiB, .oem = true, .has_files = true),
    P(0, 2, "d.img:2", "vfat", "ESP", 500 * MiB, .esp = true, .boot_store = true,
      .has_files = true),
    P(0, 3, "d.img:3", "ntfs", "OS", 100 * GiB, .windows = true, .has_files = true,
      .win_version = "10.0.22631"),
    P(0, 4, "d.img:4", "ntfs", "Image", 12 * GiB, .oem = true, .has_files = true),
    P(0, 5, "d.img:5", "", "", 4 * GiB, .swap = true),
};

static size_t resolve(const struct role_sel *s, size_t ns, const struct role_part *p, size_t np,
                      bool keep, struct role_pick *picks, int *rc, p2v_err *err)
{
    size_t n = 0;
    *rc = roles_resolve(s, ns, p, np, keep, picks, &n, err);
    return n;
}

static void test_fleet_plan(void)
{
    /* the example plan: boot, recovery (optional), data D* (optional), windows=min */
    struct role_sel plan[] = {
        { .role = ROLE_BOOT, .disk = ROLE_DISK_ANY },
        { .role = ROLE_RECOVERY, .disk = ROLE_DISK_ANY, .optional = true },
        { .role = ROLE_DATA, .label = "D*", .disk = ROLE_DISK_ANY, .optional = true },
        { .role = ROLE_WINDOWS, .disk = ROLE_DISK_ANY, .size = "min" },
    };
    struct role_pick picks[8];
    p2v_err err = { { 0 } };
    int rc;
    size_t n = resolve(plan, 4, win_gpt, 6, false, picks, &rc, &err);
    CHECK(rc == 0);
    CHECK_EQ_U64(n, 5); /* ESP, WinRE, DATA, DOCS, Windows last */
    CHECK_STR(win_gpt[picks[0].part].what, "nvme.img:1");
    CHECK_STR(win_gpt[picks[1].part].what, "nvme.img:4");
    CHECK_STR(win_gpt[picks[2].part].what, "hdd.img:1");
    CHECK_STR(win_gpt[picks[3].part].what, "hdd.img:2");
    CHECK_STR(win_gpt[picks[4].part].what, "nvme.img:3");
    CHECK_EQ_U64(picks[4].sel, 3);

    /* the same plan on the BIOS Windows: no recovery, no data, both optional */
    n = resolve(plan, 4, win_mbr, 2, false, picks, &rc, &err);
    CHECK(rc == 0 && n == 2);
    CHECK_STR(win_mbr[picks[0].part].what, "pc.img:1");
    CHECK_STR(win_mbr[picks[1].part].what, "pc.img:2");

    /* only the system disk's data */
    struct role_sel sys_data[] = { { .role = ROLE_DATA, .disk = ROLE_DISK_OTHER } };
    n = resolve(sys_data, 1, win_gpt, 6, false, picks, &rc, &err);
    CHECK(rc == 0 && n == 2 && win_gpt[picks[0].part].disk == 1);
}

static void test_refusals(void)
{
    struct role_pick picks[8];
    p2v_err err = { { 0 } };
    int rc;
    struct role_sel win[] = { { .role = ROLE_WINDOWS, .disk = ROLE_DISK_ANY } };
    resolve(win, 1, two_windows, 2, false, picks, &rc, &err);
    CHECK(rc == -EEXIST);
    CHECK(strstr(err.msg, "select entry 1 (windows) matches 2 partitions where one is meant: "
                          "a.img:1 and a.img:2") != NULL);
    /* a version filter makes it one */
    struct role_sel win10[] = { { .role = ROLE_WINDOWS, .disk = ROLE_DISK_ANY, .version = "10.*" } };
    size_t n = resolve(win10, 1, two_windows, 2, false, picks, &rc, &err);
    CHECK(rc == 0 && n == 1 && picks[0].part == 1);
    /* a non-optional entry with no match */
    struct role_sel rec[] = { { .role = ROLE_BOOT, .disk = ROLE_DISK_ANY },
                              { .role = ROLE_RECOVERY, .disk = ROLE_DISK_ANY } };
    resolve(rec, 2, win_mbr, 2, false, picks, &rc, &err);
    CHECK(rc == -ENOENT && strstr(err.msg, "select entry 2 (recovery) matches no partition"));
}

static void test_boot_on_windows(void)
{
    /* boot store and Windows on one volume: picked once */
    struct role_sel plan[] = { { .role = ROLE_BOOT, .disk = ROLE_DISK_ANY },
                               { .role = ROLE_WINDOWS, .disk = ROLE_DISK_ANY, .version = "6.1*" } };
    struct role_pick picks[8];
    p2v_err err = { { 0 } };
    int rc;
    size_t n = resolve(plan, 2, two_windows, 2, false, picks, &rc, &err);
    CHECK(rc == 0 && n == 1 && picks[0].part == 0);
}

static void test_oem(void)
{
    struct role_sel plan[] = { { .role = ROLE_BOOT, .disk = ROLE_DISK_ANY },
                               { .role = ROLE_WINDOWS, .disk = ROLE_DISK_ANY },
                               { .role = ROLE_DATA, .disk = ROLE_DISK_ANY, .optional = true } };
    struct role_pick picks[8];
    p2v_err err = { { 0 } };
    int rc;
    size_t n = resolve(plan, 3, oem_pc, 5, true, picks, &rc, &err);
    /* OEM partitions and swap are no data: left out unless asked for */
    CHECK(rc == 0 && n == 2);
    CHECK_STR(oem_pc[picks[0].part].what, "d.img:2");
    CHECK_STR(oem_pc[picks[1].part].what, "d.img:3");
    struct role_sel oem[] = { { .role = ROLE_OEM, .disk = ROLE_DISK_ANY, .min_size = GiB } };
    n = resolve(oem, 1, oem_pc, 5, true, picks, &rc, &err);
    CHECK(rc == 0 && n == 1 && picks[0].part == 3);
    CHECK(roles_of(&oem_pc[4]) == 1u << ROLE_SWAP);
    enum role_kind r;
    CHECK(role_parse("recovery", &r) == 0 && r == ROLE_RECOVERY);
    CHECK(role_parse("system", &r) == -EINVAL);
}

int main(void)
{
    test_fleet_plan();
    test_refusals();
    test_boot_on_windows();
    test_oem();
    return t_done("test_roles");
}
