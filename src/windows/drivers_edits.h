/* Building a drv_plan: one call per registry value or file (internal). */
#ifndef P2V_WINDOWS_DRIVERS_EDITS_H
#define P2V_WINDOWS_DRIVERS_EDITS_H

#include <hivex.h>

#include "windows/drivers_impl.h"
#include "windows/windows.h"

/* Length of a DriverPackages\<pkg> Version value. */
#define DRV_DDB_VERSION_LEN 48

int drv_edit_dword(drv_plan *p, enum drv_hive hive, const char *key, const char *name, uint32_t v);
/* type REG_SZ or REG_EXPAND_SZ; stored as UTF-16LE with its NUL. */
int drv_edit_string(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                    uint32_t type, const char *v);
int drv_edit_multi(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                   const char *const *v, size_t n);
int drv_edit_binary(drv_plan *p, enum drv_hive hive, const char *key, const char *name,
                    const uint8_t *v, size_t len);
/* Append "  (note)" to the shown text of the last edit: why p2v makes it. */
int drv_edit_note(drv_plan *p, const char *note);
int drv_edit_delete_key(drv_plan *p, enum drv_hive hive, const char *key);
/* A file copy; data (owned by the plan afterwards) is the content when src is -1. */
int drv_copy_add(drv_plan *p, long src, uint8_t *data, size_t len, const char *dst);

#endif
