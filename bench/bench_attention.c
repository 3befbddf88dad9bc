/* Decode attention throughput (one thread, one token): TinyLlama's shape, 32 query heads over
 * 4 KV heads of head_dim 64, one ifn_kernels.attn call per KV head, against a paged cache of
 * 16-position blocks whose block table is shuffled, for n_kv 256..4096, F16 and F32 KV, each
 * kernel table. A case cycles through enough layers' caches (about 256 MiB) that K/V come from
 * memory, as in a real decode step. Two layouts of a block: "rows" ([position][kv_head][dim],
 * a position's K for all heads together) and "heads" ([kv_head][position][dim], each head's
 * slice of a block contiguous); the reference runs on "rows" only. Reports the median thread
 * CPU time per layer (and wall time), KV bytes read per second and GFLOP/s
 * (4 * n_head * n_kv * head_dim).
 * Usage: bench_attention [--quick] [--isa ref|avx2] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "util/alloc.h"
#include "util/half.h"
#include "util/rng.h"
#include "util/time.h"

#define N_HEAD 32
#define N_HEAD_KV 4
#define HEAD_DIM 64
#define BLOCK_SIZE 16
#define CACHE_BYTES ((size_t)256 << 20)
#define MAX_REPS 64
#define SEED_BYTES ((size_t)1 << 20)

/* The K and V caches of n_layers layers: one pool of blocks, each layer's table a shuffled
 * run of block indices. */
typedef struct kv_cache {
    ifn_dtype type;
    size_t row_bytes, block_bytes;
    int32_t n_layers, blocks_per_layer;
    unsigned char *k_pool, *v_pool;
    const void **k_table, **v_table; /* [n_layers][blocks_per_layer] */
} kv_cache;

/* Random values in [-0.5, 0.5) stored as `type`: one MiB of them, repeated. */
static void fill_random(unsigned char *dst, size_t bytes, ifn_dtype type, ifn_rng *rng) {
    const size_t seed_bytes = bytes < SEED_BYTES ? bytes : SEED_BYTES;
    for (size_t off = 0; off + 4 <= seed_bytes; off += 4) {
        const float a = ifn_rng_next_f32(rng) - 0.5f, b = ifn_rng_next_f32(rng) - 0.5f;
        if (type == IFN_DTYPE_F16) {
            const uint16_t h[2] = {ifn_f32_to_f16(a), ifn_f32_to_f16(b)};
            memcpy(dst + off, h, sizeof h);
        } else {
            memcpy(dst + off, &a, sizeof a);
        }
    }
    for (size_t off = seed_bytes; off < bytes; off += seed_bytes)
        memcpy(dst + off, dst, bytes - off < seed_bytes ? bytes - off : seed_bytes);
}

static int kv_cache_init(kv_cache *c, ifn_dtype type, int32_t n_kv, ifn_rng *rng) {
    const size_t elem = type == IFN_DTYPE_F16 ? 2 : 4;
    c->type = type;
    c->row_bytes = (size_t)N_HEAD_KV * HEAD_DIM * elem;
    c->block_bytes = c->row_bytes * BLOCK_SIZE;
    c->blocks_per_layer = (n_kv + BLOCK_SIZE - 1) / BLOCK_SIZE;
    const size_t layer_bytes = 2 * c->block_bytes * (size_t)c->blocks_per_layer;
    c->n_layers = (int32_t)(CACHE_BYTES / layer_bytes);
    if (c->n_layers < 1) c->n_layers = 1;
    const size_t n_blocks = (size_t)c->n_layers * (size_t)c->blocks_per_layer;
    c->k_pool = ifn_alloc_aligned(64, n_blocks * c->block_bytes);
    c->v_pool = ifn_alloc_aligned(64, n_blocks * c->block_bytes);
    c->k_table = malloc(n_blocks * sizeof *c->k_table);
    c->v_table = malloc(n_blocks * sizeof *c->v_table);
    size_t *perm = malloc(n_blocks * sizeof *perm);
    if (!c->k_pool || !c->v_pool || !c->k_table || !c->v_table || !perm) {
        free(perm);
        return -1;
    }
    const size_t pool_bytes = n_blocks * c->block_bytes;
    fill_random(c->k_pool, pool_bytes, type, rng);
    fill_random(c->v_pool, pool_bytes, type, rng);
    for (size_t i = 0; i < n_blocks; i++)
        perm[i] = i;
    for (size_t i = n_blocks - 1; i > 0; i--) { /* Fisher-Yates: blocks scattered in memory */
        const size_t j = (size_t)(ifn_rng_next_u64(rng) % (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n_blocks; i++) {
        c->k_table[i] = c->k_pool + perm[i] * c->block_bytes;
        c->v_table[i] = c->v_pool + perm[i] * c->block_bytes;
    }
    free(perm);
    return 0;
}

static void kv_cache_deinit(kv_cache *c) {
    ifn_free_aligned(c->k_pool);
    ifn_free_aligned(c->v_pool);
    free(c->k_table);
    free(c->v_table);
}

/* One layer's attention for one token: one call per KV head. */
static void attend_layer(ifn_attn_fn attn, const kv_cache *c, int heads_major, int32_t layer,
                         const float *q, int32_t n_kv, float *out) {
    const size_t elem = c->type == IFN_DTYPE_F16 ? 2 : 4;
    const size_t table_off = (size_t)layer * (size_t)c->blocks_per_layer;
    for (int32_t kv = 0; kv < N_HEAD_KV; kv++) {
        const int32_t group = N_HEAD / N_HEAD_KV;
        const ifn_attn_args a = {
            .q = q + (size_t)kv * group * HEAD_DIM,
            .n_q = group,
            .head_dim = HEAD_DIM,
            .k_blocks = c->k_table + table_off,
            .v_blocks = c->v_table + table_off,
            .block_size = BLOCK_SIZE,
            .row_stride = heads_major ? HEAD_DIM * elem : c->row_bytes,
            .head_offset = (size_t)kv * HEAD_DIM * elem * (heads_major ? BLOCK_SIZE : 1),
            .kv_type = c->type,
            .n_kv = n_kv,
            .scale = 0.125f,
            .out = out + (size_t)kv * group * HEAD_DIM,
        };
        attn(&a);
    }
}

static int64_t thread_cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int compare_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static volatile float g_sink; /* keeps results alive */

static void run_case(const ifn_kernels *k, const kv_cache *c, int heads_major, int32_t n_kv,
                     const float *q, float *out, double budget_s) {
    int64_t wall[MAX_REPS], cpu[MAX_REPS];
    int32_t layer = 0;
    const int64_t t0 = ifn_time_now_ns();
    attend_layer(k->attn, c, heads_major, layer, q, n_kv,
                 out); /* warm-up, and the repetition count */
    const double once_s = (double)(ifn_time_now_ns() - t0) * 1e-9;
    int reps = (int)(budget_s / (once_s > 1e-7 ? once_s : 1e-7));
    reps = reps < 3 ? 3 : reps > MAX_REPS ? MAX_REPS : reps;
    for (int i = 0; i < reps; i++) {
        layer = (layer + 1) % c->n_layers;
        const int64_t w0 = ifn_time_now_ns(), c0 = thread_cpu_ns();
        attend_layer(k->attn, c, heads_major, layer, q, n_kv, out);
        cpu[i] = thread_cpu_ns() - c0;
        wall[i] = ifn_time_now_ns() - w0;
        g_sink += out[i % (N_HEAD * HEAD_DIM)];
    }
    qsort(wall, (size_t)reps, sizeof wall[0], compare_i64);
    qsort(cpu, (size_t)reps, sizeof cpu[0], compare_i64);
    const double median_s = (double)cpu[reps / 2] * 1e-9;
    const double bytes = 2.0 * (double)c->row_bytes * n_kv;
    const double flops = 4.0 * N_HEAD * (double)n_kv * HEAD_DIM;
    printf("attn decode kv=%s n_kv=%-5d heads=%d/%d head_dim=%d block=%d layout=%-5s isa=%-4s "
           "threads=1  median %8.1f us cpu (%8.1f us wall)  %6.2f GB/s  %6.2f GFLOP/s\n",
           c->type == IFN_DTYPE_F16 ? "F16" : "F32", n_kv, N_HEAD, N_HEAD_KV, HEAD_DIM, BLOCK_SIZE,
           heads_major ? "heads" : "rows", k->isa, median_s * 1e6, (double)wall[reps / 2] * 1e-3,
           bytes / median_s * 1e-9, flops / median_s * 1e-9);
    fflush(stdout);
}

static const char *option(const char *flag, int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0) return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv) {
    int quick = 0;
    for (int i = 1; i < argc; i++)
        quick |= strcmp(argv[i], "--quick") == 0;
    const char *isa = option("--isa", argc, argv);
    const ifn_kernels *tables[2];
    int n_tables = 0;
    if (!isa || strcmp(isa, "ref") == 0) tables[n_tables++] = ifn_kernels_ref();
    if ((!isa || strcmp(isa, "avx2") == 0) && ifn_kernels_avx2())
        tables[n_tables++] = ifn_kernels_avx2();
    if (n_tables == 0) {
        fprintf(stderr, "bench_attention: no kernel table for --isa %s on this CPU\n", isa);
        return 1;
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    float q[N_HEAD * HEAD_DIM], out[N_HEAD * HEAD_DIM];
    for (int i = 0; i < N_HEAD * HEAD_DIM; i++)
        q[i] = ifn_rng_next_f32(&rng) - 0.5f;
    const ifn_dtype types[] = {IFN_DTYPE_F16, IFN_DTYPE_F32};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (int32_t n_kv = 256; n_kv <= 4096; n_kv *= 2) {
            kv_cache c;
            if (kv_cache_init(&c, types[t], n_kv, &rng) != 0) {
                fprintf(stderr, "bench_attention: no memory for the caches\n");
                kv_cache_deinit(&c);
                return 1;
            }
            for (int k = 0; k < n_tables; k++) {
                const int is_ref = strcmp(tables[k]->isa, "ref") == 0;
                for (int heads_major = 0; heads_major <= !is_ref; heads_major++)
                    run_case(tables[k], &c, heads_major, n_kv, q, out, is_ref || quick ? 0.2 : 0.5);
            }
            kv_cache_deinit(&c);
        }
    return 0;
}
