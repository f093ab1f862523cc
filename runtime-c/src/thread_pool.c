/*
 * thread_pool.c - a small, lazily created pthread worker pool.
 *
 * Model: one job at a time = `ntasks` calls fn(arg, t). The caller and the woken workers claim
 * task indices from a shared counter until none are left, so a worker that wakes up late (the
 * wake-up of a sleeping thread costs ~5-25 us) simply finds less or no work and the caller does
 * it instead. Between jobs a worker first spins for GJ_SPIN_NS, watching the published
 * generation, and only then blocks on a condition variable; the caller likewise spins that long
 * for the last task to finish before it blocks on another one. A model's kernels run back to back
 * (and a serving loop calls again within microseconds), so the next job usually finds its workers
 * awake: waking a sleeping thread costs ~5-25 us here, more than a batch-1 Dense layer takes.
 * ONNX Runtime's and OpenMP's pools spin the same way by default.
 *
 * The claim counter holds (job generation << 32 | next task index) and is advanced with a
 * compare-and-swap that checks the generation, so a worker that wakes after its job has ended
 * (and possibly after the next one started) can never run a task of a job it did not read, and
 * the caller may return as soon as all tasks are done without waiting for late wakers.
 *
 * Concurrency: the pool is owned by one application thread at a time through `g_busy`, taken with
 * trylock. Another thread calling in while the pool is busy (or a task calling back into the
 * runtime) runs all its tasks inline, so concurrent callers never wait on each other and nothing
 * can deadlock.
 *
 * Workers are created on demand up to the current thread setting minus one and then live for the
 * rest of the process (detached, blocked on the condition variable while idle).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getcpu, pthread_setaffinity_np */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "gj_internal.h"

#define GJ_MAX_THREADS 64

static pthread_mutex_t g_busy = PTHREAD_MUTEX_INITIALIZER; /* held by the thread running a job */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* protects the job description */
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;   /* new job published */
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;   /* all tasks of the job finished */
static uint32_t g_generation;                              /* incremented per job (under g_lock) */
static gj_task_fn g_fn;
static void *g_arg;
static int g_ntasks;
static int g_nwake;                  /* workers 1..g_nwake take part in the current job */
static _Atomic uint64_t g_claim;     /* generation << 32 | next unclaimed task */
static atomic_int g_finished;        /* tasks of the current job that have finished */
static int g_nworkers;               /* workers created so far; only changed under g_busy */

static struct worker_start {
    int id;
    uint32_t generation; /* last generation this worker must not look at */
} g_start[GJ_MAX_THREADS];

static atomic_int g_threads; /* user setting; 0 = not initialized yet */

/* ---- spinning before sleeping ------------------------------------------------------------------ */
#define GJ_SPIN_NS 200000L /* 200 us */
static _Atomic uint32_t g_published; /* g_generation once the job is published (read without g_lock) */

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Whether the caller is in a busy period: the last GJ_BUSY_STREAK requests for parallel work each
 * came less than GJ_SPIN_NS after the one before (records this request). Then the workers are
 * spinning, or the caller is calling in a loop and one wake-up buys awake workers for the calls
 * after it. One isolated model call makes only a few such requests (a kernel or two big enough to
 * ask), so it never starts a busy period by itself and never pays a wake-up for a small job. */
#define GJ_BUSY_STREAK 3
static _Atomic long g_last_request_ns;
static atomic_int g_request_streak;
static atomic_int g_job_running; /* 1 while a job holds the pool: calls from its tasks run inline */

int gj_pool_in_busy_period(void)
{
    /* inside a job (a task calling back in) nothing can be split: answer without the clock, and
     * without writing the lines the other workers read (LSTM rows call a GEMM every step) */
    if (atomic_load_explicit(&g_job_running, memory_order_relaxed)) return 0;
    const long now = now_ns();
    const long previous = atomic_exchange_explicit(&g_last_request_ns, now, memory_order_relaxed);
    if (now - previous >= GJ_SPIN_NS) {
        atomic_store_explicit(&g_request_streak, 0, memory_order_relaxed);
        return 0;
    }
    /* counted up to GJ_BUSY_STREAK only: a serving loop makes millions of requests, and an
     * unbounded count would wrap to negative and end the busy period after 2^31 of them */
    const int streak = atomic_load_explicit(&g_request_streak, memory_order_relaxed);
    if (streak >= GJ_BUSY_STREAK) return 1;
    atomic_store_explicit(&g_request_streak, streak + 1, memory_order_relaxed);
    return streak + 1 >= GJ_BUSY_STREAK;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins until done(context) or GJ_SPIN_NS have passed; returns whether done. */
static int spin_until(int (*done)(const void *), const void *context)
{
    long deadline = 0;
    for (unsigned i = 0;; i++) {
        if (done(context)) return 1;
        cpu_relax();
        if ((i & 63) == 63) {
            long now = now_ns();
            if (deadline == 0) deadline = now + GJ_SPIN_NS;
            else if (now >= deadline) return done(context);
        }
    }
}

static int generation_moved(const void *seen)
{
    return atomic_load_explicit(&g_published, memory_order_acquire) != *(const uint32_t *)seen;
}

static int job_finished(const void *ntasks)
{
    return atomic_load_explicit(&g_finished, memory_order_acquire) >= *(const int *)ntasks;
}

/* ---- keeping workers off the caller's CPU ------------------------------------------------------
 * Measured on the 2-vCPU VM this was tuned on (Linux 6.18): after a millisecond or more of idling,
 * the scheduler wakes a worker on the CPU of the thread that signalled it (the caller, which is
 * busy) instead of on the idle CPU. The worker then preempts the caller and runs the whole job
 * itself while the caller waits: two threads, one CPU, no gain at all (the benchmark's "no 2-thread
 * gain"). So each worker's CPU affinity is the caller's affinity minus the CPU the caller is on.
 * The affinity is only changed when the caller is seen on a different CPU than last time (one
 * syscall per worker); if the caller migrates during a job, nothing breaks, the tasks are simply
 * claimed by whoever runs. Workers keep the full mask when there is no other CPU to go to. */
#ifdef __linux__
static pthread_t g_tid[GJ_MAX_THREADS];
static int g_steered_cpu = -1; /* CPU the workers were last kept off; only changed under g_busy */

static void steer_workers(void)
{
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu == g_steered_cpu || cpu >= CPU_SETSIZE) return;
    cpu_set_t mask;
    if (pthread_getaffinity_np(pthread_self(), sizeof mask, &mask) != 0) return;
    CPU_CLR(cpu, &mask);
    if (CPU_COUNT(&mask) == 0) return; /* the caller is pinned to one CPU: leave the workers alone */
    for (int w = 1; w <= g_nworkers; w++) pthread_setaffinity_np(g_tid[w], sizeof mask, &mask);
    g_steered_cpu = cpu;
}
#else
static void steer_workers(void) {}
#endif

/* Claims and runs tasks of generation `gen` until none are left. */
static void run_tasks(uint32_t gen, gj_task_fn fn, void *arg, int ntasks)
{
    uint64_t v = atomic_load(&g_claim);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen || (int)(uint32_t)v >= ntasks) return;
        if (!atomic_compare_exchange_weak(&g_claim, &v, v + 1)) continue; /* v reloaded */
        fn(arg, (int)(uint32_t)v);
        if (atomic_fetch_add(&g_finished, 1) + 1 == ntasks) {
            pthread_mutex_lock(&g_lock);
            pthread_cond_signal(&g_done);
            pthread_mutex_unlock(&g_lock);
        }
        v = atomic_load(&g_claim);
    }
}

static void *worker_main(void *p)
{
    const struct worker_start *start = p;
    const int id = start->id;
    uint32_t seen = start->generation;
    for (;;) {
        spin_until(generation_moved, &seen);
        pthread_mutex_lock(&g_lock);
        while (g_generation == seen) pthread_cond_wait(&g_wake, &g_lock);
        seen = g_generation;
        gj_task_fn fn = g_fn;
        void *arg = g_arg;
        int ntasks = g_ntasks, take_part = id <= g_nwake;
        pthread_mutex_unlock(&g_lock);
        if (take_part) run_tasks(seen, fn, arg, ntasks);
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
        g_start[id].generation = g_generation; /* its first job is the next one published */
        pthread_mutex_unlock(&g_lock);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&t, &attr, worker_main, &g_start[id]);
        pthread_attr_destroy(&attr);
        if (err != 0) break;
        g_nworkers = id;
#ifdef __linux__
        g_tid[id] = t;
        g_steered_cpu = -1; /* the new worker has the default mask: steer again */
#endif
    }
    return g_nworkers;
}

void gj_pool_run_threads(gj_task_fn fn, void *arg, int ntasks, int nthreads)
{
    if (nthreads > ntasks) nthreads = ntasks;
    if (nthreads <= 1 || pthread_mutex_trylock(&g_busy) != 0) {
        for (int t = 0; t < ntasks; t++) fn(arg, t);
        return;
    }
    atomic_store_explicit(&g_job_running, 1, memory_order_relaxed);
    int workers = ensure_workers(nthreads - 1);
    if (workers > nthreads - 1) workers = nthreads - 1;
    steer_workers();

    pthread_mutex_lock(&g_lock);
    uint32_t gen = ++g_generation;
    g_fn = fn;
    g_arg = arg;
    g_ntasks = ntasks;
    g_nwake = workers;
    atomic_store(&g_finished, 0);
    atomic_store(&g_claim, (uint64_t)gen << 32);
    atomic_store_explicit(&g_published, gen, memory_order_release);
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_lock);

    run_tasks(gen, fn, arg, ntasks);

    if (!spin_until(job_finished, &ntasks)) {
        pthread_mutex_lock(&g_lock);
        while (atomic_load(&g_finished) < ntasks) pthread_cond_wait(&g_done, &g_lock);
        pthread_mutex_unlock(&g_lock);
    }
    atomic_store_explicit(&g_job_running, 0, memory_order_relaxed);
    pthread_mutex_unlock(&g_busy);
}

void gj_pool_run(gj_task_fn fn, void *arg, int ntasks) { gj_pool_run_threads(fn, arg, ntasks, ntasks); }

int gj_own_runtime_threads(void)
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

void gj_own_runtime_set_threads(int threads)
{
    if (threads < 1) threads = 1;
    if (threads > GJ_MAX_THREADS) threads = GJ_MAX_THREADS;
    atomic_store(&g_threads, threads);
}

int gj_pool_threads(void) { return gj_own_runtime_threads(); }
