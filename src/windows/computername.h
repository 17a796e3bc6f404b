/* Windows' computer name, read offline from its SYSTEM hive (for output
 * names per PC, `-o {computername}`, and fleet reports). */
#ifndef P2V_WINDOWS_COMPUTERNAME_H
#define P2V_WINDOWS_COMPUTERNAME_H

#include <stddef.h>

#include "fs/ntvol.h"
#include "util/err.h"

/* ComputerName of ControlSet00N\Control\ComputerName\ComputerName, N from
 * Select\Current (1 when missing), as UTF-8 (cut at cap - 1 bytes). 0;
 * -ENOENT (with why) when the hive or the value is missing or empty; the
 * volume's read errors as they come. */
int win_computername(ntvol *v, char *out, size_t cap, p2v_err *err);

/* The same on the NTFS volume at [off, off + len) of bd, mounted read-only. */
int win_computername_part(blockdev *bd, uint64_t off, uint64_t len, char *out, size_t cap,
                          p2v_err *err);

#endif
