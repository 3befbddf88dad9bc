/* Tests of ifn_quant_row: encoding quantfix-F32.gguf reproduces the bytes llama-quantize wrote
 * in quantfix-<TYPE>.gguf, round trips through ifn_dequant_row stay within per-type error
 * bounds, exact values survive, and bad input is refused. The shared-vector test skips when
 * $IFN_SHARED_DIR/vectors/quant is missing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/dequant.h"
#include "kernels/quant.h"
#include "model/gguf.h"
#include "util/half.h"
#include "util/rng.h"
#include "util/status.h"

typedef struct quant_case {
    const char *name;
    ifn_dtype type;
    double max_rel_rms; /* bound on RMS(error) / RMS(x) for the random rows below */
} quant_case;

/* Bounds are about 1.3x the worst row of make_rows() (fixed seed; rows with 10-sigma outliers
 * are the worst); a wrong level, scale or bit costs far more than that margin. */
static const quant_case g_cases[] = {
    {"F16", IFN_DTYPE_F16, 0.0005},     {"BF16", IFN_DTYPE_BF16, 0.003},
    {"Q4_0", IFN_DTYPE_Q4_0, 0.21},     {"Q4_1", IFN_DTYPE_Q4_1, 0.15},
    {"Q5_0", IFN_DTYPE_Q5_0, 0.11},     {"Q5_1", IFN_DTYPE_Q5_1, 0.075},
    {"Q8_0", IFN_DTYPE_Q8_0, 0.014},    {"Q2_K", IFN_DTYPE_Q2_K, 0.55},
    {"Q3_K", IFN_DTYPE_Q3_K, 0.32},     {"Q4_K", IFN_DTYPE_Q4_K, 0.14},
    {"Q5_K", IFN_DTYPE_Q5_K, 0.068},    {"Q6_K", IFN_DTYPE_Q6_K, 0.042},
    {"IQ4_NL", IFN_DTYPE_IQ4_NL, 0.17}, {"IQ4_XS", IFN_DTYPE_IQ4_XS, 0.17},
};

#define N_CASES (sizeof g_cases / sizeof g_cases[0])

static ifn_gguf *open_quantfix(const char *type_name) {
    const char *shared = getenv("IFN_SHARED_DIR");
    if (!shared) return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/quant/quantfix-%s.gguf", shared, type_name);
    ifn_gguf *g = NULL;
    if (ifn_gguf_open(path, &g) != IFN_OK) return NULL;
    return g;
}

/* Encodes every TYPE tensor of `quant` from the same tensor of `f32`, row by row; returns the
 * number of rows whose bytes differ from the file. */
static int64_t count_differing_rows(const ifn_gguf *f32, const ifn_gguf *quant, ifn_dtype type) {
    int64_t bad_rows = 0;
    for (int64_t i = 0; i < ifn_gguf_tensor_count(quant); i++) {
        const ifn_gguf_tensor *q = ifn_gguf_tensor_at(quant, i);
        if (q->type != type) continue;
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)q->name.len, q->name.ptr);
        const ifn_gguf_tensor *src = ifn_gguf_find_tensor(f32, name);
        assert_non_null(src);
        assert_int_equal(src->type, IFN_DTYPE_F32);
        const int64_t row_elems = q->ne[0];
        const size_t row_bytes = ifn_dtype_row_bytes(type, row_elems);
        const int64_t n_rows = (int64_t)(q->size_bytes / row_bytes);
        unsigned char *row = malloc(row_bytes);
        assert_non_null(row);
        for (int64_t r = 0; r < n_rows; r++) {
            const float *x = (const float *)src->data + r * row_elems;
            assert_int_equal(ifn_quant_row(type, x, row, row_elems), IFN_OK);
            if (memcmp(row, (const unsigned char *)q->data + (size_t)r * row_bytes, row_bytes)) {
                if (bad_rows++ < 3) print_message("%s row %lld differs\n", name, (long long)r);
            }
        }
        free(row);
    }
    return bad_rows;
}

static void test_quant_reproduces_llama_quantize_bytes(void **state) {
    (void)state;
    ifn_gguf *f32 = open_quantfix("F32");
    if (!f32) skip();
    int64_t total_bad = 0;
    for (size_t c = 0; c < N_CASES; c++) {
        ifn_gguf *quant = open_quantfix(g_cases[c].name);
        assert_non_null(quant);
        const int64_t bad = count_differing_rows(f32, quant, g_cases[c].type);
        if (bad) print_message("%s: %lld rows differ\n", g_cases[c].name, (long long)bad);
        total_bad += bad;
        ifn_gguf_close(quant);
    }
    ifn_gguf_close(f32);
    assert_int_equal(total_bad, 0);
}

#define ROW 256
#define N_ROWS 64

/* Gaussian rows (std 0.05) with 0.5 % outliers, a few rows scaled by 0.01..4, one zero row and
 * one constant row: a miniature of the quantfix weights, with the same awkward cases. */
static void make_rows(float *x) {
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234);
    for (int i = 0; i < N_ROWS * ROW; i++) {
        const double u1 = 1.0 - ifn_rng_next_f64(&rng), u2 = ifn_rng_next_f64(&rng);
        x[i] = (float)(0.05 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
        if (ifn_rng_next_f32(&rng) < 0.005f) x[i] = x[i] < 0 ? -0.5f : 0.5f;
    }
    for (int r = 0; r < N_ROWS; r += 8) {
        const float factor = 0.01f + 4.0f * ifn_rng_next_f32(&rng);
        for (int i = 0; i < ROW; i++)
            x[r * ROW + i] *= factor;
    }
    for (int i = 0; i < ROW; i++)
        x[3 * ROW + i] = 0.0f;
    for (int i = 0; i < ROW; i++)
        x[5 * ROW + i] = 0.125f;
}

/* Largest RMS(error) / RMS(x) over the rows; every decoded value must be finite. */
static double worst_row_error(ifn_dtype type, const float *x) {
    unsigned char q[ROW * 4];
    float y[ROW];
    double worst = 0;
    for (int r = 0; r < N_ROWS; r++) {
        const float *xr = x + r * ROW;
        assert_int_equal(ifn_quant_row(type, xr, q, ROW), IFN_OK);
        assert_int_equal(ifn_dequant_row(type, q, y, ROW), IFN_OK);
        double err2 = 0, sig2 = 0;
        for (int i = 0; i < ROW; i++) {
            assert_true(isfinite(y[i]));
            err2 += ((double)y[i] - xr[i]) * ((double)y[i] - xr[i]);
            sig2 += (double)xr[i] * xr[i];
        }
        if (sig2 == 0) {
            assert_true(err2 == 0); /* a zero row comes back exactly zero */
            continue;
        }
        if (sqrt(err2 / sig2) > worst) worst = sqrt(err2 / sig2);
    }
    return worst;
}

static void test_quant_round_trip_error_is_bounded(void **state) {
    (void)state;
    float *x = malloc(sizeof(float) * N_ROWS * ROW);
    assert_non_null(x);
    make_rows(x);
    for (size_t c = 0; c < N_CASES; c++) {
        const double err = worst_row_error(g_cases[c].type, x);
        print_message("%-6s worst relative RMS error %.5f (bound %.4f)\n", g_cases[c].name, err,
                      g_cases[c].max_rel_rms);
        assert_true(err <= g_cases[c].max_rel_rms);
    }
    free(x);
}

/* Q8_0: each element within half a step (plus the F16 rounding of the scale) of its input. */
static void test_quant_q8_0_error_within_half_step(void **state) {
    (void)state;
    float *x = malloc(sizeof(float) * N_ROWS * ROW);
    assert_non_null(x);
    make_rows(x);
    unsigned char q[ROW / 32 * 34];
    float y[ROW];
    for (int r = 0; r < N_ROWS; r++) {
        const float *xr = x + r * ROW;
        assert_int_equal(ifn_quant_row(IFN_DTYPE_Q8_0, xr, q, ROW), IFN_OK);
        assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q8_0, q, y, ROW), IFN_OK);
        for (int b = 0; b < ROW / 32; b++) {
            float amax = 0;
            for (int i = 0; i < 32; i++)
                amax = fmaxf(amax, fabsf(xr[32 * b + i]));
            const float step = amax / 127;
            for (int i = 0; i < 32; i++) {
                assert_true(fabsf(y[32 * b + i] - xr[32 * b + i]) <= 0.57f * step);
            }
        }
    }
    free(x);
}

static void test_quant_keeps_exact_values(void **state) {
    (void)state;
    float x[32], y[32];
    unsigned char q[64];
    /* multiples of 0.5 up to 63.5 = 127 * 0.5: Q8_0's scale is exactly 0.5 */
    for (int i = 0; i < 32; i++)
        x[i] = 0.5f * (float)((i * 37) % 255 - 127);
    x[0] = 63.5f;
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q8_0, x, q, 32), IFN_OK);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_Q8_0, q, y, 32), IFN_OK);
    assert_memory_equal(x, y, sizeof x);
    /* F16 / BF16 keep values they can represent, and round to nearest even otherwise */
    const float halves[4] = {1.0f, -2.5f, 65504.0f, 5.9604644775390625e-08f};
    assert_int_equal(ifn_quant_row(IFN_DTYPE_F16, halves, q, 4), IFN_OK);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_F16, q, y, 4), IFN_OK);
    assert_memory_equal(halves, y, sizeof halves);
    const float bf[2] = {3.140625f, 1.00390625f}; /* 1 + 2^-8 is a tie: rounds to even, 1.0 */
    assert_int_equal(ifn_quant_row(IFN_DTYPE_BF16, bf, q, 2), IFN_OK);
    assert_int_equal(ifn_dequant_row(IFN_DTYPE_BF16, q, y, 2), IFN_OK);
    assert_true(y[0] == 3.140625f);
    assert_true(y[1] == 1.0f);
}

static void test_quant_refuses_bad_input(void **state) {
    (void)state;
    float x[256] = {0};
    unsigned char q[1024], untouched[1024];
    memset(q, 0xA5, sizeof q);
    memcpy(untouched, q, sizeof q);
    ifn_clear_error();
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q4_0, x, q, 31), IFN_E_INVALID);
    assert_true(ifn_last_error()[0] != '\0');
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q6_K, x, q, 128), IFN_E_INVALID);
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q8_0, x, q, -32), IFN_E_INVALID);
    x[100] = NAN;
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q8_0, x, q, 256), IFN_E_INVALID);
    x[100] = -INFINITY;
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q4_K, x, q, 256), IFN_E_INVALID);
    assert_memory_equal(q, untouched, sizeof q);
    x[100] = 0;
    const uint32_t ids[] = {IFN_DTYPE_Q8_1,   IFN_DTYPE_Q8_K,
                            IFN_DTYPE_IQ2_XS, IFN_DTYPE_I8,
                            IFN_DTYPE_TQ1_0,  4,
                            IFN_DTYPE_COUNT,  77};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_int_equal(ifn_quant_row((ifn_dtype)ids[i], x, q, 256), IFN_E_UNSUPPORTED);
        assert_false(ifn_quant_can_encode((ifn_dtype)ids[i]));
    }
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q4_K, x, q, 0), IFN_OK);
}

/* Every type that can be encoded can be decoded, and the encoders cover the test table. */
static void test_quant_types_round_trip_through_dequant(void **state) {
    (void)state;
    int n_encodable = 0;
    for (uint32_t id = 0; id < IFN_DTYPE_COUNT; id++) {
        if (!ifn_quant_can_encode((ifn_dtype)id)) continue;
        n_encodable++;
        const ifn_dtype_info *info = ifn_dtype_get_info(id);
        assert_non_null(info);
        assert_true(info->can_dequantize);
    }
    assert_int_equal(n_encodable, (int)N_CASES + 1); /* + F32 */
}

/* Tiny and huge magnitudes stay finite and defined (UBSan checks the casts). */
static void test_quant_extreme_magnitudes(void **state) {
    (void)state;
    float x[256], y[256];
    unsigned char q[1024];
    const float magnitudes[] = {1e-40f, 1e-30f, 1e-10f, 1e4f, 6e4f};
    for (size_t m = 0; m < sizeof magnitudes / sizeof magnitudes[0]; m++) {
        for (int i = 0; i < 256; i++)
            x[i] = magnitudes[m] * (float)((i * 7) % 17 - 8);
        for (size_t c = 0; c < N_CASES; c++) {
            assert_int_equal(ifn_quant_row(g_cases[c].type, x, q, 256), IFN_OK);
            assert_int_equal(ifn_dequant_row(g_cases[c].type, q, y, 256), IFN_OK);
            for (int i = 0; i < 256; i++)
                assert_false(isnan(y[i]));
        }
    }
}

/* Encoding into an odd address writes the same bytes. */
static void test_quant_accepts_unaligned_destination(void **state) {
    (void)state;
    float x[256];
    for (int i = 0; i < 256; i++)
        x[i] = sinf((float)i * 0.37f);
    unsigned char aligned[1024], unaligned[1025];
    for (size_t c = 0; c < N_CASES; c++) {
        const size_t bytes = ifn_dtype_row_bytes(g_cases[c].type, 256);
        assert_int_equal(ifn_quant_row(g_cases[c].type, x, aligned, 256), IFN_OK);
        assert_int_equal(ifn_quant_row(g_cases[c].type, x, unaligned + 1, 256), IFN_OK);
        assert_memory_equal(aligned, unaligned + 1, bytes);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_refuses_bad_input),
        cmocka_unit_test(test_quant_types_round_trip_through_dequant),
        cmocka_unit_test(test_quant_keeps_exact_values),
        cmocka_unit_test(test_quant_q8_0_error_within_half_step),
        cmocka_unit_test(test_quant_round_trip_error_is_bounded),
        cmocka_unit_test(test_quant_extreme_magnitudes),
        cmocka_unit_test(test_quant_accepts_unaligned_destination),
        cmocka_unit_test(test_quant_reproduces_llama_quantize_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
