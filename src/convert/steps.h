/* The steps of a conversion, as job.c calls them in order (and the report
 * and the run read what they made). A step works on the job's state
 * (convert_impl.h) and its partitions' layers (layers.h); it never calls
 * back into job.c. */
#ifndef P2V_CONVERT_STEPS_H
#define P2V_CONVERT_STEPS_H

#include "convert/convert_impl.h"

/* ---- --bad-sectors zero's map (convert/badmap.c) ---- */

/* --bad-sectors zero: the map's path (rq.bad_sectors_map, else OUTPUT.badmap
 * for a file OUTPUT; a stream or NBD OUTPUT needs it given) into job->badmap,
 * checked before anything is copied: never a source, OUTPUT or a non-regular
 * file, in a directory p2v can write. CONVERT_EUSAGE for a contradiction
 * (a map without zero mode, a stream without a map). */
int convert_badmap_prepare(convert_job *job, p2v_err *err);

/* ---- partitions of their own size (convert/resize.c) ---- */

/* Before planning: the byte sizes of DISK:N=SIZE and DISK:N=min selections
 * (into psel[].bytes), refusing a size the filesystem cannot take. */
int convert_resize_sizes(convert_job *job, const convert_events *ev, p2v_err *err);
/* After planning: every copied partition of another size than its source
 * gets its filesystem fitted on an overlay (NTFS) or a notice (others). */
int convert_resize_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
/* The overlay plan part `part` is copied from after a resize, or NULL
 * (layers.c stacks the partition on it). */
blockdev *convert_resize_overlay(const convert_job *job, size_t part);
const convert_resize_part *convert_resize_part_of(const convert_job *job, size_t part);
void convert_resize_free(convert_resize *rs);

/* ---- Windows (convert/windows.c, convert/bcdboot.c; the fixes: winfix.h) ---- */

/* Before planning, what a firmware switch of Windows needs (each with a
 * notice): --boot uefi with a Windows that has no ESP selected and no
 * --add-esp gets one (rq.plan.extra); --boot bios from a Windows without a
 * BIOS boot store and without --active makes a selected System Reserved
 * partition active, else Windows' partition (rq.plan.active). */
void convert_windows_plan_options(convert_job *job, const convert_events *ev);
/* Run every Windows fix that applies (unless rq.no_windows_fixups), the
 * edits going to the partitions' edit layers; refuse a Windows without a
 * reachable boot store. Warnings go to ev. */
int convert_windows_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
/* The files the firmware switch put in the new ESP of plan part `part`
 * (for boot_format_esp_tree), or NULL. */
struct fatbuild *convert_windows_esp_tree(const convert_job *job, size_t part);
void convert_winstate_free(convert_winstate *ws);

/* ---- the VM definition (convert/vmdef.c), before the driver step ---- */

/* What the VM definition will carry that other steps follow: this machine
 * read once (rq.vmdef.spec given), the MAC the VM's NIC gets (the network
 * step picks the new adapter by it), and whether a selected partition is
 * BitLocker-encrypted (a notice; --tpm auto gives the VM a TPM). */
int convert_vmdef_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_vmdef_free(convert_job *job);

/* ---- Windows drivers (convert/drivers.c), after convert_windows_prepare ---- */

/* For every selected Windows, planned from its hives and carried out on
 * the partition's edit layer. convert_drivers_text is in convert.h. */
int convert_drivers_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_drivers_free(convert_job *job);
void convert_drivers_json(const convert_job *job, json_writer *j);

/* ---- Windows' page, swap and hibernation files (convert/sysfiles.c) ---- */

/* After the driver step: which of them each copied NTFS partition holds, on
 * the view the copy reads (the copy leaves them out through its used map,
 * fsmap_opts.skip_system_files); the dry run's list and each partition's
 * "system_files" in JSON. */
int convert_sysfiles_prepare(convert_job *job, const convert_events *ev, p2v_err *err);
void convert_sysfiles_text(const convert_job *job, FILE *f);
void convert_sysfiles_json(const convert_job *job, json_writer *j, size_t part);
void convert_sysfiles_free(convert_job *job);

#endif
