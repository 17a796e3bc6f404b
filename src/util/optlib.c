#include "util/optlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

static int resolve(struct optlib *l)
{
    void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return p2v_errf(&l->err, -ENOENT, "%s needs %s, which cannot be loaded: %s", l->purpose,
                        l->soname, dlerror());
    for (size_t i = 0; l->names[i]; i++) {
        void *sym = dlsym(h, l->names[i]);
        if (!sym) {
            dlclose(h);
            return p2v_errf(&l->err, -ENOENT, "%s needs %s() from %s, which it lacks", l->purpose,
                            l->names[i], l->soname);
        }
        /* POSIX guarantees a function's address survives the trip through void * */
        memcpy(&l->slot[i], &sym, sizeof sym);
    }
    return 0; /* the handle stays open for the life of the process */
}

int optlib_load(struct optlib *l, p2v_err *err)
{
    pthread_mutex_lock(&l->lock);
    if (!l->tried) {
        l->rc = resolve(l);
        l->tried = true;
    }
    int rc = l->rc;
    if (rc < 0 && err)
        *err = l->err;
    pthread_mutex_unlock(&l->lock);
    return rc;
}
