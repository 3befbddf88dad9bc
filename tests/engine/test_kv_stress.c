/* KV cache stress test: thousands of random operations over a small cache (admit sequences whose
 * prompts share prefixes from a small pool, reserve and commit random chunks, fork, preempt,
 * abort, finish), so IFN_E_FULL, eviction, prefix hits and copy-on-write happen often. After
 * every operation: the cache's own invariants, reference counts equal to the number of tables
 * holding each block, chain hashes of every table, and at random the K/V content of a whole
 * sequence (position p holds a value derived from tokens[0..p], so a wrongly shared or
 * overwritten block shows up). A second test runs independent caches on several threads, which
 * ThreadSanitizer builds check for hidden shared state. Checks report instead of asserting so
 * they can run off the cmocka thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "engine/block_table.h"
#include "engine/kv_cache.h"
#include "util/rng.h"

#define BLOCK_SIZE 4
#define N_BLOCKS 48
#define N_LAYER 2
#define KV_DIM 2
#define MAX_SEQS 10
#define MAX_LEN 64
#define N_POOL 4
#define POOL_LEN 32

typedef enum seq_state { SEQ_EMPTY, SEQ_RUNNING, SEQ_WAITING } seq_state;

typedef struct sim_seq {
    seq_state state; /* WAITING: preempted, blocks dropped, resumed by a later admission */
    int32_t n_known; /* tokens known (prompt + sampled); n_tokens of them computed */
    int32_t tokens[MAX_LEN];
    uint32_t prefix[MAX_LEN]; /* rolling hash of tokens[0..p]: the content of position p */
    ifn_block_table table;
} sim_seq;

typedef struct stress_counts {
    int64_t ops, admits, resumes, prefix_positions, steps, full, preempts, forks, copies, aborts,
        finishes;
} stress_counts;

typedef struct stress_ctx {
    uint64_t seed;
    int64_t n_ops;
    ifn_kv_cache *cache;
    ifn_rng rng;
    int32_t pool[N_POOL][POOL_LEN];
    sim_seq seqs[MAX_SEQS];
    int32_t expected_refs[N_BLOCKS];
    stress_counts counts;
    int64_t evictions;
    char why[256];
} stress_ctx;

static int fail_at(stress_ctx *ctx, int line, const char *what) {
    snprintf(ctx->why, sizeof ctx->why, "seed %llu op %lld line %d: %s",
             (unsigned long long)ctx->seed, (long long)ctx->counts.ops, line, what);
    return line;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) return fail_at(ctx, __LINE__, #cond);                                         \
    } while (0)

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_) return rc_;                                                                       \
    } while (0)

static int32_t rand_below(stress_ctx *ctx, int32_t n) {
    return (int32_t)(ifn_rng_next_u64(&ctx->rng) % (uint64_t)n);
}

static void append_token(sim_seq *s, int32_t token) {
    uint32_t h = s->n_known > 0 ? s->prefix[s->n_known - 1] : 2166136261u;
    s->tokens[s->n_known] = token;
    s->prefix[s->n_known] = (h ^ (uint32_t)token) * 16777619u;
    s->n_known++;
}

static float *kv_row(stress_ctx *ctx, const sim_seq *s, int is_v, int32_t layer, int32_t pos) {
    int32_t block = s->table.blocks[pos / BLOCK_SIZE];
    float *base =
        is_v ? ifn_kv_cache_v(ctx->cache, layer, block) : ifn_kv_cache_k(ctx->cache, layer, block);
    return base + (size_t)(pos % BLOCK_SIZE) * KV_DIM;
}

static float content_of(const sim_seq *s, int is_v, int32_t layer, int32_t pos, int32_t d) {
    float value = (float)(s->prefix[pos] & 0xffff) + (float)(layer * KV_DIM + d) / 8.0f;
    return is_v ? -value : value;
}

static int check_content(stress_ctx *ctx, const sim_seq *s) {
    for (int32_t pos = 0; pos < s->table.n_tokens; pos++)
        for (int32_t layer = 0; layer < N_LAYER; layer++)
            for (int32_t d = 0; d < KV_DIM; d++) {
                CHECK(kv_row(ctx, s, 0, layer, pos)[d] == content_of(s, 0, layer, pos, d));
                CHECK(kv_row(ctx, s, 1, layer, pos)[d] == content_of(s, 1, layer, pos, d));
            }
    return 0;
}

/* A table's shape and chain hashes, and its share of the expected reference counts. */
static int check_table(stress_ctx *ctx, const sim_seq *s) {
    const ifn_block_table *t = &s->table;
    CHECK(t->n_tokens >= 0 && t->n_tokens <= s->n_known);
    CHECK(t->n_blocks >= ifn_block_table_blocks_for(ctx->cache, t->n_tokens));
    CHECK(t->n_blocks <= t->capacity);
    uint64_t parent = 0;
    for (int32_t i = 0; i < t->n_blocks; i++) {
        CHECK(t->blocks[i] >= 0 && t->blocks[i] < N_BLOCKS);
        ctx->expected_refs[t->blocks[i]]++;
        if ((i + 1) * BLOCK_SIZE <= t->n_tokens) {
            parent = ifn_kv_cache_block_hash(ctx->cache, parent, s->tokens + i * BLOCK_SIZE);
            CHECK(t->hashes[i] == parent);
        } else {
            CHECK(t->hashes[i] == 0);
        }
    }
    return 0;
}

static int check_all(stress_ctx *ctx) {
    CHECK(ifn_kv_cache_validate(ctx->cache) == IFN_OK);
    memset(ctx->expected_refs, 0, sizeof ctx->expected_refs);
    for (int i = 0; i < MAX_SEQS; i++)
        if (ctx->seqs[i].state != SEQ_EMPTY) TRY(check_table(ctx, &ctx->seqs[i]));
    int32_t n_used = 0;
    for (int32_t b = 0; b < N_BLOCKS; b++) {
        CHECK(ifn_kv_cache_ref_count(ctx->cache, b) == ctx->expected_refs[b]);
        n_used += ctx->expected_refs[b] > 0;
    }
    ifn_kv_cache_stats st;
    ifn_kv_cache_get_stats(ctx->cache, &st);
    CHECK(st.n_used == n_used && st.n_used + st.n_free + st.n_cached == N_BLOCKS);
    CHECK(st.evictions >= ctx->evictions); /* counters never go back */
    ctx->evictions = st.evictions;
    return 0;
}

/* A random sequence in `state`, or -1. */
static int find_slot(stress_ctx *ctx, seq_state state) {
    int start = rand_below(ctx, MAX_SEQS);
    for (int k = 0; k < MAX_SEQS; k++) {
        int i = (start + k) % MAX_SEQS;
        if (ctx->seqs[i].state == state) return i;
    }
    return -1;
}

/* Prefix lookup on an empty table: the match covers whole blocks, leaves a token to compute,
 * and the reused blocks hold exactly this sequence's content. */
static int match(stress_ctx *ctx, sim_seq *s) {
    int32_t covered = ifn_block_table_match_prefix(&s->table, ctx->cache, s->tokens, s->n_known);
    CHECK(covered % BLOCK_SIZE == 0 && covered < s->n_known && covered == s->table.n_tokens);
    CHECK(s->table.n_blocks == covered / BLOCK_SIZE);
    ctx->counts.prefix_positions += covered;
    return check_content(ctx, s);
}

/* Resumes a preempted sequence if there is one, else starts a new one. */
static int op_admit(stress_ctx *ctx) {
    int i = find_slot(ctx, SEQ_WAITING);
    if (i >= 0) {
        ctx->seqs[i].state = SEQ_RUNNING;
        ctx->counts.resumes++;
        return match(ctx, &ctx->seqs[i]);
    }
    i = find_slot(ctx, SEQ_EMPTY);
    if (i < 0) return 0;
    sim_seq *s = &ctx->seqs[i];
    s->n_known = 0;
    const int32_t *prefix = ctx->pool[rand_below(ctx, N_POOL)];
    int32_t n_prefix = rand_below(ctx, POOL_LEN + 1);
    for (int32_t p = 0; p < n_prefix; p++)
        append_token(s, prefix[p]);
    /* Tiny vocabulary: equal blocks under different parents are common. */
    for (int32_t n = 1 + rand_below(ctx, 16); n > 0; n--)
        append_token(s, rand_below(ctx, 3));
    ifn_block_table_init(&s->table);
    s->state = SEQ_RUNNING;
    ctx->counts.admits++;
    return match(ctx, s);
}

static void end_seq(stress_ctx *ctx, sim_seq *s) {
    ifn_block_table_clear(&s->table, ctx->cache);
    ifn_block_table_deinit(&s->table);
    s->state = SEQ_EMPTY;
}

/* Recompute-style preemption: drop the blocks (full ones stay cached); a later admission
 * matches the known tokens again. */
static void preempt(stress_ctx *ctx, sim_seq *s) {
    ifn_block_table_clear(&s->table, ctx->cache);
    s->state = SEQ_WAITING;
    ctx->counts.preempts++;
}

/* A failed reserve changed nothing: same table, same cache stats. */
static int check_unchanged(stress_ctx *ctx, const sim_seq *s, const int32_t *blocks,
                           int32_t n_blocks, int32_t n_tokens, const ifn_kv_cache_stats *before) {
    ifn_kv_cache_stats after;
    ifn_kv_cache_get_stats(ctx->cache, &after);
    CHECK(memcmp(&after, before, sizeof after) == 0);
    CHECK(s->table.n_blocks == n_blocks && s->table.n_tokens == n_tokens);
    CHECK(n_blocks == 0 || memcmp(s->table.blocks, blocks, (size_t)n_blocks * sizeof *blocks) == 0);
    return 0;
}

static int reserve_or_preempt(stress_ctx *ctx, sim_seq *s, int32_t chunk, int *out_ok) {
    int32_t blocks[MAX_LEN / BLOCK_SIZE + 1];
    int32_t n_blocks = s->table.n_blocks, n_tokens = s->table.n_tokens;
    if (n_blocks > 0) memcpy(blocks, s->table.blocks, (size_t)n_blocks * sizeof *blocks);
    ifn_kv_cache_stats before;
    ifn_kv_cache_get_stats(ctx->cache, &before);
    ifn_status st = ifn_block_table_reserve(&s->table, ctx->cache, chunk);
    *out_ok = st == IFN_OK;
    if (st == IFN_OK) {
        for (int32_t i = 0; i < n_blocks && i < s->table.n_blocks; i++)
            ctx->counts.copies += s->table.blocks[i] != blocks[i];
        return 0;
    }
    CHECK(st == IFN_E_FULL);
    ctx->counts.full++;
    TRY(check_unchanged(ctx, s, blocks, n_blocks, n_tokens, &before));
    preempt(ctx, &ctx->seqs[find_slot(ctx, SEQ_RUNNING)]); /* may be s itself */
    return 0;
}

/* One forward step of a sequence: a prompt chunk, or one decoded token. */
static int op_step(stress_ctx *ctx) {
    int i = find_slot(ctx, SEQ_RUNNING);
    if (i < 0) return 0;
    sim_seq *s = &ctx->seqs[i];
    if (s->table.n_tokens == s->n_known) {
        if (s->n_known == MAX_LEN) {
            ctx->counts.finishes++;
            end_seq(ctx, s);
            return 0;
        }
        append_token(s, rand_below(ctx, 3)); /* the token sampled last step */
    }
    int32_t pending = s->n_known - s->table.n_tokens;
    int32_t chunk = 1 + rand_below(ctx, pending < 12 ? pending : 12);
    int ok = 0;
    TRY(reserve_or_preempt(ctx, s, chunk, &ok));
    if (!ok) return 0;
    int32_t begin = s->table.n_tokens;
    for (int32_t pos = begin; pos < begin + chunk; pos++) {
        CHECK(ifn_kv_cache_ref_count(ctx->cache, s->table.blocks[pos / BLOCK_SIZE]) == 1);
        for (int32_t layer = 0; layer < N_LAYER; layer++)
            for (int32_t d = 0; d < KV_DIM; d++) {
                kv_row(ctx, s, 0, layer, pos)[d] = content_of(s, 0, layer, pos, d);
                kv_row(ctx, s, 1, layer, pos)[d] = content_of(s, 1, layer, pos, d);
            }
    }
    ifn_block_table_commit(&s->table, ctx->cache, s->tokens, chunk);
    ctx->counts.steps++;
    return 0;
}

static int op_fork(stress_ctx *ctx) {
    int from = find_slot(ctx, SEQ_RUNNING), to = find_slot(ctx, SEQ_EMPTY);
    if (from < 0 || to < 0) return 0;
    sim_seq *src = &ctx->seqs[from], *dst = &ctx->seqs[to];
    dst->n_known = src->n_known;
    memcpy(dst->tokens, src->tokens, sizeof dst->tokens);
    memcpy(dst->prefix, src->prefix, sizeof dst->prefix);
    ifn_block_table_init(&dst->table);
    CHECK(ifn_block_table_fork(&src->table, ctx->cache, &dst->table) == IFN_OK);
    dst->state = SEQ_RUNNING;
    ctx->counts.forks++;
    return 0;
}

static int op_abort(stress_ctx *ctx) {
    int i = find_slot(ctx, rand_below(ctx, 4) == 0 ? SEQ_WAITING : SEQ_RUNNING);
    if (i < 0) return 0;
    end_seq(ctx, &ctx->seqs[i]);
    ctx->counts.aborts++;
    return 0;
}

static int op_verify(stress_ctx *ctx) {
    int i = find_slot(ctx, SEQ_RUNNING);
    return i < 0 ? 0 : check_content(ctx, &ctx->seqs[i]);
}

static int run_one_op(stress_ctx *ctx) {
    int32_t r = rand_below(ctx, 100);
    if (r < 10) return op_admit(ctx);
    if (r < 85) return op_step(ctx);
    if (r < 90) return op_fork(ctx);
    if (r < 93) return op_abort(ctx);
    return op_verify(ctx);
}

static int stress_ops(stress_ctx *ctx) {
    for (ctx->counts.ops = 0; ctx->counts.ops < ctx->n_ops; ctx->counts.ops++) {
        TRY(run_one_op(ctx));
        TRY(check_all(ctx));
    }
    for (int i = 0; i < MAX_SEQS; i++) {
        if (ctx->seqs[i].state == SEQ_EMPTY) continue;
        TRY(check_content(ctx, &ctx->seqs[i]));
        end_seq(ctx, &ctx->seqs[i]);
        TRY(check_all(ctx));
    }
    ifn_kv_cache_stats st;
    ifn_kv_cache_get_stats(ctx->cache, &st);
    CHECK(st.n_used == 0 && st.n_free + st.n_cached == N_BLOCKS);
    /* The run exercised what it is meant to. */
    CHECK(ctx->counts.full > 0 && st.evictions > 0 && st.prefix_hits > 0);
    CHECK(ctx->counts.copies > 0 && ctx->counts.forks > 0 && ctx->counts.finishes > 0);
    return 0;
}

/* Runs n_ops random operations on a fresh cache; 0, or the failing line with ctx->why set. */
static int stress_run(stress_ctx *ctx) {
    ifn_kv_cache_params p = {0};
    p.n_layer = N_LAYER;
    p.kv_dim = KV_DIM;
    p.block_size = BLOCK_SIZE;
    p.n_blocks = N_BLOCKS;
    p.kv_type = IFN_DTYPE_F32;
    p.model_id = ctx->seed;
    ifn_rng_seed(&ctx->rng, ctx->seed);
    for (int i = 0; i < N_POOL; i++)
        for (int j = 0; j < POOL_LEN; j++)
            ctx->pool[i][j] = rand_below(ctx, 3);
    ctx->pool[1][0] = 7; /* some pool prompts share nothing with the others */
    ctx->pool[3][0] = 8;
    CHECK(ifn_kv_cache_create(&p, &ctx->cache) == IFN_OK);
    int rc = stress_ops(ctx);
    for (int i = 0; i < MAX_SEQS && rc != 0; i++)
        if (ctx->seqs[i].state != SEQ_EMPTY) end_seq(ctx, &ctx->seqs[i]);
    ifn_kv_cache_destroy(ctx->cache);
    ctx->cache = NULL;
    return rc;
}

static void print_counts(const stress_ctx *ctx) {
    const stress_counts *c = &ctx->counts;
    print_message("seed %llu: %lld ops, %lld admits + %lld resumes (%lld positions reused), "
                  "%lld steps, %lld full, %lld preempts, %lld forks, %lld copies, %lld aborts, "
                  "%lld finishes, %lld evictions\n",
                  (unsigned long long)ctx->seed, (long long)c->ops, (long long)c->admits,
                  (long long)c->resumes, (long long)c->prefix_positions, (long long)c->steps,
                  (long long)c->full, (long long)c->preempts, (long long)c->forks,
                  (long long)c->copies, (long long)c->aborts, (long long)c->finishes,
                  (long long)ctx->evictions);
}

static void test_kv_stress_random_operations_keep_invariants(void **state) {
    (void)state;
    static stress_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.seed = 1;
    ctx.n_ops = 20000;
    int rc = stress_run(&ctx);
    if (rc) print_message("%s\n", ctx.why);
    assert_int_equal(rc, 0);
    print_counts(&ctx);
}

static void *stress_thread(void *arg) {
    stress_run(arg);
    return NULL;
}

static void test_kv_stress_independent_caches_on_threads(void **state) {
    (void)state;
    enum { N_THREADS = 4 };
    static stress_ctx ctx[N_THREADS];
    pthread_t threads[N_THREADS];
    memset(ctx, 0, sizeof ctx);
    for (int i = 0; i < N_THREADS; i++) {
        ctx[i].seed = 100 + (uint64_t)i;
        ctx[i].n_ops = 4000;
        assert_int_equal(pthread_create(&threads[i], NULL, stress_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < N_THREADS; i++) {
        if (ctx[i].why[0]) print_message("%s\n", ctx[i].why);
        assert_int_equal(ctx[i].why[0], '\0');
        print_counts(&ctx[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_stress_random_operations_keep_invariants),
        cmocka_unit_test(test_kv_stress_independent_caches_on_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
