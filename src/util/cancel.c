#include "util/cancel.h"

#include <stddef.h>

static volatile sig_atomic_t *volatile cancel_flag;

void p2v_cancel_watch(volatile sig_atomic_t *flag) { cancel_flag = flag; }

bool p2v_cancelled(void)
{
    volatile sig_atomic_t *f = cancel_flag;
    return f && *f;
}
