/* What filesystem a selected partition holds and its label, for the layout
 * the user sees and for the planner's type decisions. */
#ifndef P2V_PLAN_PROBE_H
#define P2V_PLAN_PROBE_H

#include <stdint.h>

#include "blockdev/blockdev.h"

/* Fill fstype ("ntfs", "vfat", "ext4", ... or "") and label ("" if none).
 * Never fails: an unreadable or unknown partition gives empty strings. */
void plan_probe_fs(blockdev *bd, uint64_t offset, uint64_t len, char fstype[16], char label[64]);

#endif
