/* Matrix-vector throughput of the matmul kernels (one thread, one token): for each weight type,
 * each kernel table (ref, avx2) and each path (fast, exact), y = W x over a rows x n matrix,
 * timing the activation conversion once plus one vec_dot per row. Reports the median thread CPU
 * time (and wall time), the weight bytes read per CPU second (decode is bound by them) and
 * GFLOP/s (2 * rows * n).
 * Shapes: 2048x2048 and 5632x2048 (mostly cache-resident for 4-bit types) and a "stream" matrix
 * of about 256 MiB, far larger than the L3, built by repeating 64 quantized rows.
 * --batch instead measures prefill-style products, Y = W X for 64 tokens on the two smaller
 * shapes, with one vec_dot per (row, token) ("single") and with one vec_dot_x4 per row and group
 * of four tokens ("x4"), each in two loop orders: "rows" = every token for one weight row, then
 * the next row, as ifn_ops_matmul runs them; "tiled" = rows in tiles of about 128 KiB, each tile
 * swept once per group of four tokens, so those tokens' activations stay in L1 across the tile.
 * Activations are converted beforehand, outside the timing. GFLOP/s = 2 * rows * n * 64 per CPU
 * second; the speed-ups are over "single, rows".
 * Usage: bench_kernels [--quick] [--batch] [--isa ref|avx2] [TYPE...]   e.g. bench_kernels Q4_0
 * (--quick: shorter runs, no 5632x2048 shape). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/ref/quant_act_ref.h"
#include "kernels/ref/vec_dot_ref.h"
#include "kernels/x86/quant_act_avx2.h"
#include "kernels/x86/vec_dot_avx2.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/time.h"

static const ifn_dtype g_types[] = {
    IFN_DTYPE_F32,  IFN_DTYPE_F16,  IFN_DTYPE_BF16, IFN_DTYPE_Q4_0,   IFN_DTYPE_Q4_1,
    IFN_DTYPE_Q5_0, IFN_DTYPE_Q5_1, IFN_DTYPE_Q8_0, IFN_DTYPE_IQ4_NL, IFN_DTYPE_Q2_K,
    IFN_DTYPE_Q3_K, IFN_DTYPE_Q4_K, IFN_DTYPE_Q5_K, IFN_DTYPE_Q6_K,   IFN_DTYPE_IQ4_XS,
};

#define SEED_ROWS 64
#define STREAM_BYTES ((size_t)256 << 20)

typedef struct matrix {
    unsigned char *data;
    int64_t rows, n;
    size_t row_bytes;
} matrix;

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++)
        s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f;
}

/* rows x n weights of `type`: SEED_ROWS quantized random rows repeated. */
static int make_matrix(ifn_dtype type, int64_t rows, int64_t n, ifn_rng *rng, matrix *out) {
    out->rows = rows;
    out->n = n;
    out->row_bytes = ifn_dtype_row_bytes(type, n);
    out->data = ifn_alloc_aligned(64, out->row_bytes * (size_t)rows);
    float *w = malloc((size_t)n * sizeof *w);
    if (!out->data || !w) {
        free(w);
        return -1;
    }
    for (int64_t r = 0; r < rows; r++) {
        unsigned char *row = out->data + (size_t)r * out->row_bytes;
        if (r >= SEED_ROWS) {
            memcpy(row, out->data + (size_t)(r % SEED_ROWS) * out->row_bytes, out->row_bytes);
            continue;
        }
        for (int64_t i = 0; i < n; i++)
            w[i] = 0.05f * normal(rng);
        if (ifn_quant_row(type, w, row, n) != IFN_OK) {
            free(w);
            return -1;
        }
    }
    free(w);
    return 0;
}

/* CPU time of this thread: unlike wall time it does not count the time other processes hold
 * the core, so busy machines still give usable numbers (with one hardware thread per core). */
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

/* One y = W x: activation conversion, then a dot product per row. */
static void matvec(const ifn_matmul_traits *tr, const matrix *m, const float *x, void *act,
                   float *y) {
    const void *a = x;
    if (tr->act_type != IFN_DTYPE_F32) {
        tr->quantize_act(x, act, m->n);
        a = act;
    }
    for (int64_t r = 0; r < m->rows; r++)
        y[r] = tr->vec_dot(m->data + (size_t)r * m->row_bytes, a, m->n);
}

static void run_case(const char *label, const char *isa, const char *path,
                     const ifn_matmul_traits *tr, const matrix *m, const float *x, int reps) {
    void *act = ifn_alloc_aligned(64, (size_t)m->n * sizeof(float) + 64);
    float *y = malloc((size_t)m->rows * sizeof *y);
    int64_t wall[64], cpu[64];
    if (act && y) {
        if (reps > 64) reps = 64;
        matvec(tr, m, x, act, y); /* warm up */
        for (int i = 0; i < reps; i++) {
            const int64_t w0 = ifn_time_now_ns(), c0 = thread_cpu_ns();
            matvec(tr, m, x, act, y);
            cpu[i] = thread_cpu_ns() - c0;
            wall[i] = ifn_time_now_ns() - w0;
            g_sink += y[i % m->rows];
        }
        qsort(wall, (size_t)reps, sizeof wall[0], compare_i64);
        qsort(cpu, (size_t)reps, sizeof cpu[0], compare_i64);
        const double median_s = (double)cpu[reps / 2] * 1e-9, best_s = (double)cpu[0] * 1e-9;
        const double bytes = (double)m->row_bytes * (double)m->rows;
        const double flops = 2.0 * (double)m->rows * (double)m->n;
        printf("matvec %-7s %-5s rows=%-6lld n=%-5lld isa=%-4s threads=1  median %8.3f ms cpu "
               "(%8.3f ms wall)  %6.2f GB/s  %6.2f GFLOP/s  (best %6.2f GB/s)\n",
               label, path, (long long)m->rows, (long long)m->n, isa, median_s * 1e3,
               (double)wall[reps / 2] * 1e-6, bytes / median_s * 1e-9, flops / median_s * 1e-9,
               bytes / best_s * 1e-9);
        fflush(stdout);
    }
    ifn_free_aligned(act);
    free(y);
}

/* Repetitions so that one case takes roughly `budget_s` seconds. */
static int reps_for(const ifn_matmul_traits *tr, const matrix *m, const float *x, double budget_s) {
    void *act = ifn_alloc_aligned(64, (size_t)m->n * sizeof(float) + 64);
    float *y = malloc((size_t)m->rows * sizeof *y);
    int reps = 3;
    if (act && y) {
        const int64_t t0 = ifn_time_now_ns();
        matvec(tr, m, x, act, y);
        const double s = (double)(ifn_time_now_ns() - t0) * 1e-9;
        reps = (int)(budget_s / (s > 1e-6 ? s : 1e-6));
        reps = reps < 3 ? 3 : reps > 41 ? 41 : reps;
    }
    ifn_free_aligned(act);
    free(y);
    return reps;
}

/* ---- batch: 64 tokens, single-token kernel vs four-token kernel ---- */

#define BATCH_TOKENS 64
#define BATCH_TILE_BYTES ((size_t)128 << 10)

typedef struct batch {
    const ifn_matmul_traits *tr;
    const matrix *m;
    const unsigned char *act; /* [BATCH_TOKENS] rows, act_stride bytes apart */
    size_t act_stride;
    float *y; /* [BATCH_TOKENS][rows] */
} batch;

/* Y rows r of tokens t..t+3: one vec_dot_x4 or four vec_dot calls. */
static void batch_four(const batch *bt, int use_x4, int64_t r, int64_t t) {
    const matrix *m = bt->m;
    const unsigned char *row = m->data + (size_t)r * m->row_bytes;
    const unsigned char *a = bt->act + (size_t)t * bt->act_stride;
    float out[4];
    if (use_x4) {
        bt->tr->vec_dot_x4(row, a, bt->act_stride, m->n, out);
    } else {
        for (int j = 0; j < 4; j++)
            out[j] = bt->tr->vec_dot(row, a + (size_t)j * bt->act_stride, m->n);
    }
    for (int j = 0; j < 4; j++)
        bt->y[(t + j) * m->rows + r] = out[j];
}

/* Y = W X in one of the four variants: bit 0 = x4, bit 1 = tiled. */
static void batch_run(const batch *bt, int variant) {
    const matrix *m = bt->m;
    const int use_x4 = variant & 1;
    int64_t tile = variant & 2 ? (int64_t)(BATCH_TILE_BYTES / m->row_bytes) : 1;
    tile = tile < 1 ? 1 : tile;
    for (int64_t r0 = 0; r0 < m->rows; r0 += tile) {
        const int64_t r1 = r0 + tile < m->rows ? r0 + tile : m->rows;
        for (int64_t t = 0; t < BATCH_TOKENS; t += 4) {
            for (int64_t r = r0; r < r1; r++)
                batch_four(bt, use_x4, r, t);
        }
    }
}

/* Median thread CPU seconds of each batch_run variant, the variants taking turns (so that a
 * busy spell on this shared machine hits all alike), over about budget_s in all. */
static void batch_times(const batch *bt, double budget_s, double out_s[4]) {
    int64_t cpu[4][41];
    batch_run(bt, 0); /* warm up */
    const int64_t t0 = ifn_time_now_ns();
    batch_run(bt, 0);
    const double once = (double)(ifn_time_now_ns() - t0) * 1e-9;
    int reps = (int)(budget_s / (3 * (once > 1e-6 ? once : 1e-6)));
    reps = reps < 3 ? 3 : reps > 41 ? 41 : reps;
    for (int i = 0; i < reps; i++) {
        for (int v = 0; v < 4; v++) {
            const int64_t c0 = thread_cpu_ns();
            batch_run(bt, v);
            cpu[v][i] = thread_cpu_ns() - c0;
            g_sink += bt->y[i % (BATCH_TOKENS * bt->m->rows)];
        }
    }
    for (int v = 0; v < 4; v++) {
        qsort(cpu[v], (size_t)reps, sizeof cpu[v][0], compare_i64);
        out_s[v] = (double)cpu[v][reps / 2] * 1e-9;
    }
}

static void bench_batch(const char *label, const ifn_kernels *k, const ifn_matmul_traits *tr,
                        const matrix *m, ifn_rng *rng, double budget_s) {
    if (!tr->vec_dot || !tr->vec_dot_x4) return;
    /* rows 64-byte aligned, as ifn_alloc_aligned gives each token's row */
    const size_t stride = (ifn_dtype_row_bytes(tr->act_type, m->n) + 63) / 64 * 64;
    unsigned char *act = ifn_alloc_aligned(64, stride * BATCH_TOKENS);
    float *x = malloc((size_t)m->n * sizeof *x);
    float *y = malloc((size_t)BATCH_TOKENS * (size_t)m->rows * sizeof *y);
    if (act && x && y) {
        for (int t = 0; t < BATCH_TOKENS; t++) {
            for (int64_t i = 0; i < m->n; i++)
                x[i] = normal(rng);
            if (tr->act_type == IFN_DTYPE_F32)
                memcpy(act + (size_t)t * stride, x, (size_t)m->n * sizeof *x);
            else
                tr->quantize_act(x, act + (size_t)t * stride, m->n);
        }
        const batch bt = {tr, m, act, stride, y};
        double s[4];
        batch_times(&bt, budget_s, s);
        const double gflop = 2.0 * (double)m->rows * (double)m->n * BATCH_TOKENS * 1e-9;
        printf("batch  %-7s rows=%-6lld n=%-5lld tokens=%d isa=%-4s threads=1  GFLOP/s: single "
               "rows %6.2f  x4 rows %6.2f (%.2fx)  single tiled %6.2f (%.2fx)  x4 tiled %6.2f "
               "(%.2fx)\n",
               label, (long long)m->rows, (long long)m->n, BATCH_TOKENS, k->isa, gflop / s[0],
               gflop / s[1], s[0] / s[1], gflop / s[2], s[0] / s[2], gflop / s[3], s[0] / s[3]);
        fflush(stdout);
    }
    ifn_free_aligned(act);
    free(x);
    free(y);
}

static void bench_type_batch(ifn_dtype type, const ifn_kernels *const *tables, int n_tables,
                             int quick, ifn_rng *rng) {
    const char *name = ifn_dtype_get_info((uint32_t)type)->name;
    const int64_t shapes[2][2] = {{2048, 2048}, {5632, 2048}};
    for (int s = 0; s < (quick ? 1 : 2); s++) {
        matrix m = {0};
        if (make_matrix(type, shapes[s][0], shapes[s][1], rng, &m) == 0) {
            for (int t = 0; t < n_tables; t++) {
                if (strcmp(tables[t]->isa, "ref") == 0) continue; /* the ref x4 is 4 calls */
                bench_batch(name, tables[t], &tables[t]->matmul[type], &m, rng, quick ? 1.0 : 3.0);
            }
        } else {
            fprintf(stderr, "bench_kernels: cannot build %s %lldx%lld\n", name,
                    (long long)shapes[s][0], (long long)shapes[s][1]);
        }
        ifn_free_aligned(m.data);
    }
}

static int wanted(const char *name, int argc, char **argv) {
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        if (i > 1 && strcmp(argv[i - 1], "--isa") == 0) continue;
        any = 1;
        if (strcmp(argv[i], name) == 0) return 1;
    }
    return !any;
}

static const char *option(const char *flag, int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0) return argv[i + 1];
    return NULL;
}

static int has_flag(const char *flag, int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0) return 1;
    return 0;
}

static void bench_type(ifn_dtype type, const ifn_kernels *const *tables, int n_tables,
                       const float *x, int quick, ifn_rng *rng) {
    const char *name = ifn_dtype_get_info((uint32_t)type)->name;
    const int64_t shapes[2][2] = {{2048, 2048}, {5632, 2048}};
    for (int s = 0; s < 3; s++) {
        if (quick && s == 1) continue;
        matrix m = {0};
        int64_t rows = s < 2 ? shapes[s][0] : 0, n = s < 2 ? shapes[s][1] : 4096;
        if (s == 2) rows = (int64_t)(STREAM_BYTES / ifn_dtype_row_bytes(type, n));
        if (make_matrix(type, rows, n, rng, &m) != 0) {
            fprintf(stderr, "bench_kernels: cannot build %s %lldx%lld\n", name, (long long)rows,
                    (long long)n);
            ifn_free_aligned(m.data);
            continue;
        }
        for (int t = 0; t < n_tables; t++) {
            const int is_ref = strcmp(tables[t]->isa, "ref") == 0;
            if (is_ref && s == 2) continue; /* the scalar code is far from memory-bound */
            const double budget = is_ref ? 0.3 : (quick ? 0.3 : 1.0);
            const ifn_matmul_traits *fast = &tables[t]->matmul[type];
            const ifn_matmul_traits *exact = &tables[t]->matmul_exact[type];
            run_case(name, tables[t]->isa, "fast", fast, &m, x, reps_for(fast, &m, x, budget));
            if (exact->vec_dot != fast->vec_dot)
                run_case(name, tables[t]->isa, "exact", exact, &m, x,
                         reps_for(exact, &m, x, budget));
            if (type == IFN_DTYPE_F16) { /* the alternative: F16 activations */
                const ifn_matmul_traits f16_act = {
                    IFN_DTYPE_F16, is_ref ? ifn_quant_act_f16_ref : ifn_quant_act_f16_avx2,
                    is_ref ? ifn_vec_dot_f16_f16_ref : ifn_vec_dot_f16_f16_avx2, NULL, NULL, NULL, NULL, 0, NULL};
                run_case("F16xF16", tables[t]->isa, "fast", &f16_act, &m, x,
                         reps_for(&f16_act, &m, x, budget));
            }
        }
        ifn_free_aligned(m.data);
    }
}

int main(int argc, char **argv) {
    const int quick = has_flag("--quick", argc, argv);
    const char *isa = option("--isa", argc, argv);
    const ifn_kernels *tables[2];
    int n_tables = 0;
    if (!isa || strcmp(isa, "ref") == 0) tables[n_tables++] = ifn_kernels_ref();
    if ((!isa || strcmp(isa, "avx2") == 0) && ifn_kernels_avx2())
        tables[n_tables++] = ifn_kernels_avx2();
    if (n_tables == 0) {
        fprintf(stderr, "bench_kernels: no kernel table for --isa %s on this CPU\n", isa);
        return 1;
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    float *x = malloc(8192 * sizeof *x);
    if (!x) return 1;
    for (int i = 0; i < 8192; i++)
        x[i] = normal(&rng);
    const int batch_mode = has_flag("--batch", argc, argv);
    for (size_t i = 0; i < sizeof g_types / sizeof g_types[0]; i++) {
        if (!wanted(ifn_dtype_get_info((uint32_t)g_types[i])->name, argc, argv)) continue;
        if (batch_mode)
            bench_type_batch(g_types[i], tables, n_tables, quick, &rng);
        else
            bench_type(g_types[i], tables, n_tables, x, quick, &rng);
    }
    free(x);
    return 0;
}
