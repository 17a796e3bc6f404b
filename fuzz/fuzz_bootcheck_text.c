/* libFuzzer harness for the verdict on untrusted text (a guest's serial
 * console, OCR of its screen): failure patterns, codes, expected text.
 * The first line of the input is the --expect text, the rest the console. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/bootcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    bootcheck_failure f;
    if (bootcheck_find_failure(text, size, &f)) {
        if (f.kind == BOOTCHECK_FAIL_NONE || !f.words[0] ||
            strnlen(f.code, sizeof f.code) == sizeof f.code)
            abort();
    } else if (f.kind != BOOTCHECK_FAIL_NONE) {
        abort();
    }
    (void)bootcheck_is_firmware_text(text, size);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t elen = nl ? (size_t)(nl - data) : size;
    char *expect = malloc(elen + 1);
    if (!expect)
        return 0;
    memcpy(expect, data, elen);
    expect[elen] = '\0';
    /* text always holds itself (when it has letters or digits, before any NUL) */
    if (bootcheck_text_has(expect, strlen(expect), expect) !=
        bootcheck_text_has(text, size, expect) && strlen(expect) == elen)
        abort();
    free(expect);
    return 0;
}
