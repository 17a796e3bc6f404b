/* Boot sectors built by hand for the unit tests of the FAT and NTFS
 * readers: the fields every one of them starts and ends with. */
#ifndef P2V_TEST_BPB_TESTLIB_H
#define P2V_TEST_BPB_TESTLIB_H

#include <stdint.h>
#include <string.h>

#include "fs/bpb.h"
#include "util/endian.h"

/* s: a 512-byte boot sector, zeroed, then a short jump over jmp bytes
 * (EB jmp 90), the 8-byte OEM name, 512-byte sectors, spc sectors per
 * cluster and the 55 AA signature; the caller sets the rest. */
static inline void bpb_sector_start(uint8_t *s, uint8_t jmp, const char *oem, uint8_t spc)
{
    memset(s, 0, 512);
    s[BPB_JUMP] = 0xEB, s[BPB_JUMP + 1] = jmp, s[BPB_JUMP + 2] = 0x90;
    memcpy(s + BPB_OEM_NAME, oem, 8);
    put_le16(s + BPB_BYTES_PER_SECTOR, 512);
    s[BPB_SECTORS_PER_CLUSTER] = spc;
    s[BPB_SIGNATURE] = 0x55, s[BPB_SIGNATURE + 1] = 0xAA;
}

#endif
