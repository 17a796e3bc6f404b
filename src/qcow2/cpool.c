/* A small pool of compression threads: the writer hands over a batch of
 * whole clusters, the workers and the calling thread compress them in
 * parallel, and the writer then stores the results in order, so allocation
 * stays append-only and deterministic. */
#include <pthread.h>
#include <stdlib.h>

#include "qcow2/qcow2.h"
#include "qcow2/qcow2_format.h"

struct qcow2_cpool {
    pthread_t *th;
    unsigned nworkers;
    qcow2_codec **codec; /* nworkers + 1; [0] is the caller's */
    unsigned ncodecs;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    qcow2_cjob *jobs;
    size_t njobs, next, finished;
    uint64_t generation;
    bool quit;
};

struct worker_arg {
    qcow2_cpool *p;
    unsigned id;
};

/* Take jobs until none is left; called with the mutex held, returns with it held. */
static void drain(qcow2_cpool *p, qcow2_codec *codec)
{
    while (p->next < p->njobs) {
        qcow2_cjob *j = &p->jobs[p->next++];
        pthread_mutex_unlock(&p->mu);
        j->result = qcow2_codec_compress(codec, j->dst, j->dst_cap, j->src, j->src_len);
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->njobs)
            pthread_cond_signal(&p->done);
    }
}

static void *worker(void *arg)
{
    qcow2_cpool *p = ((struct worker_arg *)arg)->p;
    unsigned id = ((struct worker_arg *)arg)->id;
    free(arg);
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        seen = p->generation;
        drain(p, p->codec[id]);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

qcow2_cpool *qcow2_cpool_new(int type, int level, unsigned workers)
{
    qcow2_cpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (workers > QCOW2_CPOOL_MAX_WORKERS)
        workers = QCOW2_CPOOL_MAX_WORKERS;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->th = calloc(workers ? workers : 1, sizeof *p->th);
    p->codec = calloc(workers + 1, sizeof *p->codec);
    if (!p->th || !p->codec) {
        qcow2_cpool_free(p);
        return NULL;
    }
    /* Codecs (and their memory) come with their first job: a thread that
     * never gets one costs nothing but its stack. */
    for (unsigned i = 0; i <= workers; i++, p->ncodecs++) {
        if (!(p->codec[i] = qcow2_codec_new(type))) {
            qcow2_cpool_free(p);
            return NULL;
        }
        qcow2_codec_set_level(p->codec[i], level);
    }
    for (unsigned i = 0; i < workers; i++) {
        struct worker_arg *a = malloc(sizeof *a);
        if (!a)
            break;
        a->p = p;
        a->id = i + 1;
        if (pthread_create(&p->th[i], NULL, worker, a) != 0) {
            free(a);
            break; /* fewer threads is still correct */
        }
        p->nworkers++;
    }
    return p;
}

void qcow2_cpool_run(qcow2_cpool *p, qcow2_cjob *jobs, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->jobs = jobs;
    p->njobs = n;
    p->next = 0;
    p->finished = 0;
    if (n > 1 && p->nworkers) {
        p->generation++;
        pthread_cond_broadcast(&p->work);
    }
    drain(p, p->codec[0]);
    while (p->finished < p->njobs)
        pthread_cond_wait(&p->done, &p->mu);
    p->jobs = NULL;
    p->njobs = 0;
    pthread_mutex_unlock(&p->mu);
}

void qcow2_cpool_free(qcow2_cpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nworkers; i++)
        pthread_join(p->th[i], NULL);
    for (unsigned i = 0; i < p->ncodecs; i++)
        qcow2_codec_free(p->codec[i]);
    free(p->codec);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}
