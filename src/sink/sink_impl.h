/* For the sink's targets and backends only: the struct behind the opaque
 * handle, the backend operations and the target rows (sink.c lists them). */
#ifndef P2V_SINK_IMPL_H
#define P2V_SINK_IMPL_H

#include "sink/sink.h"

/* How one image format is written (sink_raw.c, sink_qcow2.c, sink_stream.c,
 * sink_nbd.c). */
struct sink_backend {
    const char *name;
    int (*open)(sink *s, uint64_t virtual_size, const sink_opts *o, p2v_err *err);
    int (*layout)(sink *s, const extent_list *will_write, p2v_err *err); /* optional */
    int (*write)(sink *s, uint64_t offset, const void *buf, size_t len, p2v_err *err);
    int (*gather)(sink *s, bool on, p2v_err *err); /* optional */
    int (*gather_take)(sink *s, void **token, p2v_err *err);  /* optional */
    int (*gather_write)(sink *s, void *token, p2v_err *err); /* with gather_take */
    int (*finish)(sink *s, p2v_err *err);
    /* No temporary file: commit replaces the rename, bytes the file size. */
    int (*commit)(sink *s, p2v_err *err);
    uint64_t (*bytes)(const sink *s);
    void (*free)(sink *s);
    /* optional: remove a temporary copy of the target's own (sink_discard) */
    int (*discard)(sink *s, p2v_err *err);
    /* optional: the name --verify reads the finished image back under, when
     * not OUTPUT (a direct target writing under a temporary name) */
    const char *(*readback_name)(const sink *s);
    /* optional: sink_describe */
    void (*describe)(const sink *s, char *buf, size_t len);
    uint32_t granularity;
};

/* Where an image goes, chosen by OUTPUT: one row per kind of target. */
struct sink_target {
    struct sink_target_info info;
    /* Does OUTPUT name this target? NULL: the last row, taking any OUTPUT. */
    bool (*match)(const char *output);
    /* The backend that writes it for these options; NULL: always be. */
    const struct sink_backend *(*backend)(const sink_opts *o);
    const struct sink_backend *be;
    /* info.sized: the target's own size. */
    int (*size)(const char *output, const sink_opts *o, uint64_t *size, p2v_err *err);
};

struct sink {
    const struct sink_backend *be;
    const struct sink_target *target;
    char *output;
    char *temp;
    int fd;
    bool committed;
    bool force;
    uint64_t virtual_size;
    uint32_t granularity;
    unsigned writers; /* writes it takes at once from several threads; 0: one */
    unsigned io_timeout; /* seconds; never 0 */
    void *priv;
};

/* A backend's state for s: size zeroed bytes, kept as s->priv (the
 * backend's free releases them, after a failed open too). NULL when out of
 * memory, with err saying so. */
void *sink_priv_new(sink *s, size_t size, p2v_err *err);

extern const struct sink_backend sink_raw_backend;
extern const struct sink_backend sink_qcow2_backend;
extern const struct sink_backend sink_stream_qcow2_backend;
extern const struct sink_backend sink_stream_raw_backend;
extern const struct sink_backend sink_nbd_backend;
extern const struct sink_backend sink_rbd_backend;

/* The rows (sink.c: file; sink_stream.c: stream; sink_nbd.c: nbd). */
extern const struct sink_target sink_target_file, sink_target_stream, sink_target_nbd,
    sink_target_rbd;

#endif
