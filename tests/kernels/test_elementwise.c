/* Tests of the element-wise kernels of the ifn_kernels tables (kernels/kernels.h): RMSNorm,
 * RoPE, softmax, SwiGLU, add, F16 row conversion and argmax, in the reference table and (when
 * the CPU has it) the AVX2 table, against float64 formulas on random rows with vector tails
 * (lengths 1, 7, 9, ...). What each check tolerates, relative to the float64 value:
 *   exp (AVX2 polynomial) 1e-6 on [-87.3, 88.3]; swiglu 1e-6 for |gate| <= 87;
 *   rmsnorm 1e-5 (float32 sum of squares); softmax 1e-5 (float32 sum of up to 32000 terms);
 *   rope 1e-6 of |x0| + |x1| given the same float cos/sin; add, F16 conversions and argmax exact
 *   (bit for bit with the reference). A RoPE with the other pairing must fail the RoPE check. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "util/half.h"
#include "util/rng.h"

#define EXP_TOL 1e-6
#define SWIGLU_TOL 1e-6
#define RMSNORM_TOL 1e-5
#define SOFTMAX_TOL 1e-5
#define ROPE_TOL 1e-6

static const int64_t g_lengths[] = {1, 3, 7, 8, 9, 31, 64, 100, 2048, 4099};
#define N_LENGTHS (sizeof g_lengths / sizeof g_lengths[0])
#define MAX_LEN 32000

/* The tables to test: ref, plus avx2 when the CPU has it. Returns how many. */
static int kernel_tables(const ifn_kernels *out[2]) {
    int n = 0;
    out[n++] = ifn_kernels_ref();
    if (ifn_kernels_avx2()) out[n++] = ifn_kernels_avx2();
    return n;
}

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++)
        s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f; /* mean 0, variance 1 */
}

static float uniform(ifn_rng *rng, float lo, float hi) {
    return lo + (hi - lo) * ifn_rng_next_f32(rng);
}

static float *alloc_floats(int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    assert_non_null(p);
    return p;
}

static double rel_err(double got, double want) {
    if (got == want) return 0.0;
    return fabs(got - want) / fabs(want);
}

/* ---- exp ---- */

static void test_exp_avx2_relative_error_below_1e6(void **state) {
    (void)state;
    if (!ifn_kernels_avx2()) skip();
    const int64_t n = 1 << 20;
    float *x = alloc_floats(n), *y = alloc_floats(n);
    double worst = 0.0, worst_x = 0.0;
    for (int pass = 0; pass < 4; pass++) { /* dense grid over the whole range, then near 0 */
        const double lo = pass < 3 ? -87.3 : -1.0, hi = pass < 3 ? 88.3 : 1.0;
        for (int64_t i = 0; i < n; i++) {
            x[i] = (float)(lo + (hi - lo) * ((double)i + pass / 3.0) / (double)n);
            y[i] = x[i];
        }
        ifn_elementwise_exp_avx2(y, n - pass); /* tails of 8 - pass */
        for (int64_t i = 0; i < n - pass; i++) {
            const double e = rel_err(y[i], exp((double)x[i]));
            if (e > worst) {
                worst = e;
                worst_x = x[i];
            }
        }
    }
    if (worst > EXP_TOL) fail_msg("exp: relative error %.3g at x = %.9g", worst, worst_x);
    float special[9] = {0.0f, -INFINITY, -100.0f, -88.5f, 100.0f, INFINITY, NAN, 1.0f, -1.0f};
    ifn_elementwise_exp_avx2(special, 9);
    assert_true(special[0] == 1.0f);
    assert_true(special[1] == 0.0f && special[2] == 0.0f && special[3] == 0.0f);
    assert_true(isinf(special[4]) && special[4] > 0 && isinf(special[5]) && special[5] > 0);
    assert_true(isnan(special[6]));
    assert_true(rel_err(special[7], exp(1.0)) < EXP_TOL &&
                rel_err(special[8], exp(-1.0)) < EXP_TOL);
    free(x);
    free(y);
}

/* ---- swiglu ---- */

static void check_swiglu(const ifn_kernels *k, const float *g, const float *u, int64_t n,
                         float *out) {
    k->swiglu(out, g, u, n);
    for (int64_t i = 0; i < n; i++) {
        const double want = (double)g[i] / (1.0 + exp(-(double)g[i])) * (double)u[i];
        const double e = rel_err(out[i], want);
        if (e > SWIGLU_TOL)
            fail_msg("swiglu isa=%s n=%lld: gate %.9g up %.9g gives %.9g, want %.9g (rel %.3g)",
                     k->isa, (long long)n, g[i], u[i], out[i], want, e);
    }
}

static void test_swiglu_matches_float64(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    float *g = alloc_floats(MAX_LEN), *u = alloc_floats(MAX_LEN), *out = alloc_floats(MAX_LEN);
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    for (int t = 0; t < n_tables; t++) {
        for (size_t l = 0; l < N_LENGTHS; l++) {
            for (int64_t i = 0; i < g_lengths[l]; i++) {
                g[i] = l % 2 ? uniform(&rng, -87.0f, 87.0f) : 4.0f * normal(&rng);
                u[i] = normal(&rng);
            }
            check_swiglu(tables[t], g, u, g_lengths[l], out);
        }
        for (int64_t i = 0; i < MAX_LEN; i++) { /* dense sweep of the gate */
            g[i] = -87.0f + 174.0f * (float)i / MAX_LEN;
            u[i] = 1.0f;
        }
        check_swiglu(tables[t], g, u, MAX_LEN, out);
        memcpy(out, g, 100 * sizeof *g); /* out aliasing gate */
        tables[t]->swiglu(out, out, u, 100);
        for (int64_t i = 0; i < 100; i++)
            assert_true(rel_err(out[i], g[i] / (1.0 + exp(-(double)g[i]))) < SWIGLU_TOL);
    }
    free(g);
    free(u);
    free(out);
}

/* ---- rmsnorm ---- */

/* rmsnorm of x ([n]) into a separate row, then in place, against float64. */
static void check_rmsnorm(const ifn_kernels *k, float *x, const float *w, int64_t n, float eps) {
    float *out = alloc_floats(n), *orig = alloc_floats(n);
    memcpy(orig, x, (size_t)n * sizeof *x);
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum_sq += (double)x[i] * x[i];
    const double scale = 1.0 / sqrt(sum_sq / (double)n + (double)eps);
    k->rmsnorm(out, x, w, n, eps);
    k->rmsnorm(x, x, w, n, eps);
    for (int64_t i = 0; i < n; i++) {
        const double want = (double)w[i] * orig[i] * scale;
        if (rel_err(out[i], want) > RMSNORM_TOL || x[i] != out[i])
            fail_msg("rmsnorm isa=%s n=%lld i=%lld: %.9g (in place %.9g) want %.9g", k->isa,
                     (long long)n, (long long)i, out[i], x[i], want);
    }
    free(out);
    free(orig);
}

static void test_rmsnorm_matches_float64(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    float *x = alloc_floats(MAX_LEN), *w = alloc_floats(MAX_LEN);
    ifn_rng rng;
    ifn_rng_seed(&rng, 11);
    for (int t = 0; t < n_tables; t++)
        for (size_t l = 0; l < N_LENGTHS; l++) {
            for (int64_t i = 0; i < g_lengths[l]; i++) {
                x[i] = normal(&rng) * (l % 3 ? 1.0f : 30.0f);
                w[i] = 1.0f + 0.3f * normal(&rng);
            }
            check_rmsnorm(tables[t], x, w, g_lengths[l], 1e-5f);
        }
    free(x);
    free(w);
}

/* ---- rope ---- */

typedef struct rope_case {
    int32_t n_heads, head_dim, n_rot, pos;
} rope_case;

static const rope_case g_rope_cases[] = {
    {1, 64, 64, 0},    {4, 64, 64, 1},  {32, 64, 64, 17},   {8, 128, 128, 4095}, {2, 80, 32, 300},
    {3, 6, 6, 100000}, {5, 16, 16, 77}, {2, 96, 96, 12345}, {1, 8, 8, 3},        {2, 100, 72, 2047},
};

/* Largest violation of the float64 rotation of `orig` by `mode` that `got` shows (0 = within
 * ROPE_TOL everywhere; dims past n_rot must be untouched). */
static double rope_violation(const rope_case *c, ifn_rope_mode mode, const float *orig,
                             const float *got, const float *cs, const float *sn) {
    const int32_t half = c->n_rot / 2;
    double worst = 0.0;
    for (int32_t h = 0; h < c->n_heads; h++) {
        const float *x = orig + (size_t)h * c->head_dim, *y = got + (size_t)h * c->head_dim;
        for (int32_t i = 0; i < half; i++) {
            const int32_t i0 = mode == IFN_ROPE_MODE_NORM ? 2 * i : i;
            const int32_t i1 = mode == IFN_ROPE_MODE_NORM ? 2 * i + 1 : i + half;
            const double x0 = x[i0], x1 = x[i1], tol = ROPE_TOL * (fabs(x0) + fabs(x1)) + 1e-30;
            const double e0 = fabs(y[i0] - (x0 * cs[i] - x1 * sn[i])) / tol;
            const double e1 = fabs(y[i1] - (x0 * sn[i] + x1 * cs[i])) / tol;
            worst = fmax(worst, fmax(e0, e1));
        }
        for (int32_t i = c->n_rot; i < c->head_dim; i++)
            if (y[i] != x[i]) worst = fmax(worst, 1e30);
    }
    return worst > 1.0 ? worst : 0.0;
}

/* Both modes of every table on one case; the other pairing must fail the check. */
static void check_rope_case(const rope_case *c, ifn_rng *rng) {
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    const int32_t half = c->n_rot / 2;
    const size_t n = (size_t)c->n_heads * (size_t)c->head_dim;
    float inv_freq[64], cs[64], sn[64];
    float *orig = alloc_floats((int64_t)n), *x = alloc_floats((int64_t)n);
    for (int32_t i = 0; i < half; i++)
        inv_freq[i] = (float)pow(10000.0, -2.0 * i / c->n_rot);
    ifn_elementwise_rope_cos_sin(inv_freq, half, c->pos, cs, sn);
    for (int32_t i = 0; i < half; i++) { /* the angle is taken in double */
        assert_true(cs[i] == (float)cos((double)c->pos * (double)inv_freq[i]));
        assert_true(sn[i] == (float)sin((double)c->pos * (double)inv_freq[i]));
    }
    for (size_t i = 0; i < n; i++)
        orig[i] = normal(rng);
    for (int t = 0; t < 2 * n_tables; t++) {
        const ifn_rope_mode mode = t % 2 ? IFN_ROPE_MODE_NEOX : IFN_ROPE_MODE_NORM;
        const ifn_rope_mode other = t % 2 ? IFN_ROPE_MODE_NORM : IFN_ROPE_MODE_NEOX;
        memcpy(x, orig, n * sizeof *x);
        tables[t / 2]->rope(x, c->n_heads, c->head_dim, c->n_rot, mode, cs, sn);
        const double v = rope_violation(c, mode, orig, x, cs, sn);
        if (v > 0.0)
            fail_msg("rope isa=%s mode=%d heads=%d head_dim=%d n_rot=%d pos=%d: %.3g x tol",
                     tables[t / 2]->isa, mode, c->n_heads, c->head_dim, c->n_rot, c->pos, v);
        if (c->pos != 0 && c->n_rot > 2) /* position 0 rotates by nothing */
            assert_true(rope_violation(c, other, orig, x, cs, sn) > 0.0);
    }
    free(orig);
    free(x);
}

static void test_rope_matches_float64_rotation(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 5);
    for (size_t ci = 0; ci < sizeof g_rope_cases / sizeof g_rope_cases[0]; ci++)
        check_rope_case(&g_rope_cases[ci], &rng);
}

/* ---- softmax ---- */

static void test_softmax_matches_float64(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    float *x = alloc_floats(MAX_LEN), *y = alloc_floats(MAX_LEN);
    double *want = malloc(MAX_LEN * sizeof *want);
    assert_non_null(want);
    ifn_rng rng;
    ifn_rng_seed(&rng, 3);
    const int64_t lengths[] = {1, 2, 7, 8, 9, 100, 4099, MAX_LEN};
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        const int64_t n = lengths[l];
        double max = -INFINITY, sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            x[i] = 8.0f * normal(&rng) + 50.0f;
            if (i % 5 == 3) x[i] = -INFINITY; /* masked entries */
            max = fmax(max, x[i]);
        }
        for (int64_t i = 0; i < n; i++)
            sum += want[i] = exp((double)x[i] - max);
        for (int t = 0; t < n_tables; t++) {
            memcpy(y, x, (size_t)n * sizeof *x);
            tables[t]->softmax(y, n);
            double worst = 0.0;
            for (int64_t i = 0; i < n; i++)
                worst = fmax(worst, rel_err(y[i], want[i] / sum));
            if (worst > SOFTMAX_TOL)
                fail_msg("softmax isa=%s n=%lld: relative error %.3g", tables[t]->isa, (long long)n,
                         worst);
        }
    }
    free(x);
    free(y);
    free(want);
}

/* ---- add, conversions, argmax ---- */

static void test_add_is_exact(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    float a[100], b[100], out[100];
    ifn_rng rng;
    ifn_rng_seed(&rng, 13);
    for (int t = 0; t < n_tables; t++) {
        for (int64_t n = 1; n <= 100; n += 11) {
            for (int64_t i = 0; i < n; i++) {
                a[i] = normal(&rng);
                b[i] = normal(&rng);
            }
            tables[t]->add(out, a, b, n);
            for (int64_t i = 0; i < n; i++)
                assert_true(out[i] == a[i] + b[i]);
            tables[t]->add(a, a, b, n); /* in place */
            for (int64_t i = 0; i < n; i++)
                assert_true(a[i] == out[i]);
        }
    }
}

static void test_f16_conversions_match_reference_bits(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    const int64_t n = 65536 + 5; /* every half bit pattern, then a tail */
    uint16_t *h = malloc((size_t)n * sizeof *h), *h2 = malloc((size_t)n * sizeof *h2);
    float *f = alloc_floats(n);
    assert_true(h && h2);
    for (int64_t i = 0; i < n; i++)
        h[i] = (uint16_t)(i * 40503u);
    for (int t = 0; t < n_tables; t++) {
        tables[t]->f16_to_f32(f, h, n);
        for (int64_t i = 0; i < n; i++) {
            const float want = ifn_f16_to_f32(h[i]);
            assert_true(isnan(want) ? isnan(f[i]) : f[i] == want && signbit(f[i]) == signbit(want));
        }
        tables[t]->f32_to_f16(h2, f, n); /* halves survive the round trip */
        for (int64_t i = 0; i < n; i++)
            if (!isnan(f[i])) assert_int_equal(h2[i], h[i]);
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, 17);
    for (int64_t i = 0; i < n; i++) { /* floats of every size: subnormal halves to overflow */
        const float mag = (float)pow(2.0, uniform(&rng, -30.0f, 17.0f));
        f[i] = ifn_rng_next_f32(&rng) < 0.5f ? -mag : mag;
        if (i % 97 == 0) f[i] = ifn_f16_to_f32((uint16_t)(i & 0x7bff)) * (1.0f + 1.0f / 2048.0f);
    }
    f[1] = 65520.0f; /* rounds to infinity */
    f[2] = 65519.99f;
    f[3] = INFINITY;
    for (int t = 0; t < n_tables; t++) {
        tables[t]->f32_to_f16(h2, f, n - 3);
        for (int64_t i = 0; i < n - 3; i++)
            if (h2[i] != ifn_f32_to_f16(f[i]))
                fail_msg("f32_to_f16 isa=%s: %.9g gives 0x%04x, want 0x%04x", tables[t]->isa, f[i],
                         h2[i], ifn_f32_to_f16(f[i]));
    }
    free(h);
    free(h2);
    free(f);
}

static void test_argmax_takes_lowest_index_and_skips_nan(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    float *x = alloc_floats(MAX_LEN);
    ifn_rng rng;
    ifn_rng_seed(&rng, 19);
    for (int t = 0; t < n_tables; t++) {
        const ifn_argmax_fn argmax = tables[t]->argmax;
        for (size_t l = 0; l < N_LENGTHS; l++) {
            const int64_t n = g_lengths[l];
            for (int64_t i = 0; i < n; i++)
                x[i] = normal(&rng);
            int64_t want = 0;
            for (int64_t i = 1; i < n; i++)
                if (x[i] > x[want]) want = i;
            assert_int_equal(argmax(x, n), want);
            x[n - 1] = x[want] + 1.0f; /* in the tail */
            assert_int_equal(argmax(x, n), n - 1);
            for (int64_t i = 0; i < n; i++)
                x[i] = 2.0f; /* all tied */
            assert_int_equal(argmax(x, n), 0);
            if (n >= 3) {
                x[n / 2] = x[n - 1] = 3.0f;
                assert_int_equal(argmax(x, n), n / 2);
                x[0] = NAN;
                assert_int_equal(argmax(x, n), n / 2);
            }
            for (int64_t i = 0; i < n; i++)
                x[i] = NAN;
            assert_int_equal(argmax(x, n), 0);
            x[n - 1] = -INFINITY;
            assert_int_equal(argmax(x, n), n - 1);
        }
        float zeros[10] = {-0.0f, 0.0f, -0.0f, -1.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f};
        assert_int_equal(argmax(zeros, 10), 0);
    }
    free(x);
}

static void test_tables_have_every_elementwise_op(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    for (int t = 0; t < n_tables; t++) {
        const ifn_kernels *k = tables[t];
        assert_true(k->attn && k->rmsnorm && k->rope && k->softmax && k->swiglu && k->add &&
                    k->f32_to_f16 && k->f16_to_f32 && k->argmax);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_avx2_relative_error_below_1e6),
        cmocka_unit_test(test_swiglu_matches_float64),
        cmocka_unit_test(test_rmsnorm_matches_float64),
        cmocka_unit_test(test_rope_matches_float64_rotation),
        cmocka_unit_test(test_softmax_matches_float64),
        cmocka_unit_test(test_add_is_exact),
        cmocka_unit_test(test_f16_conversions_match_reference_bits),
        cmocka_unit_test(test_argmax_takes_lowest_index_and_skips_nan),
        cmocka_unit_test(test_tables_have_every_elementwise_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
