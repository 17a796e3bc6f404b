/* The picking screen's model without a terminal: picks and their order,
 * refused partitions, target options, the planner's verdict after every
 * change, and the equivalent command line. Two memory disks like the story's
 * PC: an MBR disk with boot, D:, C:, an extended partition and a logical
 * recovery partition; a GPT disk with F: and G:. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ptable_testlib.h"
#include "t.h"
#include "tui/tui.h"

static memdisk mbr_mem, gpt_mem;
static memdisk gpt_disk(void);

static convert_disk *open_mem(const memdisk *m, const char *name)
{
    blockdev *bd;
    convert_disk *d = NULL;
    p2v_err err;
    CHECK(bd_open_mem(m->buf, m->len, 512, name, &bd, &err) == 0);
    if (convert_disk_from_bd(bd, NULL, &d, &err) < 0)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CHECK(d != NULL);
    return d;
}

static void make_disks(void)
{
    ptable_part mp[5] = {
        { .number = 1, .start = 2048, .size = 8192, .mbr_type = 0x07, .bootable = true },
        { .number = 2, .start = 10240, .size = 16384, .mbr_type = 0x83 },
        { .number = 3, .start = 26625, .size = 20480, .mbr_type = 0x07 },
        { .number = 4, .start = 49152, .size = 40960, .mbr_type = 0x0f, .container = true },
        { .number = 5, .start = 51200, .size = 8192, .mbr_type = 0x27, .logical = true,
          .ebr_lba = 49152 },
    };
    ptable mt = { .type = PTABLE_MBR, .sector_size = 512, .disk_sectors = 131072,
                  .mbr_signature = 0x1ee7c0de, .parts = mp, .nparts = 5 };
    mbr_mem = memdisk_with_table(&mt);

    gpt_mem = gpt_disk();
}

/* The GPT disk; every call makes a new disk GUID (another disk, same layout). */
static memdisk gpt_disk(void)
{
    ptable_part gp[2] = {
        { .number = 1, .start = 2048, .size = 16384 },
        { .number = 2, .start = 18432, .size = 8192 },
    };
    guid_parse(GPT_TYPE_BASIC_DATA, &gp[0].type_guid);
    guid_parse(GPT_TYPE_LINUX_FS, &gp[1].type_guid);
    guid_generate(&gp[0].uuid);
    guid_generate(&gp[1].uuid);
    ptable gt = { .type = PTABLE_GPT, .sector_size = 512, .disk_sectors = 65536,
                  .parts = gp, .nparts = 2 };
    guid_generate(&gt.disk_guid);
    return memdisk_with_table(&gt);
}

static void new_state(tui_state *s)
{
    p2v_err err;
    char out[64];
    tui_state_init(s, 0);
    snprintf(out, sizeof out, "/tmp/p2v-test-tui-%d.qcow2", (int)getpid());
    CHECK(tui_set_field(s, TUI_F_OUTPUT, out, &err) == 0);
    CHECK(tui_add_disk(s, open_mem(&mbr_mem, "d1.img"), &err) == 0);
    CHECK(tui_add_disk(s, open_mem(&gpt_mem, "d2.img"), &err) == 0);
    CHECK_EQ_U64(s->ndisks, 2);
}

/* The numbers of the copied source partitions of the plan, in disk order. */
static void plan_order(const tui_state *s, char *out, size_t len)
{
    const plan *p = convert_job_plan(s->job);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p->nparts; i++) {
        const plan_part *pp = &p->parts[i];
        const convert_disk *d = convert_job_disk(s->job, pp);
        o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "",
                              d ? "" : pp->kind == PLAN_PART_MSR ? "msr" : "new");
        if (d)
            o += (size_t)snprintf(out + o, len - o, "%s:%u", d->path, pp->src->number);
    }
}

static void test_picks_and_order(void)
{
    tui_state s;
    p2v_err err;
    char order[256];
    new_state(&s);
    CHECK(tui_validate(&s) == CONVERT_EUSAGE);
    CHECK(!s.valid);
    CHECK_STR(s.status, "no partition selected");

    /* the story: boot, recovery, F:, D:, C: */
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 5, &err) == 0);
    CHECK(tui_toggle(&s, 1, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 2, &err) == 0);
    CHECK(tui_toggle(&s, 0, 3, &err) == 0);
    CHECK_EQ_U64(s.npicks, 5);
    CHECK_EQ_U64(tui_pick_pos(&s, "d1.img", 5), 2);
    CHECK_EQ_U64(tui_pick_pos(&s, "d2.img", 1), 3);
    CHECK_EQ_U64(tui_pick_pos(&s, "d2.img", 2), 0);
    CHECK(tui_validate(&s) == 0);
    CHECK(s.valid);
    plan_order(&s, order, sizeof order);
    CHECK_STR(order, "d1.img:1 d1.img:5 d2.img:1 d1.img:2 d1.img:3");
    CHECK(strncmp(s.status, "ok: 5 partitions, MBR table", 27) == 0);

    /* the extended container cannot be picked, and says why */
    CHECK(tui_toggle(&s, 0, 4, &err) == -EPERM);
    CHECK(strstr(err.msg, "d1.img:4 cannot be copied: extended partition") != NULL);
    CHECK(tui_toggle(&s, 0, 9, &err) == -ENOENT);

    /* reorder: C: two places earlier, then past both ends (clamped) */
    CHECK_EQ_U64(tui_move(&s, "d1.img", 3, -2), 3);
    CHECK_EQ_U64(tui_move(&s, "d1.img", 3, -10), 1);
    CHECK_EQ_U64(tui_move(&s, "d1.img", 3, 10), 5);
    CHECK_EQ_U64(tui_move(&s, "d2.img", 2, 1), 0); /* not picked */
    CHECK_EQ_U64(tui_move(&s, "d2.img", 1, 1), 4);
    CHECK(tui_validate(&s) == 0);
    plan_order(&s, order, sizeof order);
    CHECK_STR(order, "d1.img:1 d1.img:5 d1.img:2 d2.img:1 d1.img:3");

    /* space again drops a pick; the rest keep their order */
    CHECK(tui_toggle(&s, 0, 5, &err) == 0);
    CHECK_EQ_U64(s.npicks, 4);
    CHECK_EQ_U64(tui_pick_pos(&s, "d1.img", 2), 2);
    tui_clear_picks(&s);
    CHECK_EQ_U64(s.npicks, 0);
    tui_state_free(&s);
}

static void test_target_options(void)
{
    tui_state s;
    p2v_err err;
    char v[64], order[256];
    new_state(&s);
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 3, &err) == 0);

    tui_field_value(&s, TUI_F_TABLE, v, sizeof v);
    CHECK_STR(v, "auto");
    tui_cycle(&s, TUI_F_TABLE, 1);
    tui_field_value(&s, TUI_F_TABLE, v, sizeof v);
    CHECK_STR(v, "MBR");
    tui_cycle(&s, TUI_F_TABLE, 1);
    CHECK(s.target.table == PTABLE_GPT);
    tui_cycle(&s, TUI_F_TABLE, 1);
    CHECK(s.target.table == PTABLE_NONE);
    tui_cycle(&s, TUI_F_TABLE, -1);
    CHECK(s.target.table == PTABLE_GPT);
    /* a GPT target with Windows partitions gets an MSR in front of them */
    CHECK(tui_validate(&s) == 0);
    plan_order(&s, order, sizeof order);
    CHECK_STR(order, "msr d1.img:1 d1.img:3");
    CHECK(convert_job_plan(s.job)->table == PTABLE_GPT);

    tui_cycle(&s, TUI_F_BOOT, 1);
    CHECK(s.target.boot == PLAN_FW_BIOS);
    tui_cycle(&s, TUI_F_BOOT, 1);
    CHECK(s.target.boot == PLAN_FW_UEFI);

    /* an ESP too small for FAT32: the planner's error, nothing valid */
    CHECK(tui_set_field(&s, TUI_F_ESP, "1M", &err) == 0);
    CHECK(tui_validate(&s) == CONVERT_EUSAGE);
    CHECK(!s.valid && s.job == NULL);
    CHECK(strstr(s.status, "--add-esp") != NULL);
    CHECK(tui_set_field(&s, TUI_F_ESP, "64M", &err) == 0);
    CHECK(tui_validate(&s) == 0);
    plan_order(&s, order, sizeof order);
    CHECK_STR(order, "new msr d1.img:1 d1.img:3");
    CHECK(tui_set_field(&s, TUI_F_ESP, "", &err) == 0);
    CHECK_EQ_U64(s.target.add_esp, 0);

    /* a size smaller than the layout: refused by the planner */
    CHECK(tui_set_field(&s, TUI_F_SIZE, "1M", &err) == 0);
    CHECK(tui_validate(&s) < 0);
    CHECK(!s.valid);
    CHECK(s.status[0] != '\0');
    /* a larger one grows the last partition to the end */
    CHECK(tui_set_field(&s, TUI_F_SIZE, "200M", &err) == 0);
    CHECK(tui_validate(&s) == 0);
    const plan *p = convert_job_plan(s.job);
    CHECK_EQ_U64(plan_disk_bytes(p), 200ULL << 20);
    CHECK_EQ_U64(p->parts[p->nparts - 1].start + p->parts[p->nparts - 1].sectors,
                 p->last_usable + 1);

    CHECK(tui_set_field(&s, TUI_F_SIZE, "lots", &err) == -EINVAL);
    CHECK(strstr(err.msg, "'lots' is not a size") != NULL);
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, "", &err) == -EINVAL);
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, "-", &err) == -EINVAL);
    CHECK(strstr(err.msg, "p2v convert -o -") != NULL);
    CHECK(tui_set_field(&s, TUI_F_TABLE, "x", &err) == -EINVAL);

    tui_cycle(&s, TUI_F_FORMAT, 1);
    tui_cycle(&s, TUI_F_COMPRESS, 1);
    tui_field_value(&s, TUI_F_COMPRESS, v, sizeof v);
    CHECK_STR(v, "-"); /* raw: no compression */
    tui_cycle(&s, TUI_F_FORMAT, 1);
    tui_field_value(&s, TUI_F_COMPRESS, v, sizeof v);
    CHECK_STR(v, "zlib");
    tui_cycle(&s, TUI_F_COMPRESS, 1);
    tui_field_value(&s, TUI_F_COMPRESS, v, sizeof v);
    CHECK_STR(v, "zstd");
    tui_state_free(&s);
}

static void test_output_exists(void)
{
    tui_state s;
    p2v_err err;
    new_state(&s);
    CHECK(tui_toggle(&s, 1, 1, &err) == 0);
    FILE *f = fopen(s.target.output, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK(tui_validate(&s) < 0);
    CHECK(strstr(s.status, s.target.output) != NULL);
    tui_cycle(&s, TUI_F_FORCE, 1);
    CHECK(tui_validate(&s) == 0);
    unlink(s.target.output);
    tui_state_free(&s);
}

static void test_command_line(void)
{
    tui_state s;
    p2v_err err;
    char cmd[1024];
    new_state(&s);
    CHECK(tui_toggle(&s, 1, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 3, &err) == 0);
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, "my pc's.qcow2", &err) == 0);
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK_STR(cmd, "p2v convert -o 'my pc'\\''s.qcow2' d2.img:1 d1.img:3");
    tui_cycle(&s, TUI_F_TABLE, -1);      /* GPT */
    tui_cycle(&s, TUI_F_BOOT, -1);       /* UEFI */
    CHECK(tui_set_field(&s, TUI_F_ESP, "100M", &err) == 0);
    CHECK(tui_set_field(&s, TUI_F_SIZE, "1536M", &err) == 0);
    tui_cycle(&s, TUI_F_COMPRESS, -1);   /* zstd */
    tui_cycle(&s, TUI_F_FORCE, 1);
    tui_cycle(&s, TUI_F_VERIFY, 1);
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, "pc.qcow2", &err) == 0);
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK_STR(cmd, "p2v convert -t gpt --boot uefi --add-esp 100M --size 1536M -c zstd -f "
                   "--verify -o pc.qcow2 d2.img:1 d1.img:3");
    tui_cycle(&s, TUI_F_FORMAT, 1);
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK(strstr(cmd, " -O raw -f ") != NULL && !strstr(cmd, "-c "));
    tui_state_free(&s);
}

static void test_rows_and_reopen(void)
{
    tui_state s;
    p2v_err err;
    tui_row *rows;
    size_t n, dropped = 99;
    new_state(&s);
    CHECK(tui_rows(&s, &rows, &n) == 0);
    CHECK_EQ_U64(n, 2 + 5 + 2);
    CHECK(rows[0].part == NULL && rows[1].part && rows[1].part->p->number == 1);
    CHECK(rows[6].part == NULL && rows[6].disk == 1);
    char why[256];
    CHECK(tui_part_refused(rows[4].part, why, sizeof why));   /* the container */
    CHECK(!tui_part_refused(rows[5].part, why, sizeof why));  /* its logical */
    CHECK_STR(why, "");
    free(rows);

    /* a rescan that no longer finds the disks: picks dropped, errors listed */
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    char *paths[] = { "/nonexistent/p2v-tui-disk.img" };
    CHECK(tui_open_disks(&s, paths, 1, &dropped, &err) == 0);
    CHECK_EQ_U64(dropped, 1);
    CHECK_EQ_U64(s.npicks, 0);
    CHECK_EQ_U64(s.ndisks, 1);
    CHECK(s.disks[0].d == NULL);
    CHECK(strstr(s.disks[0].error, "/nonexistent/p2v-tui-disk.img") != NULL);
    CHECK(tui_toggle(&s, 0, 1, &err) == -ENOENT);
    tui_state_free(&s);
}

static void write_file(const char *path, const memdisk *m)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(m->buf, 1, m->len, f) == m->len);
    CHECK(fclose(f) == 0);
}

/* Save the plan, load it into a new screen: the same picks in the same
 * order, the same options; a disk that changed is refused by name. */
static void test_plan_files(void)
{
    char p1[64], p2[64], pj[64], cmd1[2048], cmd2[2048];
    snprintf(p1, sizeof p1, "/tmp/p2v-test-tui-%d-1.img", (int)getpid());
    snprintf(p2, sizeof p2, "/tmp/p2v-test-tui-%d-2.img", (int)getpid());
    snprintf(pj, sizeof pj, "/tmp/p2v-test-tui-%d.json", (int)getpid());
    write_file(p1, &mbr_mem);
    write_file(p2, &gpt_mem);
    char *paths[] = { p1, p2 };
    const char *const cand[] = { p1, p2 };
    tui_state s, t;
    p2v_err err;
    p2v_warnings notes = { 0 };
    tui_state_init(&s, 0);
    CHECK(tui_open_disks(&s, paths, 2, NULL, &err) == 0);
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, "/tmp/p2v-test-tui-never.qcow2", &err) == 0);
    CHECK(tui_save_plan(&s, pj, &err) == -EINVAL); /* nothing valid yet */
    CHECK(tui_toggle(&s, 1, 2, &err) == 0);
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 3, &err) == 0);
    tui_cycle(&s, TUI_F_TABLE, -1);     /* GPT */
    tui_cycle(&s, TUI_F_BOOT, -1);      /* UEFI */
    tui_cycle(&s, TUI_F_COMPRESS, -1);  /* zstd */
    tui_cycle(&s, TUI_F_VERIFY, 1);
    CHECK(tui_set_field(&s, TUI_F_ESP, "40M", &err) == 0);
    CHECK(tui_validate(&s) == 0);
    if (tui_save_plan(&s, pj, &err) < 0)
        fprintf(stderr, "save: %s\n", err.msg);
    tui_command_line(&s, cmd1, sizeof cmd1);

    tui_state_init(&t, 0);
    CHECK(tui_open_disks(&t, paths, 2, NULL, &err) == 0);
    CHECK(tui_toggle(&t, 1, 1, &err) == 0); /* replaced by the plan's picks */
    if (tui_load_plan(&t, pj, cand, 2, &notes, &err) < 0)
        fprintf(stderr, "load: %s\n", err.msg);
    CHECK_EQ_U64(t.npicks, 3);
    CHECK_EQ_U64(tui_pick_pos(&t, p2, 2), 1);
    CHECK_EQ_U64(tui_pick_pos(&t, p1, 1), 2);
    CHECK_EQ_U64(tui_pick_pos(&t, p1, 3), 3);
    CHECK_EQ_U64(tui_pick_pos(&t, p2, 1), 0);
    CHECK_EQ_U64(t.ndisks, 2);
    tui_command_line(&t, cmd2, sizeof cmd2);
    CHECK_STR(cmd2, cmd1);
    CHECK(strstr(cmd2, "-t gpt --boot uefi --add-esp 40M -c zstd --verify") != NULL);
    CHECK(tui_validate(&t) == 0);
    tui_state_free(&t);

    /* a screen with no disks listed: the plan's disks are opened and listed */
    tui_state_init(&t, 0);
    CHECK(tui_load_plan(&t, pj, cand, 2, &notes, &err) == 0);
    CHECK_EQ_U64(t.ndisks, 2);
    CHECK_EQ_U64(t.npicks, 3);
    tui_state_free(&t);

    /* disk 2 replaced by another disk (new GUID): refused, picks unchanged */
    memdisk other = gpt_disk();
    write_file(p2, &other);
    free(other.buf);
    tui_state_init(&t, 0);
    CHECK(tui_open_disks(&t, paths, 2, NULL, &err) == 0);
    CHECK(tui_toggle(&t, 1, 1, &err) == 0);
    CHECK(tui_load_plan(&t, pj, cand, 2, &notes, &err) < 0);
    CHECK(strstr(err.msg, pj) == err.msg);
    CHECK(strstr(err.msg, "no disk with this identity") != NULL);
    CHECK_EQ_U64(t.npicks, 1);
    tui_state_free(&t);
    CHECK(tui_load_plan(&t, "/nonexistent/plan.json", cand, 2, &notes, &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent/plan.json") != NULL);

    p2v_warnings_free(&notes);
    tui_state_free(&s);
    unlink(p1);
    unlink(p2);
    unlink(pj);
}

int main(void)
{
    make_disks();
    test_picks_and_order();
    test_target_options();
    test_output_exists();
    test_command_line();
    test_rows_and_reopen();
    test_plan_files();
    free(mbr_mem.buf);
    free(gpt_mem.buf);
    return t_done("test_tui_model");
}
