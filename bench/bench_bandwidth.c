/* STREAM-like memory bandwidth probe: how fast can N threads read (and copy) a buffer much
 * larger than the last-level cache? Decode speed is bounded by this read figure (weights are
 * read once per token), so docs/benchmarks.md reports decode as a fraction of it.
 * usage: bench_bandwidth [threads] [MiB] ; prints one line per case. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "tensor/pool.h"
#include "util/os_memory.h"
#include "util/alloc.h"
#include "util/time.h"

typedef struct probe {
    const float *src;
    float *dst;
    size_t n;
    double partial[512];
    int is_copy;
} probe;

static void probe_task(void *arg, int ith, int nth) {
    probe *p = arg;
    int64_t b, e;
    ifn_pool_split((int64_t)p->n, 64, ith, nth, &b, &e);
    if (p->is_copy) {
        memcpy(p->dst + b, p->src + b, (size_t)(e - b) * sizeof(float));
        return;
    }
    /* An integer XOR reduction vectorises without fast-math, so the loop is load-bound. */
    const uint32_t *words = (const uint32_t *)p->src;
    uint32_t acc = 0;
    for (int64_t i = b; i < e; i++) acc ^= words[i];
    p->partial[ith] = acc;
}

static double best_gbps(ifn_pool *pool, probe *p, int reps, double bytes) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        int64_t t0 = ifn_time_now_ns();
        ifn_pool_run(pool, probe_task, p);
        double gbps = bytes / ((double)(ifn_time_now_ns() - t0) / 1e9) / 1e9;
        if (gbps > best) best = gbps;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    size_t n = mib * 1024 * 1024 / sizeof(float);
    ifn_pool *pool = NULL;
    probe *p = calloc(1, sizeof *p);
    /* Huge pages where the OS gives them, as the model's packed weights get: 4 KiB pages stop
     * the hardware prefetchers at every page boundary and understate the memory's speed. */
    float *src = ifn_alloc_aligned((size_t)2 << 20, n * sizeof(float));
    float *dst = ifn_alloc_aligned((size_t)2 << 20, n * sizeof(float));
    if (src) ifn_os_advise_huge_pages(src, n * sizeof(float));
    if (dst) ifn_os_advise_huge_pages(dst, n * sizeof(float));
    if (!p || !src || !dst || ifn_pool_create(threads, &pool) != IFN_OK) {
        fprintf(stderr, "bench_bandwidth: setup failed\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) src[i] = (float)(i & 1023);
    memset(dst, 0, n * sizeof(float));
    p->src = src;
    p->dst = dst;
    p->n = n;
    double read = best_gbps(pool, p, 5, (double)n * sizeof(float));
    p->is_copy = 1;
    double copy = best_gbps(pool, p, 5, 2.0 * (double)n * sizeof(float));
    printf("bandwidth read  threads=%d buffer=%zuMiB best=%.2f GB/s\n", ifn_pool_size(pool), mib, read);
    printf("bandwidth copy  threads=%d buffer=%zuMiB best=%.2f GB/s (read+write)\n",
           ifn_pool_size(pool), mib, copy);
    ifn_pool_destroy(pool);
    ifn_free_aligned(src);
    ifn_free_aligned(dst);
    free(p);
    return 0;
}
