/* Sizes per selection on the picking screen's model, without a terminal:
 * the parser the CLI's DISK:N=SIZE|min uses too, a pick given SIZE or min,
 * refused text, the selection words and the command line, the request the
 * planner gets (it keeps a partition it cannot shrink at least as large as
 * its contents and refuses less), and a pick dropped and picked again
 * losing its size. A memory disk: MBR, two empty partitions of 4 and 8 MiB. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ptable_testlib.h"
#include "t.h"
#include "tui/tui.h"

static memdisk disk_mem;

static convert_disk *open_mem(const char *name)
{
    blockdev *bd;
    convert_disk *d = NULL;
    p2v_err err;
    CHECK(bd_open_mem(disk_mem.buf, disk_mem.len, 512, name, &bd, &err) == 0);
    CHECK(convert_disk_from_bd(bd, NULL, &d, &err) == 0);
    return d;
}

static void test_parser(void)
{
    uint64_t size = 7;
    bool min = true;
    CHECK(convert_parse_new_size("60G", &size, &min) == 0 && size == 60ULL << 30 && !min);
    CHECK(convert_parse_new_size("min", &size, &min) == 0 && size == 0 && min);
    CHECK(convert_parse_new_size("1536", &size, &min) == 0 && size == 1536 && !min);
    CHECK(convert_parse_new_size("0", &size, &min) == -EINVAL && size == 0 && !min);
    CHECK(convert_parse_new_size("12Q", &size, &min) == -EINVAL);
    CHECK(convert_parse_new_size("", &size, &min) == -EINVAL);
    CHECK(convert_parse_new_size("MIN", &size, &min) == -EINVAL);
}

static void test_pick_sizes(void)
{
    tui_state s;
    p2v_err err;
    char w[256], cmd[4096], out[64];
    tui_state_init(&s, 0);
    snprintf(out, sizeof out, "/tmp/p2v-test-tui-sizes-%d.qcow2", (int)getpid());
    CHECK(tui_set_field(&s, TUI_F_OUTPUT, out, &err) == 0);
    CHECK(tui_add_disk(&s, open_mem("d.img"), &err) == 0);

    CHECK(tui_set_pick_size(&s, "d.img", 1, "8M", &err) == -ENOENT);
    CHECK(strstr(err.msg, "d.img:1 is not picked") != NULL);
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 2, &err) == 0);
    CHECK(tui_set_pick_size(&s, "d.img", 1, "12Q", &err) == -EINVAL);
    CHECK_STR(err.msg, "d.img:1: '12Q' is not a size (bytes or K/M/G/T, or min)");
    CHECK(s.picks[0].size == 0 && !s.picks[0].size_min);

    /* larger than the source: the partition grows, its contents are kept */
    CHECK(tui_set_pick_size(&s, "d.img", 1, "6M", &err) == 0);
    CHECK(tui_set_pick_size(&s, "d.img", 2, "min", &err) == 0);
    tui_pick_word(&s, 0, w, sizeof w);
    CHECK_STR(w, "d.img:1=6M");
    tui_pick_word(&s, 1, w, sizeof w);
    CHECK_STR(w, "d.img:2=min");
    CHECK(tui_validate(&s) == 0);
    CHECK(s.valid);
    CHECK_EQ_U64(tui_pick_new_bytes(&s, 0), 6 * 1024 * 1024);
    CHECK_EQ_U64(tui_pick_new_bytes(&s, 1), 8 * 1024 * 1024);  /* min of unknown contents: kept */
    s.target.min_free = 3 << 20;
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK(strstr(cmd, " --min-free 3M ") != NULL);
    CHECK(strstr(cmd, " d.img:1=6M d.img:2=min") != NULL);
    /* an explicit zero (from a loaded plan) is said; the default is not */
    s.target.min_free = 0;
    s.target.min_free_set = true;
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK(strstr(cmd, " --min-free 0 ") != NULL);
    s.target.min_free_set = false;
    tui_command_line(&s, cmd, sizeof cmd);
    CHECK(strstr(cmd, "--min-free") == NULL);

    /* smaller than contents p2v cannot shrink: the planner's refusal */
    CHECK(tui_set_pick_size(&s, "d.img", 2, "2M", &err) == 0);
    CHECK(tui_validate(&s) < 0);
    CHECK(!s.valid);
    CHECK(strstr(s.status, "d.img:2: 2.0 MiB (2097152 bytes) is smaller than the source partition") != NULL);
    CHECK_EQ_U64(tui_pick_new_bytes(&s, 1), 0);

    /* "" gives the source's size back; dropped and picked again: no size */
    CHECK(tui_set_pick_size(&s, "d.img", 2, "", &err) == 0);
    tui_pick_word(&s, 1, w, sizeof w);
    CHECK_STR(w, "d.img:2");
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    CHECK(tui_toggle(&s, 0, 1, &err) == 0);
    tui_pick_word(&s, 1, w, sizeof w);
    CHECK_STR(w, "d.img:1");
    CHECK(tui_validate(&s) == 0);
    tui_state_free(&s);
}

int main(void)
{
    ptable_part mp[2] = {
        { .number = 1, .start = 2048, .size = 8192, .mbr_type = 0x83 },
        { .number = 2, .start = 10240, .size = 16384, .mbr_type = 0x83 },
    };
    ptable mt = { .type = PTABLE_MBR, .sector_size = 512, .disk_sectors = 65536,
                  .mbr_signature = 0x12345678, .parts = mp, .nparts = 2 };
    disk_mem = memdisk_with_table(&mt);
    test_parser();
    test_pick_sizes();
    free(disk_mem.buf);
    return t_done("test_tui_sizes");
}
