/* Persistent compute thread pool. ifn_pool_run runs one task on every thread (the caller is
 * thread 0) and returns when all have finished; inside a task, threads split work by
 * (index, count) ranges and meet at ifn_pool_barrier between dependent steps. Workers spin
 * briefly between tasks, then sleep, so back-to-back forward passes pay no thread wake-up.
 * Thread-safe: concurrent ifn_pool_run calls are served one task at a time in arrival order (a
 * ticket lock), so several engines share one pool fairly, their steps alternating, without
 * oversubscribing the cores. */
#ifndef IFN_TENSOR_POOL_H
#define IFN_TENSOR_POOL_H

#include <stdint.h>

#include "inferneo/status.h"

typedef struct ifn_pool ifn_pool;

/* thread_index in [0, n_threads). */
typedef void (*ifn_pool_task)(void *arg, int thread_index, int n_threads);

/* n_threads <= 0 means the number of physical cores. Errors: IFN_E_NOMEM, IFN_E_INTERNAL
 * (thread creation failed). */
ifn_status ifn_pool_create(int n_threads, ifn_pool **out_pool);
void ifn_pool_destroy(ifn_pool *pool);

int ifn_pool_size(const ifn_pool *pool);

/* Runs task(arg, i, n) on all n threads and waits for every one. Callers from several threads
 * queue first come, first served. The task must not call ifn_pool_run on the same pool. */
void ifn_pool_run(ifn_pool *pool, ifn_pool_task task, void *arg);

/* Inside a task: waits until every thread of the pool has reached this barrier. */
void ifn_pool_barrier(ifn_pool *pool);

/* Splits [0, total) into n_threads near-equal contiguous ranges; thread i gets
 * [*out_begin, *out_end). Ranges are multiples of `granule` (except the last). */
void ifn_pool_split(int64_t total, int64_t granule, int thread_index, int n_threads,
                    int64_t *out_begin, int64_t *out_end);

/* Physical cores of this machine (logical CPUs when unknown). */
int ifn_pool_physical_cores(void);

#endif
