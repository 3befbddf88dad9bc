/* Sampler tests: greedy, seeding, filter semantics against full-sort references, distributions
 * (chi-square with fixed seeds, so results are deterministic), penalties and logprobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampler.h"
#include "util/alloc.h"
#include "util/rng.h"

/* Chi-square critical value for 3 degrees of freedom at p = 0.001. */
#define CHI2_DF3_P001 16.27

static ifn_sampler *make_sampler(const ifn_sampler_params *p, int32_t n_vocab) {
    ifn_sampler *s = NULL;
    assert_int_equal(ifn_sampler_create(p, n_vocab, &s), IFN_OK);
    assert_non_null(s);
    return s;
}

static void fill_random(ifn_rng *rng, float *logits, int32_t n, float scale) {
    for (int32_t i = 0; i < n; i++)
        logits[i] = (ifn_rng_next_f32(rng) * 2.0f - 1.0f) * scale;
}

static int32_t sample_one(ifn_sampler *s, const float *logits) {
    int32_t tok = -1;
    assert_int_equal(ifn_sampler_sample(s, logits, &tok), IFN_OK);
    return tok;
}

static int cmp_by_token(const void *a, const void *b) {
    const ifn_sampler_token_prob *x = a, *y = b;
    return (x->token > y->token) - (x->token < y->token);
}

/* The last step's candidates, sorted by token id. */
static int32_t candidates_by_id(const ifn_sampler *s, ifn_sampler_token_prob *out, int32_t cap) {
    int32_t n = ifn_sampler_last_candidates(s, out, cap);
    assert_true(n <= cap);
    qsort(out, (size_t)n, sizeof *out, cmp_by_token);
    return n;
}

static void softmax_ref(const float *logits, int32_t n, double temperature, double *out) {
    double max = -INFINITY, sum = 0.0;
    for (int32_t i = 0; i < n; i++)
        max = fmax(max, logits[i]);
    for (int32_t i = 0; i < n; i++)
        sum += out[i] = exp((logits[i] - max) / temperature);
    for (int32_t i = 0; i < n; i++)
        out[i] /= sum;
}

static double chi_square(const int64_t *counts, const double *probs, int32_t n, int64_t draws) {
    double chi2 = 0.0;
    for (int32_t i = 0; i < n; i++) {
        double expected = probs[i] * (double)draws;
        double d = (double)counts[i] - expected;
        chi2 += d * d / expected;
    }
    return chi2;
}

/* ---- greedy, seeding ---- */

static void test_sampler_greedy_is_argmax_with_ties_to_lowest_id(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.temperature = 0.0f;
    ifn_sampler *s = make_sampler(&p, 6);
    const float tie[6] = {1.0f, 3.0f, -2.0f, 3.0f, 2.9f, 0.0f};
    assert_int_equal(sample_one(s, tie), 1);
    const float weird[6] = {NAN, -INFINITY, 0.5f, NAN, 0.25f, -1.0f};
    assert_int_equal(sample_one(s, weird), 2);
    ifn_sampler_destroy(s);

    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    float logits[1000];
    s = make_sampler(&p, 1000);
    for (int step = 0; step < 50; step++) {
        fill_random(&rng, logits, 1000, 5.0f);
        int32_t best = 0;
        for (int32_t i = 1; i < 1000; i++)
            if (logits[i] > logits[best]) best = i;
        assert_int_equal(sample_one(s, logits), best);
    }
    ifn_sampler_destroy(s);
}

static void test_sampler_all_banned_is_invalid(void **state) {
    (void)state;
    const float dead[4] = {-INFINITY, NAN, -INFINITY, NAN};
    const float live[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    for (int greedy = 0; greedy < 2; greedy++) {
        ifn_sampler_params p = ifn_sampler_params_default();
        p.temperature = greedy ? 0.0f : 1.0f;
        ifn_sampler *s = make_sampler(&p, 4);
        int32_t tok = 12345;
        assert_int_equal(ifn_sampler_sample(s, dead, &tok), IFN_E_INVALID);
        assert_int_equal(tok, 12345);
        for (int32_t t = 0; t < 4; t++)
            assert_int_equal(ifn_sampler_ban_token(s, t), IFN_OK);
        assert_int_equal(ifn_sampler_sample(s, live, &tok), IFN_E_INVALID);
        assert_int_equal(tok, 12345);
        assert_int_equal(ifn_sampler_last_candidates(s, NULL, 0), 0);
        ifn_sampler_destroy(s);
    }
}

static void run_sequence(uint64_t seed, int32_t *out, int n_steps) {
    ifn_sampler_params p = ifn_sampler_params_default();
    p.seed = seed;
    p.temperature = 0.9f;
    p.top_k = 50;
    p.top_p = 0.95f;
    ifn_sampler *s = make_sampler(&p, 512);
    ifn_rng rng;
    ifn_rng_seed(&rng, 99); /* same logits for every seed */
    float logits[512];
    for (int i = 0; i < n_steps; i++) {
        fill_random(&rng, logits, 512, 2.0f);
        out[i] = sample_one(s, logits);
    }
    ifn_sampler_destroy(s);
}

static void test_sampler_same_seed_same_tokens(void **state) {
    (void)state;
    int32_t a[200], b[200], c[200];
    run_sequence(42, a, 200);
    run_sequence(42, b, 200);
    run_sequence(43, c, 200);
    assert_memory_equal(a, b, sizeof a);
    int n_diff = 0;
    for (int i = 0; i < 200; i++)
        n_diff += a[i] != c[i];
    assert_true(n_diff > 100); /* ~50 near-flat candidates: almost every step differs */
}

static void test_sampler_reset_replays_the_sequence(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.seed = 5;
    ifn_sampler *s = make_sampler(&p, 8);
    const float logits[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int32_t first[64];
    for (int i = 0; i < 64; i++)
        first[i] = sample_one(s, logits);
    assert_int_equal(ifn_sampler_ban_token(s, 3), IFN_OK);
    ifn_sampler_reset(s); /* also lifts the ban */
    for (int i = 0; i < 64; i++)
        assert_int_equal(sample_one(s, logits), first[i]);
    ifn_sampler_destroy(s);
}

static void test_sampler_top_k_1_equals_greedy(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.temperature = 1.5f;
    p.top_k = 1;
    p.seed = 3;
    ifn_sampler_params g = ifn_sampler_params_default();
    g.temperature = 0.0f;
    ifn_sampler *s = make_sampler(&p, 300);
    ifn_sampler *greedy = make_sampler(&g, 300);
    ifn_rng rng;
    ifn_rng_seed(&rng, 11);
    float logits[300];
    for (int step = 0; step < 200; step++) {
        fill_random(&rng, logits, 300, 1.0f);
        logits[step] = logits[(step * 7) % 300]; /* some exact ties */
        assert_int_equal(sample_one(s, logits), sample_one(greedy, logits));
    }
    ifn_sampler_destroy(s);
    ifn_sampler_destroy(greedy);
}

/* ---- distributions ---- */

static void check_distribution(float temperature, uint64_t seed) {
    const float logits[4] = {1.0f, 2.0f, 0.5f, -1.0f};
    double probs[4];
    softmax_ref(logits, 4, temperature, probs);
    ifn_sampler_params p = ifn_sampler_params_default();
    p.temperature = temperature;
    p.seed = seed;
    ifn_sampler *s = make_sampler(&p, 4);
    int64_t counts[4] = {0};
    const int64_t draws = 200000;
    for (int64_t i = 0; i < draws; i++)
        counts[sample_one(s, logits)]++;
    assert_true(chi_square(counts, probs, 4, draws) < CHI2_DF3_P001);
    ifn_sampler_destroy(s);
}

static void test_sampler_frequencies_follow_softmax(void **state) {
    (void)state;
    check_distribution(1.0f, 1);
    check_distribution(0.5f, 2); /* temperature sharpens */
    check_distribution(2.0f, 3); /* and flattens */
}

static void test_sampler_top_k_renormalizes_over_the_k_best(void **state) {
    (void)state;
    const float logits[6] = {0.1f, 2.0f, -1.0f, 1.5f, 1.9f, 0.0f};
    ifn_sampler_params p = ifn_sampler_params_default();
    p.top_k = 3;
    p.seed = 17;
    ifn_sampler *s = make_sampler(&p, 6);
    int64_t counts[6] = {0};
    const int64_t draws = 100000;
    for (int64_t i = 0; i < draws; i++)
        counts[sample_one(s, logits)]++;
    assert_int_equal(counts[0] + counts[2] + counts[5], 0);
    const float kept[3] = {2.0f, 1.5f, 1.9f};
    double probs[3];
    softmax_ref(kept, 3, 1.0, probs);
    int64_t kept_counts[4] = {counts[1], counts[3], counts[4], 0};
    double chi2 = chi_square(kept_counts, probs, 3, draws);
    assert_true(chi2 < 13.82); /* df 2, p = 0.001 */
    ifn_sampler_destroy(s);
}

/* ---- top-p / min-p exact sets ---- */

/* probabilities 0.5, 0.25, 0.15, 0.1 placed at shuffled ids 3, 0, 2, 1 */
static void quarter_logits(float *logits) {
    logits[3] = logf(0.5f);
    logits[0] = logf(0.25f);
    logits[2] = logf(0.15f);
    logits[1] = logf(0.1f);
}

/* Samples once and checks the candidate set is exactly want[0..n_want) (sorted ids) with
 * probabilities proportional to base[] renormalized over it. */
static void expect_set(ifn_sampler_params *p, const int32_t *want, int32_t n_want) {
    float logits[4];
    quarter_logits(logits);
    ifn_sampler *s = make_sampler(p, 4);
    sample_one(s, logits);
    ifn_sampler_token_prob got[4];
    int32_t n = candidates_by_id(s, got, 4);
    assert_int_equal(n, n_want);
    double probs[4], mass = 0.0;
    softmax_ref(logits, 4, p->temperature, probs);
    for (int32_t i = 0; i < n; i++)
        mass += probs[want[i]];
    for (int32_t i = 0; i < n; i++) {
        assert_int_equal(got[i].token, want[i]);
        assert_float_equal(got[i].prob, probs[want[i]] / mass, 1e-5);
    }
    ifn_sampler_destroy(s);
}

static void test_sampler_top_p_keeps_smallest_prefix_reaching_p(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.top_p = 0.45f; /* 0.5 alone reaches it */
    expect_set(&p, (const int32_t[]){3}, 1);
    p.top_p = 0.7f; /* 0.5 < 0.7 <= 0.75 */
    expect_set(&p, (const int32_t[]){0, 3}, 2);
    p.top_p = 0.76f; /* 0.75 < 0.76 <= 0.9 */
    expect_set(&p, (const int32_t[]){0, 2, 3}, 3);
    p.top_p = 0.95f;
    expect_set(&p, (const int32_t[]){0, 1, 2, 3}, 4);
}

static void test_sampler_min_p_is_relative_to_the_best(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.min_p = 0.25f; /* keeps p >= 0.125 */
    expect_set(&p, (const int32_t[]){0, 2, 3}, 3);
    p.min_p = 0.35f; /* keeps p >= 0.175 */
    expect_set(&p, (const int32_t[]){0, 3}, 2);
    p.temperature = 2.0f; /* after temperature: relative 1, .71, .55, .45 */
    p.min_p = 0.5f;
    expect_set(&p, (const int32_t[]){0, 2, 3}, 3);
}

static void test_sampler_top_p_measures_mass_before_min_p(void **state) {
    (void)state;
    /* top-p 0.8 over the full distribution keeps 0.5+0.25+0.15; min-p 0.25 keeps the same
     * three. Measuring top-p over min-p's survivors (mass 0.9) would cut at two. */
    ifn_sampler_params p = ifn_sampler_params_default();
    p.top_p = 0.8f;
    p.min_p = 0.25f;
    expect_set(&p, (const int32_t[]){0, 2, 3}, 3);
    p.top_p = 0.7f; /* now top-p is the stricter one */
    expect_set(&p, (const int32_t[]){0, 3}, 2);
}

/* Candidate set of one step on logits[n] (ids sorted) with the given params. */
static int32_t step_set(ifn_sampler_params *p, const float *logits, int32_t n,
                        ifn_sampler_token_prob *out) {
    ifn_sampler *s = make_sampler(p, n);
    sample_one(s, logits);
    int32_t got = candidates_by_id(s, out, n);
    ifn_sampler_destroy(s);
    return got;
}

static void test_sampler_filter_boundaries_and_ties(void **state) {
    (void)state;
    ifn_sampler_token_prob got[5];
    ifn_sampler_params p = ifn_sampler_params_default();
    /* top-k cuts inside a tie: the lower ids stay */
    p.top_k = 2;
    const float tied[5] = {1.0f, 5.0f, 3.0f, 3.0f, 3.0f};
    assert_int_equal(step_set(&p, tied, 5, got), 2);
    assert_int_equal(got[0].token, 1);
    assert_int_equal(got[1].token, 2);
    /* top-p: mass exactly reaching p is enough; ties again go to the lower ids */
    p = ifn_sampler_params_default();
    p.top_p = 0.5f;
    const float flat[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    assert_int_equal(step_set(&p, flat, 4, got), 2);
    assert_int_equal(got[0].token, 0);
    assert_int_equal(got[1].token, 1);
    assert_float_equal(got[0].prob, 0.5f, 1e-6);
    /* min-p keeps p >= min_p * p_max, inclusive, computed the sampler's way */
    const float two[3] = {2.0f, 2.0f, 1.0f};
    p = ifn_sampler_params_default();
    p.min_p = 1.0f;
    assert_int_equal(step_set(&p, two, 3, got), 2);
    p.min_p = expf(1.0f - 2.0f);
    assert_int_equal(step_set(&p, two, 3, got), 3);
    p.min_p = nextafterf(p.min_p, 1.0f);
    assert_int_equal(step_set(&p, two, 3, got), 2);
}

typedef struct ref_entry {
    int32_t id;
    float p;
} ref_entry;

static int cmp_ref(const void *a, const void *b) {
    const ref_entry *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Full-sort reference: ids kept by top_k, temperature, top_p on logits[n]; returns count. */
static int32_t reference_keep(const float *logits, int32_t n, const ifn_sampler_params *p,
                              int32_t *out_ids) {
    ref_entry *e = calloc((size_t)n, sizeof *e);
    assert_non_null(e);
    float max = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        max = fmaxf(max, logits[i]);
    for (int32_t i = 0; i < n; i++)
        e[i] = (ref_entry){i, logits[i]};
    qsort(e, (size_t)n, sizeof *e, cmp_ref); /* by logit */
    int32_t k = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    double total = 0.0;
    for (int32_t i = 0; i < k; i++) {
        e[i].p = expf((e[i].p - max) / p->temperature);
        total += e[i].p;
    }
    double cum = 0.0;
    int32_t kept = k;
    for (int32_t i = 0; i < k; i++) {
        cum += e[i].p;
        if (cum >= (double)p->top_p * total) {
            kept = i + 1;
            break;
        }
    }
    for (int32_t i = 0; i < kept; i++)
        out_ids[i] = e[i].id;
    free(e);
    return kept;
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void compare_with_reference(int32_t top_k, float top_p, float temperature, uint64_t seed) {
    enum { V = 4000 };
    static float logits[V];
    static int32_t want[V];
    static ifn_sampler_token_prob got[V];
    ifn_sampler_params p = ifn_sampler_params_default();
    p.top_k = top_k;
    p.top_p = top_p;
    p.temperature = temperature;
    ifn_sampler *s = make_sampler(&p, V);
    ifn_rng rng;
    ifn_rng_seed(&rng, seed);
    for (int step = 0; step < 20; step++) {
        fill_random(&rng, logits, V, 3.0f);
        sample_one(s, logits);
        int32_t n_want = reference_keep(logits, V, &p, want);
        qsort(want, (size_t)n_want, sizeof *want, cmp_int32);
        int32_t n = candidates_by_id(s, got, V);
        assert_int_equal(n, n_want);
        for (int32_t i = 0; i < n; i++)
            assert_int_equal(got[i].token, want[i]);
    }
    ifn_sampler_destroy(s);
}

static void test_sampler_filters_match_full_sort_reference(void **state) {
    (void)state;
    compare_with_reference(0, 0.9f, 1.0f, 1);    /* nucleus of hundreds: lazy chunks */
    compare_with_reference(0, 0.3f, 1.0f, 2);    /* nucleus inside the first chunk */
    compare_with_reference(0, 0.999f, 2.0f, 3);  /* nearly the whole vocabulary */
    compare_with_reference(40, 1.0f, 1.0f, 4);   /* top-k alone */
    compare_with_reference(200, 0.5f, 0.7f, 5);  /* top-k then top-p */
    compare_with_reference(3999, 0.8f, 1.0f, 6); /* k just under V */
}

/* ---- penalties, bias, bans ---- */

static void test_sampler_repetition_penalty_scales_seen_logits_once(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.repetition_penalty = 2.0f;
    ifn_sampler *s = make_sampler(&p, 6);
    assert_int_equal(ifn_sampler_accept(s, 0, true), IFN_OK); /* prompt tokens count */
    assert_int_equal(ifn_sampler_accept(s, 1, true), IFN_OK);
    assert_int_equal(ifn_sampler_accept(s, 2, false), IFN_OK);
    assert_int_equal(ifn_sampler_accept(s, 2, false), IFN_OK); /* twice: still once */
    float l[6] = {2.0f, -2.0f, 1.0f, -1.0f, 0.5f, 3.0f};
    ifn_sampler_process_logits(s, l);
    const float want[6] = {1.0f, -4.0f, 0.5f, -1.0f, 0.5f, 3.0f};
    assert_memory_equal(l, want, sizeof want);
    assert_int_equal(ifn_sampler_accept(s, 6, false), IFN_E_INVALID);
    ifn_sampler_reset(s);
    float l2[6] = {2.0f, -2.0f, 1.0f, -1.0f, 0.5f, 3.0f};
    ifn_sampler_process_logits(s, l2);
    assert_memory_equal(l2, ((const float[]){2.0f, -2.0f, 1.0f, -1.0f, 0.5f, 3.0f}), sizeof l2);
    ifn_sampler_destroy(s);
}

static void test_sampler_repetition_window_forgets_old_tokens(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.repetition_penalty = 2.0f;
    p.penalty_last_n = 3;
    ifn_sampler *s = make_sampler(&p, 5);
    const int32_t hist[6] = {0, 1, 1, 2, 3, 1}; /* window = last 3: {2, 3, 1} */
    for (int i = 0; i < 6; i++)
        assert_int_equal(ifn_sampler_accept(s, hist[i], i < 2), IFN_OK);
    float l[5] = {4.0f, 4.0f, 4.0f, 4.0f, 4.0f};
    ifn_sampler_process_logits(s, l);
    assert_memory_equal(l, ((const float[]){4.0f, 2.0f, 2.0f, 2.0f, 4.0f}), sizeof l);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ifn_sampler_accept(s, 4, false), IFN_OK);
    float l2[5] = {4.0f, 4.0f, 4.0f, 4.0f, -4.0f};
    ifn_sampler_process_logits(s, l2);
    assert_memory_equal(l2, ((const float[]){4.0f, 4.0f, 4.0f, 4.0f, -8.0f}), sizeof l2);
    ifn_sampler_destroy(s);
}

static void test_sampler_presence_frequency_count_generated_only(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    ifn_sampler *s = make_sampler(&p, 5);
    assert_int_equal(ifn_sampler_accept(s, 0, true), IFN_OK); /* prompt: not counted */
    assert_int_equal(ifn_sampler_accept(s, 2, false), IFN_OK);
    assert_int_equal(ifn_sampler_accept(s, 2, false), IFN_OK);
    assert_int_equal(ifn_sampler_accept(s, 2, false), IFN_OK);
    assert_int_equal(ifn_sampler_accept(s, 3, false), IFN_OK);
    float l[5] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
    ifn_sampler_process_logits(s, l);
    /* token 2: 1 - (3 * 0.5 + 0.25); token 3: 1 - (0.5 + 0.25) */
    assert_memory_equal(l, ((const float[]){1.0f, 1.0f, -0.75f, 0.25f, 1.0f}), sizeof l);
    ifn_sampler_destroy(s);
}

static void test_sampler_penalties_apply_in_order_and_steer_sampling(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.temperature = 0.0f;
    p.repetition_penalty = 2.0f;
    p.frequency_penalty = 1.0f;
    const ifn_sampler_logit_bias bias[2] = {{4, 0.5f}, {4, 0.25f}};
    p.logit_bias = bias;
    p.n_logit_bias = 2;
    ifn_sampler *s = make_sampler(&p, 5);
    assert_int_equal(ifn_sampler_accept(s, 1, false), IFN_OK);
    float l[5] = {0.0f, 3.0f, 1.0f, 1.25f, 0.5f};
    ifn_sampler_process_logits(s, l);
    /* token 1: 3 / 2 - 1 (repetition first, then frequency); token 4: +0.5 +0.25 */
    assert_memory_equal(l, ((const float[]){0.0f, 0.5f, 1.0f, 1.25f, 1.25f}), sizeof l);
    const float raw[5] = {0.0f, 3.0f, 1.0f, 1.25f, 0.5f};
    assert_int_equal(sample_one(s, raw), 3); /* 1 was the raw argmax; 3 and 4 tie -> 3 */
    assert_memory_equal(raw, ((const float[]){0.0f, 3.0f, 1.0f, 1.25f, 0.5f}), sizeof raw);
    ifn_sampler_destroy(s);
}

static void test_sampler_logit_bias_bans_and_forces(void **state) {
    (void)state;
    const ifn_sampler_logit_bias bias[2] = {{0, -100.0f}, {2, 5.0f}};
    ifn_sampler_params p = ifn_sampler_params_default();
    p.logit_bias = bias;
    p.n_logit_bias = 2;
    p.seed = 8;
    ifn_sampler *s = make_sampler(&p, 3);
    const float logits[3] = {4.0f, 0.0f, 0.0f};
    int64_t counts[3] = {0};
    for (int i = 0; i < 20000; i++)
        counts[sample_one(s, logits)]++;
    assert_int_equal(counts[0], 0);
    /* p(1) = 1 / (1 + e^5) ~ 0.0067: ~134 expected */
    assert_true(counts[1] > 60 && counts[1] < 230);
    ifn_sampler_destroy(s);

    ifn_sampler_logit_bias bad = {3, 1.0f};
    p.logit_bias = &bad;
    p.n_logit_bias = 1;
    ifn_sampler *none = NULL;
    assert_int_equal(ifn_sampler_create(&p, 3, &none), IFN_E_INVALID);
    assert_null(none);
}

static void test_sampler_ban_holds_until_unban(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.temperature = 0.0f;
    ifn_sampler *s = make_sampler(&p, 4);
    const float logits[4] = {0.0f, 1.0f, 5.0f, 2.0f};
    assert_int_equal(ifn_sampler_ban_token(s, 2), IFN_OK);
    assert_int_equal(ifn_sampler_ban_token(s, 2), IFN_OK);
    assert_int_equal(sample_one(s, logits), 3);
    assert_int_equal(ifn_sampler_accept(s, 3, false), IFN_OK);
    assert_int_equal(sample_one(s, logits), 3);
    assert_int_equal(ifn_sampler_unban_token(s, 2), IFN_OK);
    assert_int_equal(sample_one(s, logits), 2);
    assert_int_equal(ifn_sampler_ban_token(s, 4), IFN_E_INVALID);
    ifn_sampler_destroy(s);
}

/* ---- logprobs ---- */

static void test_sampler_logprobs_sum_to_one_and_rank_top(void **state) {
    (void)state;
    enum { V = 300 };
    float logits[V];
    ifn_rng rng;
    ifn_rng_seed(&rng, 21);
    fill_random(&rng, logits, V, 8.0f);
    logits[17] = NAN;
    logits[18] = -INFINITY;
    logits[40] = logits[41] = 9.0f; /* tied best */
    double sum = 0.0;
    ifn_sampler_logprobs lp;
    for (int32_t t = 0; t < V; t++) {
        assert_int_equal(ifn_sampler_compute_logprobs(logits, V, t, 0, &lp), IFN_OK);
        assert_int_equal(lp.token, t);
        assert_int_equal(lp.n_top, 0);
        sum += exp(lp.logprob);
    }
    assert_true(fabs(sum - 1.0) < 1e-5);
    assert_int_equal(ifn_sampler_compute_logprobs(logits, V, 17, 0, &lp), IFN_OK);
    assert_true(isinf(lp.logprob) && lp.logprob < 0);

    assert_int_equal(ifn_sampler_compute_logprobs(logits, V, 41, 20, &lp), IFN_OK);
    assert_int_equal(lp.rank, 1);
    assert_int_equal(lp.n_top, 20);
    assert_int_equal(lp.top[0].token, 40);
    assert_int_equal(lp.top[1].token, 41);
    assert_float_equal(lp.top[1].logprob, lp.logprob, 1e-6);
    ref_entry sorted[V];
    for (int32_t i = 0; i < V; i++)
        sorted[i] = (ref_entry){i, isnan(logits[i]) ? -INFINITY : logits[i]};
    qsort(sorted, V, sizeof *sorted, cmp_ref);
    for (int32_t i = 0; i < 20; i++)
        assert_int_equal(lp.top[i].token, sorted[i].id);
    for (int32_t i = 1; i < 20; i++)
        assert_true(lp.top[i].logprob <= lp.top[i - 1].logprob);

    int32_t tenth = sorted[9].id;
    assert_int_equal(ifn_sampler_compute_logprobs(logits, V, tenth, 3, &lp), IFN_OK);
    assert_int_equal(lp.rank, 10);
    assert_int_equal(lp.n_top, 3);
}

static void test_sampler_logprobs_match_log_softmax(void **state) {
    (void)state;
    const float logits[4] = {1000.0f, 999.0f, 997.0f, 990.0f}; /* overflow without max shift */
    double probs[4];
    softmax_ref(logits, 4, 1.0, probs);
    ifn_sampler_logprobs lp;
    for (int32_t t = 0; t < 4; t++) {
        assert_int_equal(ifn_sampler_compute_logprobs(logits, 4, t, 4, &lp), IFN_OK);
        assert_float_equal(lp.logprob, log(probs[t]), 1e-5);
        assert_float_equal(lp.top[t].logprob, log(probs[t]), 1e-5);
        assert_int_equal(lp.rank, t + 1);
    }
    const float dead[2] = {NAN, -INFINITY};
    assert_int_equal(ifn_sampler_compute_logprobs(dead, 2, 0, 1, &lp), IFN_E_INVALID);
    assert_int_equal(ifn_sampler_compute_logprobs(logits, 4, 4, 1, &lp), IFN_E_INVALID);
    assert_int_equal(ifn_sampler_compute_logprobs(logits, 4, 0, 21, &lp), IFN_E_INVALID);
}

/* ---- parameters, memory ---- */

static void test_sampler_rejects_bad_params(void **state) {
    (void)state;
    ifn_sampler *s = NULL;
    ifn_sampler_params p = ifn_sampler_params_default();
    assert_int_equal(ifn_sampler_create(&p, 0, &s), IFN_E_INVALID);
    p.temperature = -1.0f;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    p = ifn_sampler_params_default();
    p.top_p = 0.0f;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    p = ifn_sampler_params_default();
    p.min_p = 1.5f;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    p = ifn_sampler_params_default();
    p.repetition_penalty = 0.0f;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    p = ifn_sampler_params_default();
    p.penalty_last_n = -2;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    p = ifn_sampler_params_default();
    p.presence_penalty = NAN;
    assert_int_equal(ifn_sampler_create(&p, 10, &s), IFN_E_INVALID);
    assert_null(s);
}

static void test_sampler_create_survives_allocation_failures(void **state) {
    (void)state;
    ifn_sampler_params p = ifn_sampler_params_default();
    p.repetition_penalty = 1.1f;
    p.penalty_last_n = 16;
    p.presence_penalty = 0.5f;
    const ifn_sampler_logit_bias bias[1] = {{1, 1.0f}};
    p.logit_bias = bias;
    p.n_logit_bias = 1;
    size_t live = ifn_alloc_live_bytes();
    for (int64_t nth = 1; nth <= 12; nth++) {
        ifn_sampler *s = NULL;
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_sampler_create(&p, 100, &s);
        ifn_alloc_fail_after(0);
        if (st == IFN_OK) {
            ifn_sampler_destroy(s);
        } else {
            assert_int_equal(st, IFN_E_NOMEM);
            assert_null(s);
        }
        assert_int_equal(ifn_alloc_live_bytes(), live);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_greedy_is_argmax_with_ties_to_lowest_id),
        cmocka_unit_test(test_sampler_all_banned_is_invalid),
        cmocka_unit_test(test_sampler_same_seed_same_tokens),
        cmocka_unit_test(test_sampler_reset_replays_the_sequence),
        cmocka_unit_test(test_sampler_top_k_1_equals_greedy),
        cmocka_unit_test(test_sampler_frequencies_follow_softmax),
        cmocka_unit_test(test_sampler_top_k_renormalizes_over_the_k_best),
        cmocka_unit_test(test_sampler_top_p_keeps_smallest_prefix_reaching_p),
        cmocka_unit_test(test_sampler_min_p_is_relative_to_the_best),
        cmocka_unit_test(test_sampler_top_p_measures_mass_before_min_p),
        cmocka_unit_test(test_sampler_filters_match_full_sort_reference),
        cmocka_unit_test(test_sampler_filter_boundaries_and_ties),
        cmocka_unit_test(test_sampler_repetition_penalty_scales_seen_logits_once),
        cmocka_unit_test(test_sampler_repetition_window_forgets_old_tokens),
        cmocka_unit_test(test_sampler_presence_frequency_count_generated_only),
        cmocka_unit_test(test_sampler_penalties_apply_in_order_and_steer_sampling),
        cmocka_unit_test(test_sampler_logit_bias_bans_and_forces),
        cmocka_unit_test(test_sampler_ban_holds_until_unban),
        cmocka_unit_test(test_sampler_logprobs_sum_to_one_and_rank_top),
        cmocka_unit_test(test_sampler_logprobs_match_log_softmax),
        cmocka_unit_test(test_sampler_rejects_bad_params),
        cmocka_unit_test(test_sampler_create_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
