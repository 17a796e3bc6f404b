/* p2v's own MBR boot program: size and structure. Its behaviour (finding the
 * active partition, loading and entering the VBR) is proved by booting it in
 * qemu: tests/integration/boot_bios.sh. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot/boot.h"
#include "t.h"

extern const uint8_t p2v_mbr_bin[];
extern const size_t p2v_mbr_bin_size;

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return true;
    return false;
}

static size_t find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return i;
    return (size_t)-1;
}

int main(void)
{
    uint8_t code[BOOT_MBR_CODE_SIZE];
    memset(code, 0xCC, sizeof code);

    /* The build assembled it, padded to exactly the 440 bytes before the disk
     * signature (nasm refuses to assemble a longer program). */
    CHECK_EQ_U64(p2v_mbr_bin_size, BOOT_MBR_CODE_SIZE);
    CHECK_EQ_U64(boot_mbr_program(code), 0);
    CHECK(!memcmp(code, p2v_mbr_bin, BOOT_MBR_CODE_SIZE));

    /* The real code ends well before 440: the last non-zero byte (the saved
     * drive number, 0x80) leaves room to spare. */
    size_t last = 0;
    for (size_t i = 0; i < sizeof code; i++)
        if (code[i])
            last = i;
    CHECK(last < BOOT_MBR_CODE_SIZE - 8);
    CHECK_EQ_U64(code[last], 0x80);

    /* Entry: cli; xor ax,ax; mov ss,ax; mov sp,0x7C00 */
    static const uint8_t entry[] = {0xFA, 0x31, 0xC0, 0x8E, 0xD0, 0xBC, 0x00, 0x7C};
    CHECK(!memcmp(code, entry, sizeof entry));

    /* Relocation: mov si,0x7C00; mov di,0x0600; mov cx,256; rep movsw; then a
     * far jump into the copy, inside the first 440 bytes at 0000:06xx. */
    static const uint8_t reloc[] = {0xBE, 0x00, 0x7C, 0xBF, 0x00, 0x06, 0xB9, 0x00, 0x01, 0xF3, 0xA5, 0xEA};
    size_t r = find(code, sizeof code, reloc, sizeof reloc);
    CHECK(r != (size_t)-1);
    if (r != (size_t)-1) {
        size_t at = r + sizeof reloc;
        uint16_t off = (uint16_t)(code[at] | code[at + 1] << 8);
        uint16_t seg = (uint16_t)(code[at + 2] | code[at + 3] << 8);
        CHECK_EQ_U64(seg, 0);
        /* the jump lands on the instruction right after itself, in the copy */
        CHECK_EQ_U64(off, 0x600 + at + 4);
    }

    /* It scans the table of the relocated copy: mov si,0x07BE (0x600 + 446). */
    static const uint8_t scan[] = {0xBE, 0xBE, 0x07};
    CHECK(contains(code, sizeof code, scan, sizeof scan));

    /* INT 13h extensions check: mov ah,41h; mov bx,55AAh; int 13h */
    static const uint8_t ext_check[] = {0xB4, 0x41, 0xBB, 0xAA, 0x55, 0xCD, 0x13};
    CHECK(contains(code, sizeof code, ext_check, sizeof ext_check));
    /* Extended read: mov ah,42h; int 13h */
    static const uint8_t ext_read[] = {0xB4, 0x42, 0xCD, 0x13};
    CHECK(contains(code, sizeof code, ext_read, sizeof ext_read));
    /* The LBA comes from the entry's start field: push dword [bp+8] */
    static const uint8_t push_lba[] = {0x66, 0xFF, 0x76, 0x08};
    CHECK(contains(code, sizeof code, push_lba, sizeof push_lba));
    /* The loaded sector must carry 55AA: cmp word [0x7DFE],0xAA55 */
    static const uint8_t sigchk[] = {0x81, 0x3E, 0xFE, 0x7D, 0x55, 0xAA};
    CHECK(contains(code, sizeof code, sigchk, sizeof sigchk));
    /* Hand-over: mov si,bp (DS:SI = entry), then jmp 0000:7C00 */
    static const uint8_t handover_si[] = {0x89, 0xEE};
    static const uint8_t handover_jmp[] = {0xEA, 0x00, 0x7C, 0x00, 0x00};
    size_t h = find(code, sizeof code, handover_jmp, sizeof handover_jmp);
    CHECK(h != (size_t)-1);
    CHECK(contains(code, sizeof code, handover_si, sizeof handover_si));
    if (h != (size_t)-1 && h >= 6) {
        /* mov si,bp; mov dl,[drive]; jmp 0:7C00 */
        CHECK(!memcmp(code + h - 6, handover_si, sizeof handover_si));
        CHECK_EQ_U64(code[h - 4], 0x8A);
        CHECK_EQ_U64(code[h - 3], 0x16);
    }

    /* The messages a user sees. */
    static const char *msgs[] = {"p2v MBR: ", "no active partition", "disk read error",
                                 "invalid partition table", "INT 13h extensions"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        CHECK(contains(code, sizeof code, msgs[i], strlen(msgs[i])));

    return t_done("test_boot_mbr");
}
