/* Single-thread throughput of the packed eight-row kernels (matmul_packed in kernels/kernels.h):
 * for each packed weight type, Y = W X with W of 512 rows x 2048 columns (random floats
 * quantized with ifn_quant_row, packed with the table's pack_x8), X of 1, 4 or 64 tokens,
 * groups swept as ifn_ops_matmul sweeps them (two per call where there is a 16-row kernel). Two sizes: "cache" (the 512-row matrix, from L2)
 * and "stream" (the same 512 rows repeated to about 256 MiB, from memory). Prints the best of
 * several runs in multiply-adds per second (GMAC/s) and weight bytes per second.
 * Usage: bench_packed [--isa ref|avx2] [TYPE...]   e.g. bench_packed Q8_0 Q4_K */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "util/alloc.h"
#include "util/os_memory.h"
#include "util/rng.h"

#define N_COLS 2048
#define BASE_ROWS 512
#define STREAM_BYTES ((size_t)256 << 20)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Best time of `reps` sweeps of n_groups groups (group_bytes apart) against n_tok tokens. */
static double best_time(const ifn_matmul_traits *tr, const unsigned char *packed, size_t group_bytes,
                        int64_t n_groups, const unsigned char *act, size_t act_stride, int n_tok,
                        float *y, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        int64_t g = 0;
        if (tr->gemm_x16) /* two groups per call, as ifn_ops_matmul runs them */
            for (; g + 2 <= n_groups; g += 2)
                tr->gemm_x16(packed + (size_t)g * group_bytes, act, act_stride, n_tok, N_COLS,
                             y + 8 * (g % (BASE_ROWS / 8)), BASE_ROWS);
        for (; g < n_groups; g++)
            tr->gemm_x8(packed + (size_t)g * group_bytes, act, act_stride, n_tok, N_COLS,
                        y + 8 * (g % (BASE_ROWS / 8)), BASE_ROWS);
        const double dt = now_s() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

static int bench_type(const ifn_kernels *k, ifn_dtype type) {
    const ifn_matmul_traits *tr = &k->matmul_packed[type];
    const ifn_dtype_info *info = ifn_dtype_get_info(type);
    if (!tr->gemm_x8) return 0;
    const size_t row_bytes = ifn_dtype_row_bytes(type, N_COLS);
    const size_t group_bytes = (size_t)(N_COLS / info->block_elems) * (size_t)tr->group_block_bytes;
    const int64_t base_groups = BASE_ROWS / 8, stream_groups = (int64_t)(STREAM_BYTES / group_bytes);
    unsigned char *rows = malloc(BASE_ROWS * row_bytes);
    unsigned char *packed = ifn_alloc_aligned((size_t)2 << 20, (size_t)stream_groups * group_bytes);
    const size_t act_stride = (size_t)N_COLS * sizeof(float);
    unsigned char *act = ifn_alloc_aligned(64, 64 * act_stride);
    float *x = malloc(sizeof(float) * N_COLS), *y = malloc(sizeof(float) * 64 * BASE_ROWS);
    if (!rows || !packed || !act || !x || !y) {
        fprintf(stderr, "bench_packed: no memory\n");
        return 1;
    }
    ifn_os_advise_huge_pages(packed, (size_t)stream_groups * group_bytes);
    ifn_rng rng;
    ifn_rng_seed(&rng, 5);
    for (int r = 0; r < BASE_ROWS; r++) {
        for (int i = 0; i < N_COLS; i++) x[i] = ifn_rng_next_f32(&rng) - 0.5f;
        if (ifn_quant_row(type, x, rows + (size_t)r * row_bytes, N_COLS) != IFN_OK) return 1;
    }
    for (int64_t g = 0; g < stream_groups; g++) /* the base matrix, repeated */
        tr->pack_x8(rows + (size_t)(g % base_groups) * 8 * row_bytes, row_bytes, N_COLS,
                    packed + (size_t)g * group_bytes);
    for (int t = 0; t < 64; t++) {
        for (int i = 0; i < N_COLS; i++) x[i] = ifn_rng_next_f32(&rng) - 0.5f;
        if (tr->quantize_act)
            tr->quantize_act(x, act + (size_t)t * act_stride, N_COLS);
        else
            memcpy(act + (size_t)t * act_stride, x, sizeof(float) * N_COLS);
    }
    static const int tokens[] = {1, 4, 64};
    for (int shape = 0; shape < 2; shape++) {
        const int64_t n_groups = shape ? stream_groups : base_groups;
        for (size_t ti = 0; ti < sizeof tokens / sizeof tokens[0]; ti++) {
            const int n_tok = tokens[ti];
            if (shape && n_tok == 64) continue; /* minutes per run, says nothing new */
            const double macs = (double)n_groups * 8.0 * N_COLS * n_tok;
            const int reps = shape ? 3 : (int)(2e9 / macs) + 3;
            const double t = best_time(tr, packed, group_bytes, n_groups, act, act_stride, n_tok,
                                       y, reps);
            printf("packed %-5s isa=%-4s %-6s rows=%-6lld n=%d tokens=%-3d %7.1f GMAC/s %7.2f GB/s "
                   "weights\n",
                   info->name, k->isa, shape ? "stream" : "cache", (long long)(n_groups * 8),
                   N_COLS, n_tok, macs / t / 1e9, (double)n_groups * (double)group_bytes / t / 1e9);
        }
    }
    free(rows);
    ifn_free_aligned(packed);
    ifn_free_aligned(act);
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    const ifn_kernels *k = ifn_kernels_get();
    int first_type = 1;
    if (argc > 2 && strcmp(argv[1], "--isa") == 0) {
        k = strcmp(argv[2], "ref") == 0 ? ifn_kernels_ref() : ifn_kernels_avx2();
        first_type = 3;
        if (!k) {
            fprintf(stderr, "bench_packed: this CPU has no %s kernels\n", argv[2]);
            return 1;
        }
    }
    static const ifn_dtype all[] = {IFN_DTYPE_Q8_0, IFN_DTYPE_Q4_0, IFN_DTYPE_Q4_K,
                                    IFN_DTYPE_Q6_K, IFN_DTYPE_F16,  IFN_DTYPE_BF16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int wanted = argc <= first_type;
        for (int a = first_type; a < argc; a++)
            if (strcmp(argv[a], ifn_dtype_get_info(all[i])->name) == 0) wanted = 1;
        if (wanted && bench_type(k, all[i]) != 0) return 1;
    }
    return 0;
}
