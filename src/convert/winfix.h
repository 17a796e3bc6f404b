/* The Windows fixes as rows (nbdkit's filters, libblkid's probers): the
 * Windows step (convert/windows.c) runs the rows of convert_winfixes[] in
 * order, and the report prints each row's count. A fix is one file with
 * its functions and one row in the table.
 *
 * A part fix runs on every copied partition it applies to, in the order of
 * the plan; on NTFS it reads the volume as the earlier steps left it and
 * hands back whole files to write (every part fix's files are written in
 * one mount afterwards), on FAT it edits in the partition's edit layer
 * itself. A job fix runs once, after every partition's part fixes. */
#ifndef P2V_CONVERT_WINFIX_H
#define P2V_CONVERT_WINFIX_H

#include "convert/layers.h"

/* A file a part fix rewrote, to be written into the NTFS volume. */
typedef struct convert_file_edit {
    const char *path;
    uint8_t *data;
    size_t len;
} convert_file_edit;

#define CONVERT_WINVOL_EDITS 8

/* One copied partition as a part fix sees it. */
typedef struct convert_winvol {
    convert_job *job;
    size_t part;                /* plan part index */
    const convert_part *cp;     /* its probed source (win_probed) */
    const char *name;           /* "DISK:N", for messages */
    ntvol *v;                   /* NTFS: the volume read-only as it reads now; else NULL */
    convert_file_edit edits[CONVERT_WINVOL_EDITS];
    size_t nedits;
} convert_winvol;

typedef struct convert_winfix {
    const char *name;           /* what it does, for messages ("BCD device elements") */
    /* What the report counts for it: "%u <count.text>" in the text,
     * <count.json> in the JSON "windows" object; NULL: not counted. */
    struct {
        const char *text, *json;
    } count;
    /* A part fix: does it apply to this partition (fs type, what
     * detection found), and the fix, adding to *changed. */
    bool (*applies)(const convert_job *job, const convert_part *cp);
    int (*run_part)(convert_winvol *vol, unsigned *changed, p2v_err *err);
    /* A job fix (applies and run_part NULL): returns 0 when it has
     * nothing to do. */
    int (*run_job)(convert_job *job, unsigned *changed, p2v_err *err);
} convert_winfix;

/* The table (convert/windows.c), in the order the fixes run, and its length. */
extern const convert_winfix *const *const convert_winfixes;
extern const size_t convert_nwinfixes;

/* The rows, one per file. */
extern const convert_winfix convert_winfix_bcd;              /* winfix_bcd.c */
extern const convert_winfix convert_winfix_mounted_devices;  /* winfix_mounted.c */
extern const convert_winfix convert_winfix_reagent;          /* winfix_reagent.c */
extern const convert_winfix convert_winfix_firmware_bios;    /* bcdboot.c */
extern const convert_winfix convert_winfix_firmware_uefi;    /* bcdboot.c */

/* ---- what the fixes share (convert/winvol.c) ---- */

/* Plan part pp as Windows will name it in the image (MBR: signature +
 * offset; GPT: disk and partition GUIDs; the byte offset in both), and as
 * the source names it. */
win_part_id convert_win_target_id(const plan *p, const plan_part *pp);
win_part_id convert_win_source_id(const convert_job *job, const plan_part *pp);

/* Queue a rewritten file for the volume (data owned by vol afterwards;
 * NULL data: nothing changed, nothing queued). */
int convert_winvol_add(convert_winvol *vol, const char *path, uint8_t *data, size_t len,
                       p2v_err *err);
/* Write the queued files into the partition's edit layer (one NTFS mount
 * for writing, only when something is queued) and free them. */
int convert_winvol_write(convert_winvol *vol, p2v_err *err);
void convert_winvol_free(convert_winvol *vol);

/* The applies of a part fix on Windows' own volume: NTFS, with Windows on it. */
bool convert_winfix_on_windows(const convert_job *job, const convert_part *cp);

/* A hive or BCD p2v cannot read or edit stops the conversion: r, with the
 * way out added to the message once (copy Windows unchanged). */
int convert_win_way_out(int r, p2v_err *err);

/* The hive at path on the NTFS volume, rewritten in memory by fn; queued
 * when fn changed something. */
typedef int (*convert_hive_fn)(win_hive *h, const win_map *m, const char *what,
                               win_report *rep, unsigned *changed, p2v_err *err);
int convert_winvol_hive(convert_winvol *vol, const char *path, convert_hive_fn fn,
                        unsigned *changed, p2v_err *err);

#endif
