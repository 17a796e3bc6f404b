/* What the words on the serial console or a screenshot mean. Text from OCR
 * is approximate, so everything is compared in a loose canonical form:
 * letters and digits only, upper case, O read as 0, I/L as 1 and U as V,
 * ANSI escape sequences dropped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/bootcheck.h"
#include "util/hex.h"

typedef struct fail_pattern {
    enum bootcheck_fail_kind kind;
    const char *words;
} fail_pattern;

/* Most specific first: a stop screen names its code, a firmware message
 * only says that nothing booted. */
static const fail_pattern fail_patterns[] = {
    { BOOTCHECK_FAIL_STOP, "ran into a problem" },
    { BOOTCHECK_FAIL_STOP, "A problem has been detected and Windows has been shut down" },
    { BOOTCHECK_FAIL_STOP, "Stop code" },
    { BOOTCHECK_FAIL_STOP, "STOP: 0x" },
    { BOOTCHECK_FAIL_STOP, "INACCESSIBLE_BOOT_DEVICE" },
    { BOOTCHECK_FAIL_STOP, "UNMOUNTABLE_BOOT_VOLUME" },
    { BOOTCHECK_FAIL_BOOTMGR, "Windows failed to start" },
    { BOOTCHECK_FAIL_BOOTMGR, "needs to be repaired" },
    { BOOTCHECK_FAIL_BOOTMGR, "Automatic Repair" },
    { BOOTCHECK_FAIL_BOOTMGR, "couldn't repair your PC" },
    { BOOTCHECK_FAIL_BOOTMGR, "Boot Configuration Data" },
    { BOOTCHECK_FAIL_BOOTMGR, "required device isn't connected" },
    { BOOTCHECK_FAIL_BOOTMGR, "operating system couldn't be loaded" },
    { BOOTCHECK_FAIL_BOOTLOADER, "BOOTMGR is missing" },
    { BOOTCHECK_FAIL_BOOTLOADER, "BOOTMGR is compressed" },
    { BOOTCHECK_FAIL_BOOTLOADER, "NTLDR is missing" },
    { BOOTCHECK_FAIL_BOOTLOADER, "A disk read error occurred" },
    { BOOTCHECK_FAIL_BOOTLOADER, "Missing operating system" },
    { BOOTCHECK_FAIL_BOOTLOADER, "Operating system not found" },
    { BOOTCHECK_FAIL_BOOTLOADER, "Error loading operating system" },
    { BOOTCHECK_FAIL_BOOTLOADER, "Invalid partition table" },
    { BOOTCHECK_FAIL_BOOTLOADER, "Non-system disk or disk error" },
    { BOOTCHECK_FAIL_BOOTLOADER, "grub rescue>" },
    { BOOTCHECK_FAIL_BOOTLOADER, "p2v MBR:" },
    { BOOTCHECK_FAIL_NETBOOT, "Start PXE over IPv4" },
    { BOOTCHECK_FAIL_NETBOOT, "Booting from ROM" },
    { BOOTCHECK_FAIL_NETBOOT, "PXE-E" },
    { BOOTCHECK_FAIL_FIRMWARE, "BdsDxe: failed to load" },
    { BOOTCHECK_FAIL_FIRMWARE, "No bootable option or device was found" },
    { BOOTCHECK_FAIL_FIRMWARE, "UEFI Interactive Shell" },
    { BOOTCHECK_FAIL_FIRMWARE, "No bootable device" },
    { BOOTCHECK_FAIL_FIRMWARE, "Boot failed" },
};

/* Stop codes a moved Windows meets, named on the stop screen. */
static const char *const stop_codes[] = {
    "INACCESSIBLE_BOOT_DEVICE", "UNMOUNTABLE_BOOT_VOLUME", "CRITICAL_PROCESS_DIED",
    "CRITICAL_SERVICE_FAILED", "BAD_SYSTEM_CONFIG_INFO", "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
    "KMODE_EXCEPTION_NOT_HANDLED", "IRQL_NOT_LESS_OR_EQUAL", "PAGE_FAULT_IN_NONPAGED_AREA",
    "SYSTEM_SERVICE_EXCEPTION", "ACPI_BIOS_ERROR", "HAL_INITIALIZATION_FAILED",
    "PROCESS1_INITIALIZATION_FAILED", "BOOTLOG_ENABLED", "NTFS_FILE_SYSTEM",
    "DRIVER_IRQL_NOT_LESS_OR_EQUAL", "SYSTEM_PTE_MISUSE", "CONFIG_INITIALIZATION_FAILED",
};

static const char *const firmware_words[] = {
    "SeaBIOS", "iPXE", "Booting from", "TianoCore", "BdsDxe", "Press ESC in",
    "Press ESC for boot menu", "Machine UUID", "Guest has not initialized the display",
};

const char *bootcheck_fail_kind_name(enum bootcheck_fail_kind k)
{
    switch (k) {
    case BOOTCHECK_FAIL_FIRMWARE: return "firmware";
    case BOOTCHECK_FAIL_NETBOOT: return "network-boot";
    case BOOTCHECK_FAIL_BOOTLOADER: return "boot-loader";
    case BOOTCHECK_FAIL_BOOTMGR: return "windows-boot-manager";
    case BOOTCHECK_FAIL_STOP: return "windows-stop";
    default: return "none";
    }
}

static char canon_char(unsigned char c)
{
    c = (unsigned char)toupper(c);
    if (c == 'O')
        return '0';
    if (c == 'I' || c == 'L')
        return '1';
    if (c == 'U') /* the VGA font's V reads as U */
        return 'V';
    return (char)c;
}

/* Length of an escape sequence starting at s[0] == ESC: CSI (ESC [ ...
 * final byte 0x40-0x7e) or ESC and one character. */
static size_t escape_len(const char *s, size_t len)
{
    if (len < 2)
        return len;
    if (s[1] != '[')
        return 2;
    size_t i = 2;
    while (i < len && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
        i++;
    return i < len ? i + 1 : len;
}

/* The canonical form of text (malloc'd, NUL-terminated), NULL on ENOMEM. */
static char *canon(const char *text, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        if (text[i] == '\x1b') {
            i += escape_len(text + i, len - i);
            continue;
        }
        if (isalnum((unsigned char)text[i]))
            *o++ = canon_char((unsigned char)text[i]);
        i++;
    }
    *o = '\0';
    return out;
}

static bool canon_has(const char *ctext, const char *needle)
{
    char *cn = canon(needle, strlen(needle));
    bool found = cn && cn[0] && strstr(ctext, cn) != NULL;
    free(cn);
    return found;
}

bool bootcheck_text_has(const char *text, size_t len, const char *needle)
{
    char *ct = canon(text, len);
    bool found = ct && canon_has(ct, needle);
    free(ct);
    return found;
}

bool bootcheck_is_firmware_text(const char *text, size_t len)
{
    char *ct = canon(text, len);
    bool found = false;
    for (size_t i = 0; ct && !found && i < sizeof firmware_words / sizeof firmware_words[0]; i++)
        found = canon_has(ct, firmware_words[i]);
    free(ct);
    return found;
}

static int hex_digit_ocr(char c)
{
    if (c == 'o' || c == 'O')
        return 0;
    if (c == 'I' || c == 'l')
        return 1;
    return hex_digit(c);
}

/* The first "0x" and 8 hex digits in text, read loosely; false if none. */
static bool find_hex_code(const char *text, size_t len, char out[11])
{
    for (size_t i = 0; i + 10 <= len; i++) {
        if (!(text[i] == '0' || text[i] == 'O' || text[i] == 'o') ||
            !(text[i + 1] == 'x' || text[i + 1] == 'X'))
            continue;
        size_t k;
        for (k = 0; k < 8 && hex_digit_ocr(text[i + 2 + k]) >= 0; k++)
            out[2 + k] = "0123456789abcdef"[hex_digit_ocr(text[i + 2 + k])];
        if (k == 8 && (i + 10 == len || !isxdigit((unsigned char)text[i + 10]))) {
            out[0] = '0', out[1] = 'x', out[10] = '\0';
            return true;
        }
    }
    return false;
}

static void find_code(const char *text, size_t len, const char *ctext, bootcheck_failure *f)
{
    char hex[11];
    for (size_t i = 0; i < sizeof stop_codes / sizeof stop_codes[0]; i++)
        if (canon_has(ctext, stop_codes[i])) {
            snprintf(f->code, sizeof f->code, "%s", stop_codes[i]);
            return;
        }
    if (find_hex_code(text, len, hex))
        snprintf(f->code, sizeof f->code, "%s", hex);
}

bool bootcheck_find_failure(const char *text, size_t len, bootcheck_failure *f)
{
    memset(f, 0, sizeof *f);
    char *ct = canon(text, len);
    if (!ct)
        return false;
    for (size_t i = 0; i < sizeof fail_patterns / sizeof fail_patterns[0]; i++) {
        if (!canon_has(ct, fail_patterns[i].words))
            continue;
        f->kind = fail_patterns[i].kind;
        snprintf(f->words, sizeof f->words, "%s", fail_patterns[i].words);
        if (f->kind == BOOTCHECK_FAIL_STOP || f->kind == BOOTCHECK_FAIL_BOOTMGR)
            find_code(text, len, ct, f);
        break;
    }
    free(ct);
    return f->kind != BOOTCHECK_FAIL_NONE;
}
