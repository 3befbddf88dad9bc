/* Sampler: penalties and bias on a copy of the logits, then filters over a candidate array.
 * Invariant: nothing here sorts the whole vocabulary: top-k selects with a bounded heap
 * (O(V log k)); top-p without top-k runs a mass-guided quickselect (expected O(V)); min-p and
 * -inf tokens are dropped before either. No allocation per token. */
#include "engine/sampler.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "util/alloc.h"
#include "util/rng.h"
#include "util/status.h"

/* Occurrence counts plus a dense list of the ids present, so penalties touch only tokens that
 * occurred instead of scanning the vocabulary. */
typedef struct token_counts {
    int32_t *count; /* [n_vocab] */
    int32_t *ids;   /* ids whose count > 0, unordered */
    int32_t n_ids;
} token_counts;

typedef struct candidate {
    int32_t id;
    float value; /* a logit before the softmax, an unnormalized probability after it */
} candidate;

struct ifn_sampler {
    ifn_sampler_params params; /* logit_bias points at `bias` below */
    int32_t n_vocab;
    ifn_rng rng;
    ifn_sampler_logit_bias *bias; /* [params.n_logit_bias] own copy */
    float *work;                  /* [n_vocab] processed logits of the current step */
    candidate *cand;              /* [n_vocab] surviving candidates of the current step */
    int32_t n_last;               /* candidates of the last draw; 0 before/after a failed one */
    double last_sum;              /* their total unnormalized probability */
    bool has_rep;                 /* repetition penalty enabled */
    token_counts rep;             /* tokens inside the repetition window */
    int32_t *ring;                /* [ring_cap] the window in arrival order; NULL if unbounded */
    int32_t ring_cap, ring_head, ring_len;
    bool has_gen;     /* presence or frequency penalty enabled */
    token_counts gen; /* generated tokens */
    int32_t *banned;  /* [banned_cap] */
    int32_t n_banned, banned_cap;
};

ifn_sampler_params ifn_sampler_params_default(void) {
    ifn_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.0f;
    p.penalty_last_n = -1;
    return p;
}

static ifn_status check_bias(const ifn_sampler_params *p, int32_t n_vocab) {
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && !p->logit_bias))
        return ifn_fail(IFN_E_INVALID, "sampler: bad logit_bias array (n=%d)", p->n_logit_bias);
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const ifn_sampler_logit_bias *b = &p->logit_bias[i];
        if (b->token < 0 || b->token >= n_vocab)
            return ifn_fail(IFN_E_INVALID, "sampler: logit_bias token %d outside vocab of %d",
                            b->token, n_vocab);
        if (isnan(b->bias))
            return ifn_fail(IFN_E_INVALID, "sampler: logit_bias for token %d is NaN", b->token);
    }
    return IFN_OK;
}

static ifn_status check_params(const ifn_sampler_params *p, int32_t n_vocab) {
    if (n_vocab <= 0) return ifn_fail(IFN_E_INVALID, "sampler: n_vocab %d must be > 0", n_vocab);
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        return ifn_fail(IFN_E_INVALID, "sampler: temperature %g must be >= 0", p->temperature);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return ifn_fail(IFN_E_INVALID, "sampler: top_p %g must be in (0, 1]", p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return ifn_fail(IFN_E_INVALID, "sampler: min_p %g must be in [0, 1]", p->min_p);
    if (!(p->repetition_penalty > 0.0f) || isinf(p->repetition_penalty))
        return ifn_fail(IFN_E_INVALID, "sampler: repetition_penalty %g must be > 0",
                        p->repetition_penalty);
    if (p->penalty_last_n < -1)
        return ifn_fail(IFN_E_INVALID, "sampler: penalty_last_n %d must be >= -1",
                        p->penalty_last_n);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return ifn_fail(IFN_E_INVALID, "sampler: presence/frequency penalties must be finite");
    return check_bias(p, n_vocab);
}

/* ---- token counts ---- */

static bool counts_init(token_counts *c, int32_t n_vocab, int32_t ids_cap) {
    c->count = ifn_calloc((size_t)n_vocab, sizeof *c->count);
    c->ids = ifn_calloc((size_t)ids_cap, sizeof *c->ids);
    c->n_ids = 0;
    return c->count && c->ids;
}

static void counts_free(token_counts *c) {
    ifn_free(c->count);
    ifn_free(c->ids);
}

static void counts_add(token_counts *c, int32_t token) {
    if (c->count[token]++ == 0) c->ids[c->n_ids++] = token;
}

static void counts_remove(token_counts *c, int32_t token) {
    if (--c->count[token] > 0) return;
    for (int32_t i = 0; i < c->n_ids; i++) {
        if (c->ids[i] == token) {
            c->ids[i] = c->ids[--c->n_ids];
            return;
        }
    }
}

static void counts_clear(token_counts *c) {
    for (int32_t i = 0; i < c->n_ids; i++)
        c->count[c->ids[i]] = 0;
    c->n_ids = 0;
}

/* ---- lifetime ---- */

static ifn_status alloc_buffers(ifn_sampler *s) {
    const ifn_sampler_params *p = &s->params;
    size_t n = (size_t)s->n_vocab;
    bool ok = true;

    s->work = ifn_calloc(n, sizeof *s->work);
    s->cand = ifn_calloc(n, sizeof *s->cand);
    ok = s->work && s->cand;
    if (ok && p->n_logit_bias > 0) {
        s->bias = ifn_calloc((size_t)p->n_logit_bias, sizeof *s->bias);
        ok = s->bias != NULL;
        if (ok) memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    }
    s->params.logit_bias = s->bias;
    if (ok && s->has_rep) {
        int32_t window = p->penalty_last_n;
        s->ring_cap = window > 0 ? window : 0;
        ok = counts_init(&s->rep, s->n_vocab,
                         window > 0 && window < s->n_vocab ? window : s->n_vocab);
        if (ok && s->ring_cap > 0) {
            s->ring = ifn_calloc((size_t)s->ring_cap, sizeof *s->ring);
            ok = s->ring != NULL;
        }
    }
    if (ok && s->has_gen) ok = counts_init(&s->gen, s->n_vocab, s->n_vocab);
    if (!ok) return ifn_fail(IFN_E_NOMEM, "sampler: no memory for a vocab of %d", s->n_vocab);
    return IFN_OK;
}

ifn_status ifn_sampler_create(const ifn_sampler_params *params, int32_t n_vocab,
                              ifn_sampler **out_sampler) {
    ifn_sampler *s = NULL;
    ifn_status st = check_params(params, n_vocab);
    if (st != IFN_OK) goto out;
    s = ifn_calloc(1, sizeof *s);
    if (!s) {
        st = ifn_fail(IFN_E_NOMEM, "sampler: no memory");
        goto out;
    }
    s->params = *params;
    s->n_vocab = n_vocab;
    s->has_rep = params->repetition_penalty != 1.0f && params->penalty_last_n != 0;
    s->has_gen = params->presence_penalty != 0.0f || params->frequency_penalty != 0.0f;
    st = alloc_buffers(s);
    if (st != IFN_OK) goto out;
    ifn_sampler_reset(s);
    *out_sampler = s;
    s = NULL;
out:
    ifn_sampler_destroy(s);
    return st;
}

void ifn_sampler_destroy(ifn_sampler *s) {
    if (!s) return;
    ifn_free(s->bias);
    ifn_free(s->work);
    ifn_free(s->cand);
    counts_free(&s->rep);
    ifn_free(s->ring);
    counts_free(&s->gen);
    ifn_free(s->banned);
    ifn_free(s);
}

void ifn_sampler_reset(ifn_sampler *s) {
    if (s->has_rep) counts_clear(&s->rep);
    if (s->has_gen) counts_clear(&s->gen);
    s->ring_head = 0;
    s->ring_len = 0;
    s->n_banned = 0;
    s->n_last = 0;
    s->last_sum = 0.0;
    ifn_rng_seed(&s->rng, s->params.seed);
}

/* ---- history and bans ---- */

static ifn_status check_token(const ifn_sampler *s, int32_t token) {
    if (token < 0 || token >= s->n_vocab)
        return ifn_fail(IFN_E_INVALID, "sampler: token %d outside vocab of %d", token, s->n_vocab);
    return IFN_OK;
}

/* Adds a token to the repetition window, evicting the oldest when the window is full. */
static void window_push(ifn_sampler *s, int32_t token) {
    if (s->ring_cap > 0) {
        if (s->ring_len == s->ring_cap) {
            counts_remove(&s->rep, s->ring[s->ring_head]);
            s->ring[s->ring_head] = token;
            s->ring_head = (s->ring_head + 1) % s->ring_cap;
        } else {
            s->ring[(s->ring_head + s->ring_len) % s->ring_cap] = token;
            s->ring_len++;
        }
    }
    counts_add(&s->rep, token);
}

ifn_status ifn_sampler_accept(ifn_sampler *s, int32_t token, bool is_prompt) {
    ifn_status st = check_token(s, token);
    if (st != IFN_OK) return st;
    if (s->has_rep) window_push(s, token);
    if (s->has_gen && !is_prompt) counts_add(&s->gen, token);
    return IFN_OK;
}

ifn_status ifn_sampler_ban_token(ifn_sampler *s, int32_t token) {
    ifn_status st = check_token(s, token);
    if (st != IFN_OK) return st;
    for (int32_t i = 0; i < s->n_banned; i++)
        if (s->banned[i] == token) return IFN_OK;
    if (s->n_banned == s->banned_cap) {
        int32_t cap = s->banned_cap > 0 ? s->banned_cap * 2 : 8;
        int32_t *grown = ifn_realloc(s->banned, (size_t)cap * sizeof *grown);
        if (!grown) return ifn_fail(IFN_E_NOMEM, "sampler: no memory for banned tokens");
        s->banned = grown;
        s->banned_cap = cap;
    }
    s->banned[s->n_banned++] = token;
    return IFN_OK;
}

ifn_status ifn_sampler_unban_token(ifn_sampler *s, int32_t token) {
    ifn_status st = check_token(s, token);
    if (st != IFN_OK) return st;
    for (int32_t i = 0; i < s->n_banned; i++) {
        if (s->banned[i] == token) {
            s->banned[i] = s->banned[--s->n_banned];
            break;
        }
    }
    return IFN_OK;
}

void ifn_sampler_process_logits(const ifn_sampler *s, float *logits) {
    if (s->has_rep) {
        float penalty = s->params.repetition_penalty;
        for (int32_t i = 0; i < s->rep.n_ids; i++) {
            float *l = &logits[s->rep.ids[i]];
            *l = *l > 0.0f ? *l / penalty : *l * penalty;
        }
    }
    if (s->has_gen) {
        for (int32_t i = 0; i < s->gen.n_ids; i++) {
            int32_t t = s->gen.ids[i];
            logits[t] -=
                (float)s->gen.count[t] * s->params.frequency_penalty + s->params.presence_penalty;
        }
    }
    for (int32_t i = 0; i < s->params.n_logit_bias; i++)
        logits[s->bias[i].token] += s->bias[i].bias;
    for (int32_t i = 0; i < s->n_banned; i++)
        logits[s->banned[i]] = -INFINITY;
}

/* ---- selection ---- */

/* Total order for candidates: larger value first, ties to the lower id. */
static inline bool ranks_before(candidate a, candidate b) {
    return a.value > b.value || (a.value == b.value && a.id < b.id);
}

static inline void swap_cand(candidate *a, candidate *b) {
    candidate t = *a;
    *a = *b;
    *b = t;
}

/* Heap whose root is the candidate that ranks last among h[0..n). */
static void sift_down(candidate *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t worst = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && ranks_before(h[worst], h[l])) worst = l;
        if (r < n && ranks_before(h[worst], h[r])) worst = r;
        if (worst == i) return;
        swap_cand(&h[i], &h[worst]);
        i = worst;
    }
}

/* Moves the k best of c[0..n) to c[0..k), best first; the rest end up in c[k..n) in no
 * particular order. O(n log k), in place. */
static void select_top(candidate *c, int32_t n, int32_t k) {
    if (k > n) k = n;
    if (k <= 0) return;
    for (int32_t i = k / 2 - 1; i >= 0; i--)
        sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (ranks_before(c[i], c[0])) {
            swap_cand(&c[0], &c[i]);
            sift_down(c, k, 0);
        }
    }
    for (int32_t end = k - 1; end > 0; end--) {
        swap_cand(&c[0], &c[end]);
        sift_down(c, end, 0);
    }
}

/* Copies the finite logits into c (NaN and -inf dropped, +inf clamped to FLT_MAX so the
 * softmax stays defined), in vocabulary order. Returns the count; *out_max is their maximum. */
static int32_t gather_finite(const float *logits, int32_t n_vocab, candidate *c, float *out_max) {
    int32_t n = 0;
    float max = -FLT_MAX;
    for (int32_t i = 0; i < n_vocab; i++) {
        float x = logits[i];
        if (!(x > -INFINITY)) continue;
        if (x > FLT_MAX) x = FLT_MAX;
        c[n].id = i;
        c[n].value = x;
        n++;
        if (x > max) max = x;
    }
    *out_max = max;
    return n;
}

/* Replaces logits by exp((l - max) / temperature) (so the best token has exactly 1) and keeps,
 * in order, those with a value > 0 and >= min_p: min-p's threshold min_p * p_max. Returns the
 * mass of ALL candidates when `need_total` (top-p measures against it; dropping min-p's losers
 * first is still exact because both filters keep a most-likely-first prefix, so in either
 * order the shorter prefix wins). Without it, tokens clearly under the min-p threshold are
 * skipped on their logit alone, saving an expf each, and the return value is meaningless. */
static double softmax_min_p(candidate *c, int32_t *n, float max, float temperature, float min_p,
                            bool need_total) {
    /* loose by 1e-3 nats so that the exact test below alone decides borderline tokens */
    float skip_below = need_total || min_p <= 0.0f ? -INFINITY : logf(min_p) - 1e-3f;
    float inv_t = 1.0f / temperature;
    double total = 0.0;
    int32_t kept = 0;
    for (int32_t i = 0; i < *n; i++) {
        if ((c[i].value - max) * inv_t < skip_below) continue;
        float p = expf((c[i].value - max) / temperature);
        total += p;
        if (p > 0.0f && p >= min_p) {
            c[kept].id = c[i].id;
            c[kept].value = p;
            kept++;
        }
    }
    *n = kept;
    return total;
}

/* Length of the shortest prefix of c[0..n) whose mass reaches target (n if none does). */
static int32_t prefix_reaching(const candidate *c, int32_t n, double target) {
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += c[i].value;
        if (cum >= target) return i + 1;
    }
    return n;
}

/* Moves the median (by rank) of c[a], c[b], c[d] to c[d]. */
static void median_to_end(candidate *c, int32_t a, int32_t b, int32_t d) {
    if (ranks_before(c[b], c[a])) swap_cand(&c[a], &c[b]);
    if (ranks_before(c[d], c[b])) swap_cand(&c[b], &c[d]);
    if (ranks_before(c[b], c[a])) swap_cand(&c[a], &c[b]);
    swap_cand(&c[b], &c[d]);
}

/* Partitions c[lo..hi) around a median-of-three pivot: candidates ranking before it first.
 * Returns the pivot's final index; *out_mass is the mass of c[lo..index). */
static int32_t partition(candidate *c, int32_t lo, int32_t hi, double *out_mass) {
    median_to_end(c, lo, lo + (hi - lo) / 2, hi - 1);
    candidate pivot = c[hi - 1];
    int32_t store = lo;
    double mass = 0.0;
    for (int32_t i = lo; i < hi - 1; i++) {
        if (ranks_before(c[i], pivot)) {
            mass += c[i].value;
            swap_cand(&c[i], &c[store++]);
        }
    }
    swap_cand(&c[store], &c[hi - 1]);
    *out_mass = mass;
    return store;
}

/* Keeps the shortest most-likely-first prefix of c[0..n) whose mass reaches `target`; returns
 * its length, the kept candidates in c[0..len) (sorted only if they came sorted). Unsorted
 * input goes through a quickselect that follows the mass instead of a count: expected O(n),
 * sorting only the last small range; after too many rounds (adversarial input) it sorts what
 * is left, O(m log m). */
static int32_t keep_top_p(candidate *c, int32_t n, double target, bool is_sorted) {
    if (is_sorted) return prefix_reaching(c, n, target);
    int32_t lo = 0, hi = n;
    for (int round = 0; hi - lo > 32 && round < 64; round++) {
        double mass;
        int32_t mid = partition(c, lo, hi, &mass);
        if (mass >= target) {
            hi = mid; /* the cut is among the better ones */
        } else if (mass + c[mid].value >= target) {
            return mid + 1;
        } else {
            target -= mass + c[mid].value; /* take them all, look further down */
            lo = mid + 1;
        }
    }
    select_top(c + lo, hi - lo, hi - lo);
    return lo + prefix_reaching(c + lo, hi - lo, target);
}

/* Picks index i with probability c[i].value / sum. */
static int32_t draw(ifn_rng *rng, const candidate *c, int32_t n, double sum) {
    double r = ifn_rng_next_f64(rng) * sum;
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += c[i].value;
        if (r < cum) return i;
    }
    return n - 1; /* r landed past the last partial sum by rounding */
}

static ifn_status fail_nothing_left(void) {
    return ifn_fail(IFN_E_INVALID, "sampler: every token is banned, -inf or NaN");
}

static ifn_status sample_greedy(ifn_sampler *s, int32_t *out_token) {
    int32_t best = -1;
    float best_value = -INFINITY;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        if (s->work[i] > best_value) { /* strict: ties keep the lower id; NaN never wins */
            best_value = s->work[i];
            best = i;
        }
    }
    if (best < 0) return fail_nothing_left();
    s->cand[0].id = best;
    s->cand[0].value = 1.0f;
    s->n_last = 1;
    s->last_sum = 1.0;
    *out_token = best;
    return IFN_OK;
}

static ifn_status sample_random(ifn_sampler *s, int32_t *out_token) {
    const ifn_sampler_params *p = &s->params;
    float max;
    int32_t n = gather_finite(s->work, s->n_vocab, s->cand, &max);
    if (n == 0) return fail_nothing_left();
    bool is_sorted = false;
    if (p->top_k > 0 && p->top_k < n) {
        select_top(s->cand, n, p->top_k);
        n = p->top_k;
        is_sorted = true;
    }
    bool has_top_p = p->top_p < 1.0f;
    double total = softmax_min_p(s->cand, &n, max, p->temperature, p->min_p, has_top_p);
    if (has_top_p) n = keep_top_p(s->cand, n, (double)p->top_p * total, is_sorted);
    double kept = 0.0;
    for (int32_t i = 0; i < n; i++)
        kept += s->cand[i].value;
    int32_t pick = draw(&s->rng, s->cand, n, kept);
    s->n_last = n;
    s->last_sum = kept;
    *out_token = s->cand[pick].id;
    return IFN_OK;
}

ifn_status ifn_sampler_sample(ifn_sampler *s, const float *logits, int32_t *out_token) {
    s->n_last = 0;
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
    ifn_sampler_process_logits(s, s->work);
    if (s->params.temperature <= 0.0f) return sample_greedy(s, out_token);
    return sample_random(s, out_token);
}

int32_t ifn_sampler_last_candidates(const ifn_sampler *s, ifn_sampler_token_prob *out,
                                    int32_t cap) {
    for (int32_t i = 0; i < s->n_last && i < cap; i++) {
        out[i].token = s->cand[i].id;
        out[i].prob = (float)(s->cand[i].value / s->last_sum);
    }
    return s->n_last;
}

/* ---- logprobs ---- */

static inline float clean_logit(float x) {
    if (isnan(x)) return -INFINITY;
    return x > FLT_MAX ? FLT_MAX : x;
}

/* Inserts (token, logit) into top[0..*n) kept best first, at most cap entries. Called in
 * increasing token order, so a strict comparison sends ties to the lower id. */
static void top_insert(ifn_sampler_token_logprob *top, int32_t *n, int32_t cap, int32_t token,
                       float logit) {
    if (*n == cap && !(logit > top[cap - 1].logprob)) return;
    int32_t pos = *n < cap ? (*n)++ : cap - 1;
    while (pos > 0 && logit > top[pos - 1].logprob) {
        top[pos] = top[pos - 1];
        pos--;
    }
    top[pos].token = token;
    top[pos].logprob = logit;
}

ifn_status ifn_sampler_compute_logprobs(const float *logits, int32_t n_vocab, int32_t token,
                                        int32_t n_top, ifn_sampler_logprobs *out) {
    if (n_vocab <= 0 || token < 0 || token >= n_vocab)
        return ifn_fail(IFN_E_INVALID, "sampler: logprobs token %d outside vocab of %d", token,
                        n_vocab);
    if (n_top < 0 || n_top > IFN_SAMPLER_MAX_TOP_LOGPROBS)
        return ifn_fail(IFN_E_INVALID, "sampler: top_logprobs %d outside 0..%d", n_top,
                        IFN_SAMPLER_MAX_TOP_LOGPROBS);
    ifn_sampler_logprobs r;
    memset(&r, 0, sizeof r);
    float chosen = clean_logit(logits[token]);
    float max = -INFINITY;
    int32_t n_greater = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        float x = clean_logit(logits[i]);
        if (x > max) max = x;
        if (x > chosen) n_greater++;
        if (n_top > 0) top_insert(r.top, &r.n_top, n_top, i, x);
    }
    if (max == -INFINITY) return ifn_fail(IFN_E_INVALID, "sampler: every logit is -inf or NaN");
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++)
        sum += expf(clean_logit(logits[i]) - max);
    double log_norm = (double)max + log(sum);
    r.token = token;
    r.logprob = (float)((double)chosen - log_norm);
    r.rank = n_greater + 1;
    for (int32_t i = 0; i < r.n_top; i++)
        r.top[i].logprob = (float)((double)r.top[i].logprob - log_norm);
    *out = r;
    return IFN_OK;
}
