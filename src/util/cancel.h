/* The flag that a signal handler sets to stop a run (sink_catch_signals).
 * Waits on a peer (an NBD server) that may never answer look at it between
 * short slices, so that a signal ends them at once whichever thread it was
 * delivered to. Like the signal handlers themselves, one per process. */
#ifndef P2V_UTIL_CANCEL_H
#define P2V_UTIL_CANCEL_H

#include <signal.h>
#include <stdbool.h>

/* Watch flag (NULL: stop watching). */
void p2v_cancel_watch(volatile sig_atomic_t *flag);
/* True once the watched flag is set. Async-signal-safe. */
bool p2v_cancelled(void);

#endif
