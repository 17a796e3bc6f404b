/* Libraries only some commands need (NBD, driver ISOs, boot-check OCR), opened
 * with dlopen on first use instead of at every start: together they pull in
 * about fifty more shared objects (TLS, XML, image codecs, a C++ runtime),
 * which cost a cold start 0.1 s before a conversion could begin.
 *
 * A user lists the functions it calls once:
 *
 *     #define NBD_FNS(X) X(nbd_create) X(nbd_close)
 *     static OPTLIB_TABLE(nbd_fns, NBD_FNS) nbd;
 *     OPTLIB(nbd_lib, P2V_SONAME_NBD, "NBD", NBD_FNS, nbd);
 *
 * calls optlib_load(&nbd_lib, err) before the first call, and then calls
 * nbd.f.nbd_create() with the prototypes of the library's own header. */
#ifndef P2V_UTIL_OPTLIB_H
#define P2V_UTIL_OPTLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "optlib_sonames.h" /* generated: P2V_SONAME_* of the libraries built against */
#include "util/err.h"

typedef void (*optlib_fn)(void);

struct optlib {
    const char *soname;       /* what dlopen is given: the SONAME linked against at build */
    const char *purpose;      /* for the message: "NBD", "ISO images"... */
    const char *const *names; /* the symbols, NULL-terminated */
    optlib_fn *slot;          /* as many as names: filled by optlib_load */
    pthread_mutex_t lock;
    bool tried;
    int rc;
    p2v_err err;
};

#define OPTLIB_FIELD(f) __typeof__(f) *f;
#define OPTLIB_NAME(f) #f,
#define OPTLIB_ONE(f) +1
/* The typed functions (.f.name) and the same pointers as slots for the loader. */
#define OPTLIB_TABLE(tag, FNS)                                                                     \
    union tag {                                                                                    \
        struct {                                                                                   \
            FNS(OPTLIB_FIELD)                                                                      \
        } f;                                                                                       \
        optlib_fn slot[0 FNS(OPTLIB_ONE)];                                                         \
    }
/* A static struct optlib var that fills table. */
#define OPTLIB(var, soname, purpose, FNS, table)                                                   \
    static const char *const var##_names[] = { FNS(OPTLIB_NAME) NULL };                            \
    static struct optlib var = { soname, purpose, var##_names, (table).slot,                       \
                                 PTHREAD_MUTEX_INITIALIZER, false, 0, { { 0 } } }

/* Open the library and resolve every name, once (thread-safe); later calls
 * return the first outcome. -ENOENT with a message naming the library and
 * what needs it when it is not installed or lacks a symbol. */
int optlib_load(struct optlib *l, p2v_err *err);

#endif
