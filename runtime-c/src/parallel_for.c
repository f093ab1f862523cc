/*
 * parallel_for.c - the parallel loop generated kernels use to split a batch over threads.
 *
 * Built on the worker pool (thread_pool.c): a call becomes `chunks` tasks, one per worker index,
 * each covering a contiguous range of items. Task index == worker index, so scratch slots indexed
 * by `worker` are never shared by two chunks of one call. Nested calls and calls made while the
 * pool serves another thread run inline, still one chunk per worker index, one after another.
 */
#include <unistd.h>

#include "gj_internal.h"

typedef void (*gj_range_fn)(void *context, long begin, long end, int worker);

struct range_job {
    gj_range_fn body;
    void *context;
    long count;
    int chunks;
};

static void run_chunk(void *arg, int task)
{
    const struct range_job *job = arg;
    /* Even split: chunk t covers [t*count/chunks, (t+1)*count/chunks). */
    long begin = (long)((__int128)job->count * task / job->chunks);
    long end = (long)((__int128)job->count * (task + 1) / job->chunks);
    if (begin < end) job->body(job->context, begin, end, task);
}

int gj_max_workers(void)
{
    static int cached;
    if (cached == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        cached = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    }
    return cached;
}

void gj_parallel_for(long count, long grain, gj_range_fn body, void *context)
{
    if (count <= 0) return;
    if (grain < 1) grain = 1;
    long chunks = (count + grain - 1) / grain;
    int threads = gj_pool_threads();
    if (threads > gj_max_workers()) threads = gj_max_workers();
    if (chunks > threads) chunks = threads;
    if (chunks <= 1) {
        body(context, 0, count, 0);
        return;
    }
    struct range_job job = {body, context, count, (int)chunks};
    gj_pool_run_threads(run_chunk, &job, (int)chunks, (int)chunks);
}
