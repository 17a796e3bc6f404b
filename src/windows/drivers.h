/* virtio drivers for an offline Windows: read a virtio-win tree (directory or
 * ISO 9660 image), pick the drivers that fit a given Windows, and compute the
 * registry edits and file copies that make the image boot on a virtio (or
 * SATA/IDE) disk controller. Everything is data (drv_plan: registry edits and
 * file copies, which the dry run lists) until drv_edits_apply() writes the
 * edits into an open hivex handle, or drv_job_apply() carries a whole plan
 * out on an NTFS volume (ntvol, over a copy-on-write overlay).
 *
 * See docs/drivers.md for the layouts understood, the choice of an OS
 * directory, and every registry key written. */
#ifndef P2V_WINDOWS_DRIVERS_H
#define P2V_WINDOWS_DRIVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "windows/inf.h"

typedef struct blockdev blockdev;

/* ---- the Windows the drivers are for ---- */

enum drv_arch { DRV_ARCH_X86, DRV_ARCH_AMD64 };

typedef struct drv_windows {
    unsigned major, minor, build; /* 6.1.7601, 10.0.19045 ... (CurrentMajorVersionNumber...) */
    bool server;                  /* InstallationType "Server" (or "Server Core") */
    enum drv_arch arch;
    bool version_unknown;         /* SOFTWARE names no version nor build: major.minor
                                   * are 0; drivers cannot be chosen, the built-in
                                   * controllers are still set */
} drv_windows;

/* "Windows 10 (10.0.19045) client amd64" for messages. */
void drv_windows_describe(const drv_windows *w, char *buf, size_t len);
/* Windows 8 / Server 2012 (6.2) and later bind boot drivers through the
 * DriverDatabase; earlier ones through the CriticalDeviceDatabase. */
bool drv_windows_has_driver_database(const drv_windows *w);

/* ---- a driver package described by its INF ---- */

typedef struct drv_service {
    char *name;          /* AddService name: viostor */
    char *binary;        /* file name of ServiceBinary: viostor.sys */
    uint32_t type;       /* ServiceType (1 kernel driver) */
    uint32_t start;      /* StartType as the INF says (before p2v forces boot start) */
    uint32_t error_control;
    char *group;         /* LoadOrderGroup, or NULL */
    char *display_name;  /* DisplayName, or NULL */
} drv_service;

typedef struct drv_device {
    char *hwid;          /* PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00 */
    char *description;   /* the model's description, strings substituted */
    char *install;       /* DDInstall section name as found (viostor_inst.NTamd64) */
} drv_device;

typedef struct drv_package {
    char *inf_path;      /* path of the .inf inside the tree */
    char *inf_name;      /* its file name: viostor.inf */
    char *dir;           /* directory of the .inf inside the tree ("" at the root) */
    char *driver_ver;    /* DriverVer: "03/28/2023,100.93.104.24000", or NULL */
    char *version;       /* the version part of DriverVer, or NULL */
    char *provider;      /* Provider, or NULL */
    char *class_name;    /* Class: SCSIAdapter */
    char *class_guid;    /* ClassGuid: {4D36E97B-E325-11CE-BFC1-08002BE10318} */
    char *catalog;       /* CatalogFile (for this arch), or NULL */
    char *manufacturer;  /* the [Manufacturer] name of the models used */
    char *models_section;/* the models section chosen for the arch/version */
    drv_device *devices;
    size_t ndevices;
    drv_service service; /* the service the first device installs */
    char **files;        /* every file of the package: .inf, catalog, CopyFiles, SourceDisksFiles */
    size_t nfiles;
} drv_package;

/* Read the package an INF describes for Windows w: the models section whose
 * decoration (NTamd64.10.0, NTx86, NT ...) fits w best, its hardware IDs,
 * the DDInstall section, its AddService and service-install section, the
 * files. -ENOENT (message: no models for <arch> / <version>) when the INF
 * installs nothing on w; -EINVAL for an INF whose sections do not add up.
 * inf_path is copied. */
int drv_package_from_inf(const inf *f, const char *inf_path, const drv_windows *w,
                         drv_package *out, p2v_err *err);
void drv_package_free(drv_package *p);

/* ---- the virtio-win tree ---- */

typedef struct drv_tree drv_tree;

/* A directory holding a virtio-win tree (walked, never written). */
int drv_tree_open_dir(const char *dir, drv_tree **out, p2v_err *err);
/* An ISO 9660 image (virtio-win.iso) read through libarchive from bd, which
 * must outlive the tree; no mounting. Unreadable or not ISO 9660 -> -EINVAL
 * naming bd's path. */
int drv_tree_open_iso(blockdev *bd, drv_tree **out, p2v_err *err);
/* Directory or ISO, by what path is (a directory, else an ISO image file). */
int drv_tree_open(const char *path, drv_tree **out, p2v_err *err);
void drv_tree_close(drv_tree *t);

const char *drv_tree_name(const drv_tree *t);
size_t drv_tree_count(const drv_tree *t);
/* Path of the i-th regular file, '/'-separated, relative to the tree root. */
const char *drv_tree_path(const drv_tree *t, size_t i);
/* Size in bytes of the i-th file, as the directory or the ISO records it. */
uint64_t drv_tree_size(const drv_tree *t, size_t i);
/* The file whose path equals path without regard to case (ISO 9660 names
 * are often upper case), or -1. */
long drv_tree_find(const drv_tree *t, const char *path);
/* Read the whole i-th file into a malloc'd buffer. Files over 256 MiB are
 * refused. */
int drv_tree_read(drv_tree *t, size_t i, uint8_t **buf, size_t *len, p2v_err *err);

/* ---- choosing drivers ---- */

enum drv_role {
    DRV_ROLE_BOOT,      /* storage: registered as boot-start drivers offline */
    DRV_ROLE_FIRSTBOOT, /* staged and installed by pnputil at first boot */
};

typedef struct drv_choice {
    drv_package pkg;
    enum drv_role role;
    char os_dir[16];    /* the OS directory used ("w10", "2k19" ...) */
    bool fallback;      /* os_dir is older than (or the other edition of) w */
} drv_choice;

typedef struct drv_selection {
    drv_windows win;
    drv_choice *v;
    size_t n;
    long agent;         /* tree index of the qemu-ga installer for w's arch, or -1 */
} drv_selection;

/* The service names p2v installs, with their role: viostor, vioscsi (boot);
 * netkvm, balloon, vioser/VirtioSerial (first boot). */
bool drv_wanted_service(const char *service, enum drv_role *role);

/* Pick, for each wanted service, the INF of the tree that installs it on w:
 * the INFs of w's arch, in the OS directory that is w's own or, missing that,
 * the nearest older one (same edition first, then the other). Both layouts:
 * <driver>/<os>/<arch>/ and <arch>/<os>/. -ENOENT with a message naming the OS
 * and arch when the tree has no driver at all for w. */
int drv_select(drv_tree *t, const drv_windows *w, drv_selection *out, p2v_err *err);
void drv_selection_free(drv_selection *s);
/* The choice that installs service (case-insensitive), or NULL. */
const drv_choice *drv_selection_find(const drv_selection *s, const char *service);

/* ---- the target disk controller ---- */

enum drv_bus { DRV_BUS_NONE, DRV_BUS_VIRTIO_BLK, DRV_BUS_VIRTIO_SCSI, DRV_BUS_SATA, DRV_BUS_IDE };

/* "virtio-blk" ... -> 0, else -EINVAL. */
int drv_bus_parse(const char *s, enum drv_bus *bus);
const char *drv_bus_name(enum drv_bus bus);
/* The boot service a bus needs from the tree: viostor, vioscsi, or NULL
 * (SATA and IDE use Windows' own drivers). */
const char *drv_bus_service(enum drv_bus bus);
/* 0 when the image can boot on bus with sel (which may be NULL: no
 * --drivers); else -ENOENT: "virtio-blk needs the viostor driver for
 * Windows 10 (10.0.19045) client amd64; ..." */
int drv_check_bus(enum drv_bus bus, const drv_selection *sel, const drv_windows *w, p2v_err *err);

/* ---- registry edits as data ---- */

/* DRIVERS: \Windows\System32\config\DRIVERS, where Windows 10 keeps the
 * DriverDatabase (SYSTEM's DriverDatabase is then a registry link to it). */
enum drv_hive { DRV_HIVE_SYSTEM, DRV_HIVE_SOFTWARE, DRV_HIVE_DRIVERS };
enum drv_op { DRV_OP_SET, DRV_OP_DELETE_KEY };

/* Registry value types as hivex and Windows number them. */
enum { DRV_REG_SZ = 1, DRV_REG_EXPAND_SZ = 2, DRV_REG_BINARY = 3, DRV_REG_DWORD = 4,
       DRV_REG_MULTI_SZ = 7 };

typedef struct drv_edit {
    enum drv_hive hive;
    enum drv_op op;
    char *key;          /* from the hive root, '\'-separated: ControlSet001\Services\viostor */
    char *name;         /* value name ("" = the default value); NULL for DELETE_KEY */
    uint32_t type;
    uint8_t *data;      /* as stored: UTF-16LE strings with their NUL(s), LE dwords */
    size_t len;
    char *shown;        /* the value as text, for the dry run and JSON */
} drv_edit;

/* A file the image must receive. */
typedef struct drv_copy {
    long src;           /* tree index, or -1 when data holds generated content */
    uint8_t *data;      /* generated content (the first-boot script) */
    size_t len;
    char *dst;          /* Windows path from the volume root: Windows\System32\drivers\viostor.sys */
} drv_copy;

typedef struct drv_plan {
    drv_edit *edits;
    size_t nedits;
    drv_copy *copies;
    size_t ncopies;
    unsigned controlsets[3]; /* the distinct ControlSet numbers edited */
    size_t ncontrolsets;
    enum drv_hive ddb_hive;  /* where the DriverDatabase edits go (drv_ddb_hive) */
    char *firstboot;         /* the first-boot script's step commands so far, or NULL */
    bool firstboot_retry;    /* a step may fail: the script tries again (drv_firstboot_add) */
} drv_plan;

/* Add cmd.exe commands (CRLF-terminated lines) to the one first-boot script
 * \Windows\p2v\firstboot.cmd, made on first use with its RunOnce value
 * (SOFTWARE ...\RunOnce p2v-drivers): it logs to
 * %SystemRoot%\p2v-firstboot.log, runs the steps in the order added, and
 * removes \Windows\p2v with itself. retry: the commands may `goto retry`,
 * which has the script run again at the next logon, three runs at most.
 * 0 or -ENOMEM. */
int drv_firstboot_add(drv_plan *p, const char *commands, bool retry);

typedef struct hive_h hive_h;

/* The ControlSets Select names (Current, Default, LastKnownGood; distinct,
 * existing ones only). -ENOENT when Select\Current is missing. */
int drv_controlsets(hive_h *system, unsigned out[3], size_t *n, p2v_err *err);

/* Which hive holds the DriverDatabase p2v writes: DRIVERS when there is a
 * DRIVERS hive (drivers not NULL) and SYSTEM's DriverDatabase is missing or
 * a registry link into it (a SymbolicLinkValue of type REG_LINK naming
 * \Registry\Machine\DRIVERS\...); else SYSTEM, as virt-v2v does. */
enum drv_hive drv_ddb_hive(hive_h *system, hive_h *drivers);

/* The whole plan, read against the SYSTEM hive (opened read-only is enough)
 * and the DRIVERS hive (NULL when there is none): built-in controllers
 * (storahci, msahci, atapi, intelide, pciide that exist: Start=0,
 * StartOverride removed) always; with sel (may be NULL) the boot drivers
 * (files, Services\<svc>, CriticalDeviceDatabase before Windows 8,
 * DriverDatabase, with each package's Version, and DriverStore from 8 on, in
 * the hive drv_ddb_hive names) and the first-boot staging (files under
 * Windows\p2v\, the script, a RunOnce value in SOFTWARE), in every
 * ControlSet that Select names. tree is where sel's files are (NULL with
 * sel NULL). */
int drv_plan_build(const drv_windows *w, const drv_selection *sel, drv_tree *tree,
                   hive_h *system, hive_h *drivers, drv_plan *out, p2v_err *err);
void drv_plan_free(drv_plan *p);

/* Whether the file at a volume path ("/Windows/System32/drivers/x.sys",
 * looked up without regard to case) exists: 1, 0, or a negative errno with
 * err filled. */
typedef int (*drv_file_exists_fn)(void *ctx, const char *path, p2v_err *err);

/* Add to p (whose controlsets are set) the edits that clear the old PC's
 * leftovers, in every ControlSet of p: in the UpperFilters/LowerFilters of
 * the disk, IDE/ATA, SCSI/RAID and volume classes (Control\Class\{...}),
 * filters whose service is missing or whose binary (ImagePath, else
 * System32\drivers\<name>.sys) exists says is missing are removed, and,
 * unless keep_services, filters of hardware a VM lacks (a table) too; unless
 * keep_services, the services in a table of other virtualisers' guest tools
 * and vendor storage managers that exist are disabled (Start=4). Each edit's
 * shown text says why. docs/windows.md lists both tables. */
int drv_leftovers_plan(hive_h *system, drv_file_exists_fn exists, void *ctx, bool keep_services,
                       drv_plan *p, p2v_err *err);

/* Apply the edits for hive (SYSTEM, SOFTWARE or DRIVERS) to h, in order: keys are made
 * as needed, values replaced, DELETE_KEY of a missing key is no edit. The
 * caller commits (hivex_commit) or discards. */
int drv_edits_apply(const drv_plan *p, enum drv_hive hive, hive_h *h, p2v_err *err);

/* ---- on a Windows volume ---- */

typedef struct ntvol ntvol;
typedef struct win_hive win_hive;

/* The Windows whose hives these are: major.minor from SOFTWARE
 * CurrentMajorVersionNumber (Windows 10+; with CurrentMinorVersionNumber,
 * else the minor of a CurrentVersion of the same major, else 0), else
 * CurrentVersion ("6.1"), else the release CurrentBuild falls in; the build
 * from CurrentBuild (or CurrentBuildNumber); server when InstallationType
 * or ProductName says so; arch from SYSTEM's PROCESSOR_ARCHITECTURE in the
 * current ControlSet (AMD64, x86). No version at all is no error
 * (version_unknown). -ENOENT naming a missing arch; -ENOTSUP for another
 * arch (ARM64). */
int drv_windows_from_hives(win_hive *system, win_hive *software, drv_windows *out, p2v_err *err);

/* What the driver step will do to one Windows volume. */
typedef struct drv_job {
    drv_windows win;
    bool has_sel;         /* a tree was given and had drivers for win */
    drv_selection sel;
    drv_plan plan;
    struct net_config *net; /* the old PC's network settings (windows/network.h), or NULL */
    bool net_keep;          /* --network keep: static ones re-applied at first boot */
} drv_job;

/* Read the Windows on v (\Windows\System32\config\SYSTEM and SOFTWARE,
 * and DRIVERS where it exists), choose its drivers from tree (NULL: no
 * --drivers: built-in controllers only), refuse a bus it cannot boot on
 * (drv_check_bus), and plan. A Windows whose version cannot be told gets
 * the built-in controllers only; asking drivers for it (a tree, or a
 * virtio bus) is refused (-ENOENT). The old PC's leftovers are planned
 * too (drv_leftovers_plan; flags DRV_JOB_KEEP_SERVICES keeps the services
 * and the table's filters), and the network settings read (net_read) and,
 * unless DRV_JOB_NETWORK_DHCP, the static ones staged for the first boot
 * (net_plan); mac (NULL: none) is the MAC the VM's NIC gets from the VM
 * definition, which the Windows' one wired interface's settings follow
 * (net_match_mac). Nothing is written. what names the volume in
 * messages ("disk.img:2"). */
#define DRV_JOB_KEEP_SERVICES 1u /* drv_leftovers_plan's keep_services */
#define DRV_JOB_NETWORK_DHCP 2u  /* --network dhcp: network settings listed, not re-applied */
int drv_job_prepare(ntvol *v, const char *what, drv_tree *tree, enum drv_bus bus, unsigned flags,
                    const char *mac, drv_job *out, p2v_err *err);
/* drv_job_prepare on hives already open (drivers may be NULL). */
int drv_job_prepare_hives(win_hive *system, win_hive *software, win_hive *drivers,
                          drv_tree *tree, enum drv_bus bus, drv_job *out, p2v_err *err);
/* Carry the plan out on v (opened with NTVOL_WRITE over an overlay): every
 * file (directories made as needed), then the SYSTEM, SOFTWARE and DRIVERS
 * hives that have edits, edited and written back. */
int drv_job_apply(ntvol *v, const char *what, drv_tree *tree, const drv_job *job, p2v_err *err);
void drv_job_free(drv_job *job);

/* ---- reports ---- */

typedef struct json_writer json_writer;

/* The dry run's account: the Windows, each driver chosen (INF, version, OS
 * directory, device IDs, role), every registry value set or key removed
 * (hive, key, name, type, value) and every file written. sel may be NULL. */
void drv_report_text(const drv_windows *w, const drv_selection *sel, const drv_tree *tree,
                     const drv_plan *p, FILE *f);
/* The same as one JSON object:
 * {"windows":{...},"drivers":[{"service","inf","version","driver_ver","os_dir",
 *  "fallback","role","devices":[...]}],"registry":[{"hive","op","key","name",
 *  "type","value"}],"files":[{"path","source"}]} */
void drv_report_json(const drv_windows *w, const drv_selection *sel, const drv_tree *tree,
                     const drv_plan *p, json_writer *j);

#endif
