/* Screenshots: a coarse thumbnail to see whether the screen moved, and the
 * words on it through tesseract. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <allheaders.h>
#include <tesseract/capi.h>

#include "bootcheck/bootcheck.h"
#include "util/optlib.h"

/* tesseract and leptonica are opened on first use (util/optlib.h) */
#define TESS_FNS(X)                                                                                \
    X(TessBaseAPICreate) X(TessBaseAPIInit3) X(TessBaseAPISetVariable)                           \
    X(TessBaseAPISetPageSegMode) X(TessBaseAPISetImage2) X(TessBaseAPISetSourceResolution)       \
    X(TessBaseAPIGetUTF8Text) X(TessDeleteText) X(TessBaseAPIClear) X(TessBaseAPIEnd)           \
    X(TessBaseAPIDelete)
#define LEPT_FNS(X)                                                                                \
    X(setMsgSeverity) X(pixRead) X(pixConvertTo8) X(pixCopy) X(pixInvert) X(pixScale)            \
    X(pixGetWidth) X(pixGetHeight) X(pixGetWpl) X(pixGetData) X(pixDestroy)
static OPTLIB_TABLE(tess_fns, TESS_FNS) tess;
static OPTLIB_TABLE(lept_fns, LEPT_FNS) lept;
OPTLIB(tess_lib, P2V_SONAME_TESSERACT, "OCR of boot screens", TESS_FNS, tess);
OPTLIB(lept_lib, P2V_SONAME_LEPT, "reading boot screenshots", LEPT_FNS, lept);

#define CELLS (BOOTCHECK_PRINT_W * BOOTCHECK_PRINT_H)
#define CELL_CHANGED 12 /* grey levels: less is noise (a blinking cursor is one cell) */

void bootcheck_print_from_grey(const uint8_t *grey, uint32_t w, uint32_t h, size_t stride,
                               bootcheck_print *p)
{
    uint32_t sum[CELLS] = { 0 }, count[CELLS] = { 0 };
    memset(p, 0, sizeof *p);
    if (w == 0 || h == 0)
        return;
    for (uint32_t y = 0; y < h; y++) {
        size_t row = (size_t)((uint64_t)y * BOOTCHECK_PRINT_H / h) * BOOTCHECK_PRINT_W;
        for (uint32_t x = 0; x < w; x++) {
            size_t c = row + (size_t)((uint64_t)x * BOOTCHECK_PRINT_W / w);
            sum[c] += grey[(size_t)y * stride + x];
            count[c]++;
        }
    }
    for (size_t c = 0; c < CELLS; c++)
        p->cell[c] = count[c] ? (uint8_t)(sum[c] / count[c]) : 0;
    p->valid = true;
}

unsigned bootcheck_print_diff(const bootcheck_print *a, const bootcheck_print *b)
{
    if (!a->valid || !b->valid)
        return CELLS;
    unsigned n = 0;
    for (size_t c = 0; c < CELLS; c++)
        n += abs((int)a->cell[c] - (int)b->cell[c]) > CELL_CHANGED;
    return n;
}

bool bootcheck_print_blank(const bootcheck_print *p)
{
    if (!p->valid)
        return true;
    uint8_t lo = 255, hi = 0;
    for (size_t c = 0; c < CELLS; c++) {
        lo = p->cell[c] < lo ? p->cell[c] : lo;
        hi = p->cell[c] > hi ? p->cell[c] : hi;
    }
    return hi - lo < 16;
}

/* ---- OCR ------------------------------------------------------------------ */

struct bootcheck_ocr {
    TessBaseAPI *api;
};

int bootcheck_ocr_open(bootcheck_ocr **out, p2v_err *err)
{
    int rc;
    if ((rc = optlib_load(&lept_lib, err)) < 0 || (rc = optlib_load(&tess_lib, err)) < 0)
        return rc;
    bootcheck_ocr *o = calloc(1, sizeof *o);
    if (!o)
        return p2v_errf(err, -ENOMEM, "OCR: out of memory");
    o->api = tess.f.TessBaseAPICreate();
    if (!o->api || tess.f.TessBaseAPIInit3(o->api, NULL, "eng") != 0) {
        bootcheck_ocr_close(o);
        return p2v_errf(err, -ENOENT, "OCR: tesseract cannot load its English data "
                                      "(Debian package tesseract-ocr-eng)");
    }
    tess.f.TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
    tess.f.TessBaseAPISetPageSegMode(o->api, PSM_AUTO);
    *out = o;
    return 0;
}

void bootcheck_ocr_close(bootcheck_ocr *o)
{
    if (!o)
        return;
    if (o->api) {
        tess.f.TessBaseAPIEnd(o->api);
        tess.f.TessBaseAPIDelete(o->api);
    }
    free(o);
}

/* The thumbnail of an 8 bpp pix, through a plain byte copy of its rows. */
static int print_of_pix(PIX *grey, bootcheck_print *print, p2v_err *err)
{
    l_int32 w = lept.f.pixGetWidth(grey), h = lept.f.pixGetHeight(grey);
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return p2v_errf(err, -EINVAL, "screenshot of %dx%d pixels", (int)w, (int)h);
    uint8_t *bytes = malloc((size_t)w * (size_t)h);
    if (!bytes)
        return p2v_errf(err, -ENOMEM, "screenshot: out of memory");
    for (l_int32 y = 0; y < h; y++) {
        l_uint32 *line = lept.f.pixGetData(grey) + (size_t)y * (size_t)lept.f.pixGetWpl(grey);
        for (l_int32 x = 0; x < w; x++)
            bytes[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)GET_DATA_BYTE(line, x);
    }
    bootcheck_print_from_grey(bytes, (uint32_t)w, (uint32_t)h, (size_t)w, print);
    free(bytes);
    return 0;
}

static unsigned mean_grey(const bootcheck_print *p)
{
    unsigned long sum = 0;
    for (size_t c = 0; c < CELLS; c++)
        sum += p->cell[c];
    return (unsigned)(sum / CELLS);
}

/* Dark text on a light page, large enough for tesseract: firmware and
 * stop screens are light text on black or blue, in a 9x16 or 8x16 font. */
static char *ocr_pix(bootcheck_ocr *o, PIX *grey, const bootcheck_print *print)
{
    PIX *work = lept.f.pixCopy(NULL, grey);
    if (!work)
        return NULL;
    if (mean_grey(print) < 128)
        lept.f.pixInvert(work, work);
    if (lept.f.pixGetWidth(work) < 800) { /* text modes: 720x400, 640x480 */
        PIX *big = lept.f.pixScale(work, 2.0f, 2.0f);
        lept.f.pixDestroy(&work);
        if (!(work = big))
            return NULL;
    }
    tess.f.TessBaseAPISetImage2(o->api, work);
    tess.f.TessBaseAPISetSourceResolution(o->api, 300);
    char *t = tess.f.TessBaseAPIGetUTF8Text(o->api);
    char *copy = t ? strdup(t) : strdup("");
    if (t)
        tess.f.TessDeleteText(t);
    tess.f.TessBaseAPIClear(o->api);
    lept.f.pixDestroy(&work);
    return copy;
}

int bootcheck_screen_read(bootcheck_ocr *o, const char *png_path, bootcheck_print *print,
                          char **text, p2v_err *err)
{
    int rc = 0;
    if (text)
        *text = NULL;
    if ((rc = optlib_load(&lept_lib, err)) < 0)
        return rc;
    lept.f.setMsgSeverity(L_SEVERITY_NONE); /* leptonica would print on stderr */
    PIX *pix = lept.f.pixRead(png_path), *grey = NULL;
    if (!pix)
        return p2v_errf(err, -EINVAL, "%s: cannot read the screenshot (PNG)", png_path);
    if (!(grey = lept.f.pixConvertTo8(pix, 0))) {
        rc = p2v_errf(err, -EINVAL, "%s: cannot convert the screenshot to grey", png_path);
        goto out;
    }
    if ((rc = print_of_pix(grey, print, err)) < 0) {
        p2v_err_prefix(err, rc, "%s", png_path);
        goto out;
    }
    if (text && o && !(*text = ocr_pix(o, grey, print)))
        rc = p2v_errf(err, -ENOMEM, "%s: OCR failed", png_path);
out:
    lept.f.pixDestroy(&grey);
    lept.f.pixDestroy(&pix);
    return rc;
}
