/* The picking screen's equivalent `p2v convert` command line, shell-quoted
 * (split from model.c: the model's state in, one string out). */
#include <stdio.h>
#include <string.h>

#include "tui/tui.h"
#include "util/size.h"

static void append(char *out, size_t len, size_t *o, const char *s)
{
    size_t l = strlen(s);
    if (*o + l + 1 > len)
        return;
    memcpy(out + *o, s, l + 1);
    *o += l;
}

/* A word as the shell reads it back: bare when safe, else in single quotes. */
static void append_word(char *out, size_t len, size_t *o, const char *w)
{
    bool safe = w[0] != '\0';
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=+,@%", *p))
            safe = false;
    append(out, len, o, " ");
    if (safe) {
        append(out, len, o, w);
        return;
    }
    append(out, len, o, "'");
    for (const char *p = w; *p; p++) {
        char c[2] = { *p, 0 };
        append(out, len, o, *p == '\'' ? "'\\''" : c);
    }
    append(out, len, o, "'");
}

static void append_size(char *out, size_t len, size_t *o, const char *opt, uint64_t v)
{
    char num[32];
    tui_size_word(v, num, sizeof num);
    append_word(out, len, o, opt);
    append_word(out, len, o, num);
}

void tui_command_line(const tui_state *s, char *out, size_t len)
{
    const tui_target *t = &s->target;
    size_t o = 0;
    if (!len)
        return;
    out[0] = '\0';
    append(out, len, &o, "p2v convert");
    if (t->table != PTABLE_NONE)
        append(out, len, &o, t->table == PTABLE_GPT ? " -t gpt" : " -t mbr");
    if (t->boot != PLAN_FW_NONE)
        append(out, len, &o, t->boot == PLAN_FW_UEFI ? " --boot uefi" : " --boot bios");
    if (t->add_esp)
        append_size(out, len, &o, "--add-esp", t->add_esp);
    if (t->size)
        append_size(out, len, &o, "--size", t->size);
    if (t->align)
        append_size(out, len, &o, "--align", t->align);
    if (t->no_msr)
        append(out, len, &o, " --no-msr");
    if (t->copy_all)
        append(out, len, &o, " --copy all");
    if (t->allow_dirty)
        append(out, len, &o, " --allow-dirty");
    if (t->min_free || t->min_free_set)
        append_size(out, len, &o, "--min-free", t->min_free);
    if (t->active_disk && tui_pick_pos(s, t->active_disk, t->active_number)) {
        char sel[4200];
        snprintf(sel, sizeof sel, "%s:%u", t->active_disk, t->active_number);
        append(out, len, &o, " --active");
        append_word(out, len, &o, sel);
    }
    if (t->format == SINK_RAW)
        append(out, len, &o, " -O raw");
    else if (t->cluster_size)
        append_size(out, len, &o, "--cluster-size", t->cluster_size);
    if (t->format != SINK_RAW && t->compression)
        append(out, len, &o, t->compression == SINK_COMPRESS_ZSTD ? " -c zstd" : " -c zlib");
    if (t->force)
        append(out, len, &o, " -f");
    if (t->verify)
        append(out, len, &o, " --verify");
    if (s->sector_size)
        append(out, len, &o, s->sector_size == 4096 ? " --sector-size 4096" : " --sector-size 512");
    if (t->vmdef[0]) {
        append(out, len, &o, " --vm-def");
        append_word(out, len, &o, t->vmdef);
    }
    append(out, len, &o, " -o");
    append_word(out, len, &o, t->output);
    for (size_t i = 0; i < s->npicks; i++) {
        char sel[4200];
        tui_pick_word(s, i, sel, sizeof sel);
        append_word(out, len, &o, sel);
    }
}
