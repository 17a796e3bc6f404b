/* libFuzzer harness: WinRE's ReAgent.xml rewrite on arbitrary bytes. Every
 * tag is scanned within the input; in a rewritten file, the inverse moves
 * must find at least the references that were rewritten (the new values
 * leave the tags' structure as it was). Where WinRE lives (the reading plan
 * roles make) follows the rewrite: a WinreLocation on a moved partition
 * names its new place afterwards. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "windows/windows.h"

static win_part_id mbr(uint32_t sig, uint64_t off)
{
    return (win_part_id){ .mbr_signature = sig, .mbr_offset = off };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    win_part_id g = { .gpt = true, .mbr_offset = 3145728 };
    memset(g.disk_guid.b, 0x11, 16);
    memset(g.part_guid.b, 0x44, 16);
    win_move mv[2] = { { .from = mbr(0x1234abcd, 93323264), .to = mbr(0xcafe0001, 1048576) },
                       { .from = mbr(0x1234abcd, 17825792), .to = g } };
    win_move back[2] = { { .from = mv[0].to, .to = mv[0].from },
                         { .from = mv[1].to, .to = mv[1].from } };
    win_map m = { mv, 2 }, mb = { back, 2 };
    win_report rep = { 0 };
    p2v_err err = { 0 };
    uint8_t *out = NULL, *again = NULL;
    size_t olen = 0, alen = 0;
    unsigned n = 0, n2 = 0;
    win_part_id loc, loc2;
    bool found = win_reagent_winre(data, size, &loc);
    if (win_reagent_rewrite(data, size, &m, "fuzz", &out, &olen, &rep, &n, &err) == 0 && out) {
        if (found && !loc.gpt && loc.mbr_signature == 0x1234abcd && loc.mbr_offset == 93323264 &&
            (!win_reagent_winre(out, olen, &loc2) || loc2.gpt ||
             loc2.mbr_signature != 0xcafe0001 || loc2.mbr_offset != 1048576))
            __builtin_trap(); /* the rewrite and the reading disagree */
        if (win_reagent_rewrite(out, olen, &mb, "fuzz", &again, &alen, &rep, &n2, &err) != 0 ||
            !again || n2 < n)
            __builtin_trap(); /* what was rewritten cannot be found again */
        free(again);
    }
    free(out);
    win_report_free(&rep);
    return 0;
}
