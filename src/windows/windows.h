/* Windows offline: find an installation on an NTFS volume, open and save its
 * registry hives (hivex over bytes in memory), and rewrite what Windows uses
 * to find its volumes after a move: BCD device elements and
 * HKLM\SYSTEM\MountedDevices. Hives and BCDs are edited as bytes, so the
 * caller decides where they come from and go to (ntvol over a copy-on-write
 * overlay in a conversion; a buffer in tests and fuzzers). See
 * docs/windows.md for the formats and what changes when.
 * (Drivers live in windows/drivers.h.) */
#ifndef P2V_WINDOWS_H
#define P2V_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/ntvol.h"
#include "util/err.h"
#include "util/guid.h"

/* ---- registry hives ---- */

typedef struct win_hive win_hive;
struct hive_h; /* hivex's handle */

/* Open a hive from len bytes (copied; data need not outlive it). what names
 * it in messages ("disk.img:2 \Boot\BCD"). writable: changes are allowed and
 * win_hive_save returns them. -EBADMSG with a message saying "damaged" and
 * why when hivex refuses the bytes (not a hive, a structure it rejects). */
int win_hive_open(const uint8_t *data, size_t len, bool writable, const char *what,
                  win_hive **out, p2v_err *err);
/* hivex's handle, for direct hivex calls (hivex.h). Owned by h. */
struct hive_h *win_hive_h(win_hive *h);
const char *win_hive_what(const win_hive *h);
/* The hive's bytes with the changes made through it (*data to free()). */
int win_hive_save(win_hive *h, uint8_t **data, size_t *len, p2v_err *err);
void win_hive_close(win_hive *h);

/* The one registry path walker: the key at a '\'-separated path below the
 * key `from` (0: the root), each name looked up without regard to case;
 * empty names (doubled, leading or trailing '\') are skipped. With create,
 * keys missing on the way are made. 0 when missing or not made (errno says
 * why when hivex failed). Takes hivex's handle, so callers holding only a
 * hive_h (the driver edits) walk the same way. */
size_t win_hive_walk(struct hive_h *h, size_t from, const char *path, bool create);
/* win_hive_walk(win_hive_h(h), 0, path, false). */
size_t win_hive_node(win_hive *h, const char *path);
/* A REG_SZ / REG_EXPAND_SZ value of a node as UTF-8 (truncated to cap), or
 * a REG_DWORD value. 0, or -ENOENT when the node or value is missing or
 * has another type. */
int win_hive_get_string(win_hive *h, const char *path, const char *value, char *out,
                        size_t cap);
int win_hive_get_dword(win_hive *h, const char *path, const char *value, uint32_t *out);

/* ---- detection ---- */

/* A partition as Windows names it: MBR = disk signature + byte offset; GPT =
 * disk GUID + partition GUID (GUIDs in on-disk byte order). */
typedef struct win_part_id {
    bool gpt;
    uint32_t mbr_signature;
    uint64_t mbr_offset;      /* bytes from the start of the disk (set for GPT too:
                               * ReAgent.xml names GPT partitions by offset) */
    p2v_guid disk_guid;
    p2v_guid part_guid;
} win_part_id;

typedef struct win_install {
    bool present;             /* \Windows\System32\config\SYSTEM exists */
    char product[128];        /* SOFTWARE ...\CurrentVersion ProductName ("Windows 10 Pro") */
    char build[16];           /* CurrentBuild (or CurrentBuildNumber) */
    char installation_type[32]; /* InstallationType ("Client", "Server"), may be "" */
    char arch[16];            /* "x64", "x86", "arm64", or "" when unknown */
    bool bcd_template;        /* \Windows\System32\config\BCD-Template exists */
} win_install;

typedef struct win_volume {
    win_install win;          /* Windows installed on this volume */
    bool bcd_bios;            /* \Boot\BCD (BIOS boot store) */
    bool bcd_efi;             /* \EFI\Microsoft\Boot\BCD (an ESP's, rarely on NTFS) */
    bool bootmgr;             /* \bootmgr (the BIOS boot manager the boot code loads) */
    bool winre_named;         /* Windows' ReAgent.xml names the partition WinRE lives on */
    win_part_id winre;        /* that partition (disk identity and byte offset; no
                                 part_guid: ReAgent.xml does not give it) */
} win_volume;

/* Look at an NTFS volume: Windows' system hive, its version (SOFTWARE
 * hive) and architecture (SYSTEM: Session Manager\Environment
 * PROCESSOR_ARCHITECTURE of the current control set), the boot stores, and
 * where WinRE lives (\Windows\System32\Recovery\ReAgent.xml, read as
 * win_reagent_winre does).
 * A hive that cannot be read leaves the fields empty (present stays true):
 * only read errors of the volume are errors. */
int win_detect(ntvol *v, win_volume *out, p2v_err *err);

/* win_detect on the NTFS volume at [off, off + len) of bd, mounted
 * read-only for the look. -EINVAL (with libntfs-3g's reason) when the
 * volume cannot be mounted. */
int win_detect_part(blockdev *bd, uint64_t off, uint64_t len, win_volume *out, p2v_err *err);

/* The boot store of a FAT volume (an ESP): bcd_efi when it holds
 * \EFI\Microsoft\Boot\BCD (and bcd_bios for \Boot\BCD). -EINVAL when it is
 * not a FAT volume p2v can read. */
int win_detect_fat(blockdev *bd, uint64_t off, uint64_t len, win_volume *out, p2v_err *err);

/* "Windows 10 Pro (19045, x64)"-style summary of an installation into out. */
void win_install_summary(const win_install *w, char *out, size_t cap);
/* "Windows 10 (19045)": the release without its edition (the ProductName up
 * to its first word that starts with a digit; Windows 11, which still calls
 * itself Windows 10 there, from its build, 22000 on) and the build; for the
 * picking screen's flags. */
void win_install_short(const win_install *w, char *out, size_t cap);

/* ---- partition identities and the mapping old -> new ---- */

typedef struct win_move {
    win_part_id from;         /* on the source disk */
    win_part_id to;           /* in the image */
    char what[64];            /* "disk.img:2", for the report */
} win_move;

typedef struct win_map {
    const win_move *v;
    size_t count;
} win_map;

/* The move whose source identity id names, or NULL. MBR ids match on
 * signature and offset; GPT ids on the partition GUID (unique; the disk
 * GUID is not compared, so a BCD with a stale disk GUID is still fixed). */
const win_move *win_map_find(const win_map *m, const win_part_id *id);

/* "MBR 0x1234abcd @ 1048576" / "GPT disk {…} partition {…}" */
void win_part_id_format(const win_part_id *id, char *out, size_t cap);

/* What a rewrite did, one line each, for the dry run and the report; and
 * what it could not do (warnings). */
typedef struct win_report {
    p2v_warnings changes;
    p2v_warnings warnings;
} win_report;
void win_report_free(win_report *r);

/* ---- BCD device elements ---- */

/* Sizes of the device encodings (docs/windows.md): an element = 16-byte
 * options GUID + a device block; a partition block is 0x48 bytes; a ramdisk
 * block nests a file record (12 bytes + a device block + a UTF-16 path)
 * after its local-device part: 24 bytes as Windows writes it (u32 kind 3,
 * u64 image base, u64 image size, u32 image offset, packed), or 32 (the
 * same padded to 8-byte alignment, as p2v's earlier test stores had it). */
#define WIN_BCD_GUID_LEN 16
#define WIN_BCD_BLOCK_HDR 16
#define WIN_BCD_PART_BLOCK 0x48
#define WIN_BCD_RAMDISK_LOCAL 24
#define WIN_BCD_RAMDISK_LOCAL_PADDED 32
#define WIN_BCD_FILE_HDR 12

/* One partition reference found inside a device element's bytes. */
typedef struct win_dev_ref {
    size_t offset;            /* of the 0x48 partition block within the element */
    win_part_id id;
    int depth;                /* 0: the element's own device; 1: nested (ramdisk) */
} win_dev_ref;

/* Parse a device element's value (len bytes, untrusted) and list the
 * partition blocks it holds, following the lengths (never pattern-
 * scanning). At most max refs are stored; *n is how many were found.
 * 0, or -EINVAL with why (what and the offending values) for bytes that do
 * not follow the layout. Other device kinds (boot, locate, disk, ...) give
 * no refs. */
int win_bcd_device_parse(const uint8_t *elem, size_t len, win_dev_ref *refs, size_t max,
                         size_t *n, char *why, size_t whylen);

/* Write id into the partition block at elem + offset (as found by the
 * parser): partition id, style and disk id; the rest is kept. */
void win_bcd_device_set(uint8_t *elem, size_t offset, const win_part_id *id);

/* Rewrite every device element of a BCD hive through the map: each
 * reference to a moved partition names its new place (style follows the
 * target). References to partitions not in the map are left and warned
 * about, naming the object's description. FirmwareVariable values (stale
 * EFI device paths) are dropped. store names the BCD in the report
 * ("\Boot\BCD"). *changed counts the elements rewritten. */
int win_bcd_rewrite(win_hive *bcd, const win_map *m, const char *store, win_report *rep,
                    unsigned *changed, p2v_err *err);

/* ---- a new BCD (offline bcdboot) ---- */

/* What a new boot store names: the partition holding the boot manager
 * (BIOS: the active partition with bootmgr and \Boot; UEFI: the ESP), and
 * Windows' partition (os), and its boot-menu text. */
typedef struct win_bcd_new {
    win_part_id boot;
    win_part_id os;
    const char *description;  /* "Windows 10 Pro"; NULL: "Windows" */
    const char *locale;       /* NULL: "en-US" */
} win_bcd_new;

/* Fill a hive (opened writable from \Windows\System32\config\BCD-Template,
 * whose inheritable objects it keeps) with the objects bcdboot makes for
 * BIOS: {bootmgr} (device = boot, no path, default and display order = the
 * loader, timeout 30), an OS loader (device and osdevice = os,
 * \Windows\system32\winload.exe, systemroot \Windows, resume object), its
 * resume loader (winresume.exe, \hiberfil.sys) and {memdiag}
 * (\boot\memtest.exe on boot). Objects already there with the same GUIDs
 * are replaced. One change line per object into rep. */
int win_bcd_create_bios(win_hive *bcd, const win_bcd_new *b, win_report *rep, p2v_err *err);

/* The same for UEFI: {bootmgr} with device = the ESP and path
 * \EFI\Microsoft\Boot\bootmgfw.efi, the loader \Windows\system32\winload.efi,
 * the resume loader winresume.efi, {memdiag} \EFI\Microsoft\Boot\memtest.efi
 * on the ESP. */
int win_bcd_create_uefi(win_hive *bcd, const win_bcd_new *b, win_report *rep, p2v_err *err);

/* ---- MountedDevices ---- */

#define WIN_MD_MBR_LEN 12         /* signature u32 + offset u64 */
#define WIN_MD_GPT_LEN 24         /* "DMIO:ID:" + partition GUID */

/* Parse one MountedDevices value; false when it is neither form (a value
 * naming a device by its PnP path, for instance). */
bool win_md_parse(const uint8_t *data, size_t len, win_part_id *out);
/* Encode id in the form its style asks for; returns the length (12 or 24). */
size_t win_md_encode(const win_part_id *id, uint8_t out[WIN_MD_GPT_LEN]);

/* Rewrite HKLM\SYSTEM\MountedDevices (system is the SYSTEM hive): every
 * \DosDevices\X: and \??\Volume{...} value naming a moved partition names
 * its new identity; drive letters are reported as kept. Values of
 * partitions left behind are kept as they are. *changed counts the values
 * rewritten. A hive without MountedDevices is no error (nothing to do). */
int win_md_rewrite(win_hive *system, const win_map *m, win_report *rep, unsigned *changed,
                   p2v_err *err);

/* ---- WinRE: ReAgent.xml ---- */

/* Rewrite \Windows\System32\Recovery\ReAgent.xml (UTF-8 text, len
 * bytes, untrusted): in every element whose name ends in "Location"
 * (WinreLocation, ImageLocation, PBRImageLocation, ...) with a non-empty
 * path, a reference to a moved partition (MBR: id = disk signature in
 * decimal, guid all zeros; GPT: id 0, guid = disk GUID; offset = the
 * partition's byte offset) names its new place in the target's style; all
 * other bytes are kept. References to partitions not in the map are
 * warned about and kept; so is a text p2v does not understand (UTF-16 with
 * or without a BOM, no *Location element at all), with a warning. *out
 * (to free()) and *olen hold the new text, or
 * *out is NULL when nothing changed; *changed counts the elements. */
int win_reagent_rewrite(const uint8_t *xml, size_t len, const win_map *m, const char *what,
                        uint8_t **out, size_t *olen, win_report *rep, unsigned *changed,
                        p2v_err *err);

/* Where ReAgent.xml (len bytes, untrusted) puts WinRE: its WinreLocation
 * element with a non-empty path and a partition reference p2v reads (the
 * same reading win_reagent_rewrite makes), into *loc: gpt with disk_guid,
 * or the MBR signature; mbr_offset the partition's byte offset. true when
 * there is one; false when WinRE is disabled (empty path), the reference
 * is not one p2v reads, or the text is not one it reads (UTF-16). */
bool win_reagent_winre(const uint8_t *xml, size_t len, win_part_id *loc);

#endif
