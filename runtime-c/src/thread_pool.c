/*
 * thread_pool.c - a small, lazily created pthread worker pool.
 *
 * Model: one job at a time = `ntasks` calls fn(arg, t). The calling thread runs task 0 itself and
 * worker i (1-based) runs task i. Workers block on a condition variable between jobs (no
 * spinning); the caller blocks on another one until every worker it woke has finished.
 *
 * Concurrency: the pool is owned by one application thread at a time through `g_busy`, taken with
 * trylock. Another thread calling in while the pool is busy (or a task calling back into the
 * runtime) simply runs all its tasks inline, so concurrent callers never wait on each other and
 * nothing can deadlock.
 *
 * Workers are created on demand up to the current thread setting minus one and then live for the
 * rest of the process (they are detached and hold no resources while idle).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "gj_internal.h"

#define GJ_MAX_THREADS 64

static pthread_mutex_t g_busy = PTHREAD_MUTEX_INITIALIZER; /* held by the thread running a job */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* protects everything below */
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;   /* new job published */
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;   /* g_pending reached 0 */
static unsigned long g_generation;                         /* incremented per job */
static gj_task_fn g_fn;
static void *g_arg;
static int g_ntasks;
static int g_pending;   /* workers of the current job that have not finished */
static int g_nworkers;  /* workers created so far (ids 1..g_nworkers); only changed under g_busy */

static struct worker_start {
    int id;
    unsigned long generation; /* last generation this worker must NOT run */
} g_start[GJ_MAX_THREADS];

static atomic_int g_threads; /* user setting; 0 = not initialized yet */

static void *worker_main(void *p)
{
    const struct worker_start *start = p;
    const int id = start->id;
    unsigned long seen = start->generation;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        while (g_generation == seen) pthread_cond_wait(&g_wake, &g_lock);
        seen = g_generation;
        gj_task_fn fn = g_fn;
        void *arg = g_arg;
        int run = id < g_ntasks;
        pthread_mutex_unlock(&g_lock);
        if (!run) continue;
        fn(arg, id);
        pthread_mutex_lock(&g_lock);
        if (--g_pending == 0) pthread_cond_signal(&g_done);
        pthread_mutex_unlock(&g_lock);
    }
    return NULL;
}

/* Creates workers up to `want` (caller holds g_busy). Returns how many exist. */
static int ensure_workers(int want)
{
    if (want > GJ_MAX_THREADS - 1) want = GJ_MAX_THREADS - 1;
    while (g_nworkers < want) {
        int id = g_nworkers + 1;
        pthread_mutex_lock(&g_lock);
        g_start[id].id = id;
        g_start[id].generation = g_generation; /* the next job (generation + 1) is its first */
        pthread_mutex_unlock(&g_lock);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&t, &attr, worker_main, &g_start[id]);
        pthread_attr_destroy(&attr);
        if (err != 0) break;
        g_nworkers = id;
    }
    return g_nworkers;
}

void gj_pool_run(gj_task_fn fn, void *arg, int ntasks)
{
    if (ntasks <= 1 || pthread_mutex_trylock(&g_busy) != 0) {
        for (int t = 0; t < ntasks; t++) fn(arg, t);
        return;
    }
    int workers = ensure_workers(ntasks - 1);
    int pooled = workers + 1 < ntasks ? workers + 1 : ntasks; /* tasks [0, pooled) use the pool */

    pthread_mutex_lock(&g_lock);
    g_fn = fn;
    g_arg = arg;
    g_ntasks = pooled;
    g_pending = pooled - 1;
    g_generation++;
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_lock);

    fn(arg, 0);
    for (int t = pooled; t < ntasks; t++) fn(arg, t); /* only if worker creation failed */

    pthread_mutex_lock(&g_lock);
    while (g_pending > 0) pthread_cond_wait(&g_done, &g_lock);
    pthread_mutex_unlock(&g_lock);
    pthread_mutex_unlock(&g_busy);
}

int gj_runtime_threads(void)
{
    int n = atomic_load_explicit(&g_threads, memory_order_relaxed);
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > GJ_MAX_THREADS ? GJ_MAX_THREADS : (int)cpus;
        int expected = 0;
        if (!atomic_compare_exchange_strong(&g_threads, &expected, n)) n = expected;
    }
    return n;
}

void gj_runtime_set_threads(int threads)
{
    if (threads < 1) threads = 1;
    if (threads > GJ_MAX_THREADS) threads = GJ_MAX_THREADS;
    atomic_store(&g_threads, threads);
}

int gj_pool_threads(void) { return gj_runtime_threads(); }
