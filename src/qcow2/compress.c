/* Compressed cluster codecs: raw deflate (window bits 12, no zlib header, as
 * QEMU writes it) and zstd (one frame, no length prefix). */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "qcow2/qcow2_format.h"

struct qcow2_codec {
    int type;
    int level; /* 0: default */
    z_stream def, inf;
    bool def_ready, inf_ready;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
};

qcow2_codec *qcow2_codec_new(int type)
{
    if (type != 0 && type != 1)
        return NULL;
    qcow2_codec *c = calloc(1, sizeof *c);
    if (c)
        c->type = type;
    return c;
}

void qcow2_codec_set_level(qcow2_codec *c, int level) { c->level = level; }

void qcow2_codec_free(qcow2_codec *c)
{
    if (!c)
        return;
    if (c->def_ready)
        deflateEnd(&c->def);
    if (c->inf_ready)
        inflateEnd(&c->inf);
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    free(c);
}

/* qcow2's deflate is raw (no zlib header) with a 4 KiB window. */
static int raw_deflate_init(z_stream *z, int level)
{
    return deflateInit2(z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                        Z_DEFAULT_STRATEGY);
}

static int raw_inflate_init(z_stream *z, int level)
{
    (void)level;
    return inflateInit2(z, -12);
}

/* z ready for one cluster from src into dst: made by init on its first use
 * (*ready then true), reset by reset after, so a codec keeps its zlib
 * state from cluster to cluster. */
static int zs_start(z_stream *z, bool *ready, int (*init)(z_stream *, int), int level,
                    int (*reset)(z_streamp), void *dst, size_t dst_len, const void *src,
                    size_t src_len)
{
    if (!*ready) {
        if (init(z, level) != Z_OK)
            return -ENOMEM;
        *ready = true;
    } else if (reset(z) != Z_OK) {
        return -EIO;
    }
    z->next_in = (Bytef *)src;
    z->avail_in = (uInt)src_len;
    z->next_out = dst;
    z->avail_out = (uInt)dst_len;
    return 0;
}

static long deflate_cluster(qcow2_codec *c, void *dst, size_t dst_cap, const void *src,
                            size_t src_len)
{
    int rc = zs_start(&c->def, &c->def_ready, raw_deflate_init, c->level, deflateReset, dst,
                      dst_cap, src, src_len);
    if (rc < 0)
        return rc;
    int r = deflate(&c->def, Z_FINISH);
    if (r == Z_STREAM_END)
        return (long)(dst_cap - c->def.avail_out);
    if (r == Z_OK || r == Z_BUF_ERROR)
        return 0; /* did not fit */
    return -EIO;
}

static long zstd_cluster(qcow2_codec *c, void *dst, size_t dst_cap, const void *src,
                         size_t src_len)
{
    if (!c->zc && !(c->zc = ZSTD_createCCtx()))
        return -ENOMEM;
    size_t n = ZSTD_compressCCtx(c->zc, dst, dst_cap, src, src_len,
                                 c->level ? c->level : ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n))
        return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? 0 : -EIO;
    return (long)n;
}

long qcow2_codec_compress(qcow2_codec *c, void *dst, size_t dst_cap, const void *src,
                          size_t src_len)
{
    return c->type == 1 ? zstd_cluster(c, dst, dst_cap, src, src_len)
                        : deflate_cluster(c, dst, dst_cap, src, src_len);
}

static int inflate_cluster(qcow2_codec *c, void *dst, size_t dst_len, const void *src,
                           size_t src_len)
{
    int rc = zs_start(&c->inf, &c->inf_ready, raw_inflate_init, 0, inflateReset, dst, dst_len,
                      src, src_len);
    if (rc < 0)
        return rc;
    int r = inflate(&c->inf, Z_FINISH);
    /* The span read from the file is sector-rounded: the stream may end early
     * (trailing bytes) or the output may fill before the end marker. */
    if ((r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK) && c->inf.avail_out == 0)
        return 0;
    return -EIO;
}

static int zstd_decompress_cluster(qcow2_codec *c, void *dst, size_t dst_len, const void *src,
                                   size_t src_len)
{
    if (!c->zd && !(c->zd = ZSTD_createDCtx()))
        return -ENOMEM;
    ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_only);
    ZSTD_outBuffer out = { dst, dst_len, 0 };
    ZSTD_inBuffer in = { src, src_len, 0 };
    while (out.pos < out.size) {
        size_t before_in = in.pos, before_out = out.pos;
        size_t r = ZSTD_decompressStream(c->zd, &out, &in);
        if (ZSTD_isError(r))
            return -EIO;
        if (r == 0 && out.pos < out.size)
            return -EIO; /* frame ended short */
        if (in.pos == before_in && out.pos == before_out)
            return -EIO; /* no progress: input exhausted */
    }
    return 0;
}

int qcow2_codec_decompress(qcow2_codec *c, void *dst, size_t dst_len, const void *src,
                           size_t src_len)
{
    return c->type == 1 ? zstd_decompress_cluster(c, dst, dst_len, src, src_len)
                        : inflate_cluster(c, dst, dst_len, src, src_len);
}
