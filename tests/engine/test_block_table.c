/* Block table tests: prefix reuse of a 1000-token prompt (62 blocks of 16), the last token of a
 * fully cached prompt left to compute, reserve/commit across block boundaries, copy-on-write
 * after fork, all-or-nothing reserve under IFN_E_FULL and IFN_E_NOMEM, the eviction order of a
 * cleared table, and two sequences that computed the same prefix independently.
 * K/V content is checked too: position p of a sequence holds a value derived from tokens[0..p]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/block_table.h"
#include "engine/kv_cache.h"
#include "util/alloc.h"

static ifn_kv_cache *make_cache(int32_t block_size, int32_t n_blocks) {
    ifn_kv_cache_params p = {0};
    p.n_layer = 2;
    p.kv_dim = 4;
    p.block_size = block_size;
    p.n_blocks = n_blocks;
    p.kv_type = IFN_DTYPE_F32;
    p.model_id = 1;
    ifn_kv_cache *c = NULL;
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_OK);
    return c;
}

/* Value stored at position p: a rolling hash of tokens[0..p], exact in a float (24 bits). */
static float prefix_value(const int32_t *tokens, int32_t p) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i <= p; i++)
        h = (h ^ (uint32_t)tokens[i]) * 16777619u;
    return (float)(h & 0xffffff);
}

static float *row_k(ifn_kv_cache *c, const ifn_block_table *t, int32_t layer, int32_t pos) {
    int32_t bs = ifn_kv_cache_get_params(c)->block_size;
    float *k = ifn_kv_cache_k(c, layer, t->blocks[pos / bs]);
    return k + (size_t)(pos % bs) * 4;
}

static float *row_v(ifn_kv_cache *c, const ifn_block_table *t, int32_t layer, int32_t pos) {
    int32_t bs = ifn_kv_cache_get_params(c)->block_size;
    float *v = ifn_kv_cache_v(c, layer, t->blocks[pos / bs]);
    return v + (size_t)(pos % bs) * 4;
}

/* Plays a forward pass over positions [n_tokens, n_tokens + n_new): reserve, write, commit. */
static void compute(ifn_kv_cache *c, ifn_block_table *t, const int32_t *tokens, int32_t n_new) {
    assert_int_equal(ifn_block_table_reserve(t, c, n_new), IFN_OK);
    for (int32_t pos = t->n_tokens; pos < t->n_tokens + n_new; pos++) {
        float value = prefix_value(tokens, pos);
        for (int32_t layer = 0; layer < 2; layer++) {
            for (int32_t d = 0; d < 4; d++) {
                row_k(c, t, layer, pos)[d] = value + (float)(layer * 4 + d);
                row_v(c, t, layer, pos)[d] = -value - (float)(layer * 4 + d);
            }
        }
    }
    ifn_block_table_commit(t, c, tokens, n_new);
}

static void assert_content(ifn_kv_cache *c, const ifn_block_table *t, const int32_t *tokens) {
    for (int32_t pos = 0; pos < t->n_tokens; pos++) {
        float value = prefix_value(tokens, pos);
        for (int32_t layer = 0; layer < 2; layer++) {
            assert_true(row_k(c, t, layer, pos)[3] == value + (float)(layer * 4 + 3));
            assert_true(row_v(c, t, layer, pos)[0] == -value - (float)(layer * 4));
        }
    }
}

/* Chain hashes recomputed from the tokens; 0 for blocks not yet full. */
static void assert_hashes(const ifn_kv_cache *c, const ifn_block_table *t, const int32_t *tokens) {
    int32_t bs = ifn_kv_cache_get_params(c)->block_size;
    uint64_t parent = 0;
    for (int32_t i = 0; i < t->n_blocks; i++) {
        if ((i + 1) * bs <= t->n_tokens) {
            parent = ifn_kv_cache_block_hash(c, parent, tokens + i * bs);
            assert_true(t->hashes[i] == parent);
        } else {
            assert_true(t->hashes[i] == 0);
        }
    }
}

static void assert_stats(const ifn_kv_cache *c, int32_t used, int32_t n_free, int32_t cached) {
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.n_used, used);
    assert_int_equal(s.n_free, n_free);
    assert_int_equal(s.n_cached, cached);
    assert_int_equal(ifn_kv_cache_validate(c), IFN_OK);
}

static void make_tokens(int32_t *tokens, int32_t n, int32_t seed) {
    for (int32_t i = 0; i < n; i++)
        tokens[i] = (int32_t)((i * 7919 + seed * 104729) % 32000);
}

static void test_block_table_reuses_992_positions_of_a_1000_token_prefix(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(16, 200);
    static int32_t a_tokens[1000], b_tokens[1050];
    make_tokens(a_tokens, 1000, 1);
    memcpy(b_tokens, a_tokens, sizeof a_tokens);
    make_tokens(b_tokens + 1000, 50, 2);
    ifn_block_table a, b;
    ifn_block_table_init(&a);
    ifn_block_table_init(&b);
    assert_int_equal(ifn_block_table_match_prefix(&a, c, a_tokens, 1000), 0);
    compute(c, &a, a_tokens, 1000);
    assert_int_equal(a.n_tokens, 1000);
    assert_int_equal(a.n_blocks, 63);
    assert_hashes(c, &a, a_tokens);

    /* While a is alive: b shares a's 62 full blocks. */
    assert_int_equal(ifn_block_table_match_prefix(&b, c, b_tokens, 1050), 992);
    assert_int_equal(b.n_blocks, 62);
    assert_int_equal(b.n_tokens, 992);
    for (int32_t i = 0; i < 62; i++) {
        assert_int_equal(b.blocks[i], a.blocks[i]);
        assert_int_equal(ifn_kv_cache_ref_count(c, b.blocks[i]), 2);
    }
    assert_hashes(c, &b, b_tokens);
    assert_content(c, &b, b_tokens);
    compute(c, &b, b_tokens, 1050 - 992);
    assert_content(c, &b, b_tokens);
    assert_content(c, &a, a_tokens); /* b wrote only its own blocks */

    /* After both finish: the full blocks stay cached and a third sequence finds them. */
    ifn_block_table_clear(&a, c);
    ifn_block_table_clear(&b, c);
    assert_stats(c, 0, 200 - 62 - 3, 62 + 3); /* b's 65 full blocks; a's partial block is free */
    b_tokens[1010] ^= 1;
    assert_int_equal(ifn_block_table_match_prefix(&b, c, b_tokens, 1050), 1008);
    assert_content(c, &b, b_tokens);
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.prefix_hits, 62 + 63);
    assert_int_equal(s.prefix_queries, 1 + 63 + 64);
    ifn_block_table_clear(&b, c);
    ifn_block_table_deinit(&a);
    ifn_block_table_deinit(&b);
    assert_stats(c, 0, 135, 65);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_fully_cached_prompt_leaves_one_token(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(16, 16);
    int32_t tokens[65];
    make_tokens(tokens, 65, 3);
    ifn_block_table t;
    ifn_block_table_init(&t);
    compute(c, &t, tokens, 65);
    ifn_block_table_clear(&t, c);
    assert_stats(c, 0, 12, 4);
    /* 64 cached tokens: the last block is recomputed so the caller gets logits. */
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 64), 48);
    ifn_block_table_clear(&t, c);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 65), 64);
    assert_int_equal(t.n_tokens, 64);
    compute(c, &t, tokens, 1);
    assert_content(c, &t, tokens);
    ifn_block_table_clear(&t, c);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 17), 16);
    ifn_block_table_clear(&t, c);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 16), 0);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 1), 0);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 0), 0);
    assert_int_equal(t.n_blocks, 0);
    ifn_block_table_deinit(&t);
    assert_stats(c, 0, 12, 4);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_reserve_and_commit_across_block_boundaries(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 16);
    int32_t tokens[40];
    make_tokens(tokens, 40, 4);
    ifn_block_table t;
    ifn_block_table_init(&t);
    assert_int_equal(ifn_block_table_blocks_for(c, 0), 0);
    assert_int_equal(ifn_block_table_blocks_for(c, 4), 1);
    assert_int_equal(ifn_block_table_blocks_for(c, 5), 2);
    compute(c, &t, tokens, 3);
    assert_int_equal(t.n_blocks, 1);
    assert_int_equal(t.hashes[0], 0);
    compute(c, &t, tokens, 1); /* fills block 0 exactly */
    assert_int_equal(t.n_blocks, 1);
    assert_hashes(c, &t, tokens);
    compute(c, &t, tokens, 5); /* 4..8: fills block 1, starts block 2 */
    assert_int_equal(t.n_tokens, 9);
    assert_int_equal(t.n_blocks, 3);
    assert_hashes(c, &t, tokens);
    assert_int_equal(ifn_block_table_reserve(&t, c, 0), IFN_OK);
    assert_int_equal(t.n_blocks, 3);
    /* Reserving ahead then committing less keeps the spare blocks for the next step. */
    assert_int_equal(ifn_block_table_reserve(&t, c, 10), IFN_OK);
    assert_int_equal(t.n_blocks, 5);
    compute(c, &t, tokens, 2);
    assert_int_equal(t.n_blocks, 5);
    compute(c, &t, tokens, 8); /* positions 11..18, inside the reserved blocks */
    assert_int_equal(t.n_blocks, 5);
    assert_int_equal(t.n_tokens, 19);
    assert_hashes(c, &t, tokens);
    assert_content(c, &t, tokens);
    assert_stats(c, 5, 11, 0);
    /* The published blocks are found by a new sequence while t still holds them. */
    ifn_block_table u;
    ifn_block_table_init(&u);
    assert_int_equal(ifn_block_table_match_prefix(&u, c, tokens, 40), 16);
    assert_content(c, &u, tokens);
    ifn_block_table_clear(&u, c);
    ifn_block_table_clear(&t, c);
    assert_stats(c, 0, 12, 4);
    ifn_block_table_deinit(&t);
    ifn_block_table_deinit(&u);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_fork_copies_shared_partial_block_on_write(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 16);
    int32_t parent_tokens[12], child_tokens[12];
    make_tokens(parent_tokens, 12, 5);
    memcpy(child_tokens, parent_tokens, sizeof parent_tokens);
    child_tokens[6] = parent_tokens[6] + 1; /* the samples diverge at position 6 */
    ifn_block_table parent, child;
    ifn_block_table_init(&parent);
    ifn_block_table_init(&child);
    compute(c, &parent, parent_tokens, 6); /* block 0 full, block 1 holds positions 4, 5 */
    assert_int_equal(ifn_block_table_fork(&parent, c, &child), IFN_OK);
    assert_int_equal(child.n_tokens, 6);
    assert_int_equal(child.n_blocks, 2);
    int32_t shared_partial = parent.blocks[1];
    assert_int_equal(ifn_kv_cache_ref_count(c, parent.blocks[0]), 2);
    assert_int_equal(ifn_kv_cache_ref_count(c, shared_partial), 2);
    float parent_row6 = row_k(c, &parent, 1, 6)[0] = 12345.0f; /* unwritten slot, marked */

    compute(c, &child, child_tokens, 1);
    assert_int_not_equal(child.blocks[1], shared_partial);
    assert_int_equal(child.blocks[0], parent.blocks[0]); /* full blocks stay shared */
    assert_int_equal(ifn_kv_cache_ref_count(c, shared_partial), 1);
    assert_int_equal(ifn_kv_cache_ref_count(c, child.blocks[1]), 1);
    assert_content(c, &child, child_tokens); /* positions 4, 5 were copied */
    assert_content(c, &parent, parent_tokens);
    assert_true(row_k(c, &parent, 1, 6)[0] == parent_row6); /* parent's block untouched */

    /* The parent is now the only owner of its block: no copy on its next write. */
    compute(c, &parent, parent_tokens, 1);
    assert_int_equal(parent.blocks[1], shared_partial);
    assert_content(c, &parent, parent_tokens);
    assert_content(c, &child, child_tokens);
    compute(c, &parent, parent_tokens, 5);
    compute(c, &child, child_tokens, 5);
    assert_hashes(c, &parent, parent_tokens);
    assert_hashes(c, &child, child_tokens);
    assert_content(c, &parent, parent_tokens);
    assert_content(c, &child, child_tokens);
    ifn_block_table_clear(&parent, c);
    ifn_block_table_clear(&child, c);
    ifn_block_table_deinit(&parent);
    ifn_block_table_deinit(&child);
    assert_stats(c, 0, 11, 5); /* shared block 0, and blocks 1, 2 of each sample */
    ifn_kv_cache_destroy(c);
}

static void test_block_table_fork_of_reserved_blocks_makes_them_private(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 16);
    int32_t tokens[16];
    make_tokens(tokens, 16, 6);
    ifn_block_table a, b;
    ifn_block_table_init(&a);
    ifn_block_table_init(&b);
    compute(c, &a, tokens, 4);
    assert_int_equal(ifn_block_table_reserve(&a, c, 8), IFN_OK); /* blocks 1, 2 reserved */
    assert_int_equal(ifn_block_table_fork(&a, c, &b), IFN_OK);
    assert_int_equal(ifn_kv_cache_ref_count(c, a.blocks[2]), 2);
    compute(c, &b, tokens, 8); /* writes blocks 1 and 2: both must become b's own */
    assert_int_not_equal(b.blocks[1], a.blocks[1]);
    assert_int_not_equal(b.blocks[2], a.blocks[2]);
    assert_int_equal(b.blocks[0], a.blocks[0]);
    assert_int_equal(ifn_kv_cache_ref_count(c, a.blocks[1]), 1);
    compute(c, &a, tokens, 8);
    assert_content(c, &a, tokens);
    assert_content(c, &b, tokens);
    ifn_block_table_clear(&a, c);
    ifn_block_table_clear(&b, c);
    ifn_block_table_deinit(&a);
    ifn_block_table_deinit(&b);
    assert_stats(c, 0, 13, 3); /* a committed last: its blocks 1, 2 duplicate b's, so are free */
    ifn_kv_cache_destroy(c);
}

typedef struct table_snapshot {
    int32_t blocks[16];
    uint64_t hashes[16];
    int32_t n_blocks, n_tokens;
    ifn_kv_cache_stats stats;
} table_snapshot;

static void take_snapshot(const ifn_block_table *t, const ifn_kv_cache *c, table_snapshot *s) {
    memset(s, 0, sizeof *s);
    assert_true(t->n_blocks <= 16);
    if (t->n_blocks > 0) { /* an empty table may have no arrays yet */
        memcpy(s->blocks, t->blocks, (size_t)t->n_blocks * sizeof *t->blocks);
        memcpy(s->hashes, t->hashes, (size_t)t->n_blocks * sizeof *t->hashes);
    }
    s->n_blocks = t->n_blocks;
    s->n_tokens = t->n_tokens;
    ifn_kv_cache_get_stats(c, &s->stats);
}

static void assert_unchanged(const ifn_block_table *t, const ifn_kv_cache *c,
                             const table_snapshot *before) {
    table_snapshot now;
    take_snapshot(t, c, &now);
    assert_memory_equal(&now, before, sizeof now);
    assert_int_equal(ifn_kv_cache_validate(c), IFN_OK);
}

static void test_block_table_reserve_failure_leaves_table_and_cache_unchanged(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 5);
    int32_t tokens[32], other[8], found = -1;
    make_tokens(tokens, 32, 7);
    make_tokens(other, 8, 8);
    ifn_block_table a, b, cached;
    ifn_block_table_init(&a);
    ifn_block_table_init(&b);
    ifn_block_table_init(&cached);
    compute(c, &cached, other, 5); /* one full published block, then released: cached */
    ifn_block_table_clear(&cached, c);
    compute(c, &a, tokens, 6); /* 2 blocks, the second partial */
    assert_int_equal(ifn_block_table_fork(&a, c, &b), IFN_OK);
    assert_stats(c, 2, 2, 1);

    /* b needs a copy of the shared partial block plus 3 fresh blocks: 4 > 2 free + 1 cached. */
    table_snapshot before;
    take_snapshot(&b, c, &before);
    assert_int_equal(ifn_block_table_reserve(&b, c, 12), IFN_E_FULL);
    assert_unchanged(&b, c, &before);
    take_snapshot(&a, c, &before);
    assert_int_equal(ifn_block_table_reserve(&a, c, 14), IFN_E_FULL); /* 3 fresh + 1 copy */
    assert_unchanged(&a, c, &before);
    /* The cached block was not evicted by the failed calls. */
    uint64_t h = ifn_kv_cache_block_hash(c, 0, other);
    assert_int_equal(ifn_kv_cache_lookup(c, h, other, &found), 1);
    ifn_kv_cache_release(c, found);

    /* Exactly enough (copy + 2 fresh = 2 free + 1 cached) succeeds, evicting the cached block. */
    assert_int_equal(ifn_block_table_reserve(&b, c, 10), IFN_OK);
    assert_int_equal(b.n_blocks, 4);
    assert_stats(c, 5, 0, 0);
    ifn_block_table_clear(&a, c);
    ifn_block_table_clear(&b, c);
    ifn_block_table_deinit(&a);
    ifn_block_table_deinit(&b);
    ifn_block_table_deinit(&cached);
    assert_stats(c, 0, 4, 1);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_allocation_failure_changes_nothing(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 32);
    int32_t tokens[64];
    make_tokens(tokens, 64, 9);
    ifn_block_table a, b;
    ifn_block_table_init(&a);
    ifn_block_table_init(&b);
    table_snapshot before;
    take_snapshot(&a, c, &before);
    ifn_alloc_fail_after(1);
    ifn_status st = ifn_block_table_reserve(&a, c, 8);
    ifn_alloc_fail_after(0);
    assert_int_equal(st, IFN_E_NOMEM);
    assert_unchanged(&a, c, &before);

    compute(c, &a, tokens, 40);
    assert_int_equal(a.n_blocks, 10);
    take_snapshot(&a, c, &before);
    ifn_alloc_fail_after(1);
    assert_int_equal(ifn_block_table_fork(&a, c, &b), IFN_E_NOMEM);
    ifn_alloc_fail_after(0);
    assert_int_equal(b.n_blocks, 0);
    assert_int_equal(b.n_tokens, 0);
    assert_unchanged(&a, c, &before);

    /* A prefix match that cannot grow its arrays is a miss, not a leak. */
    ifn_alloc_fail_after(1);
    int32_t matched = ifn_block_table_match_prefix(&b, c, tokens, 64);
    ifn_alloc_fail_after(0);
    assert_int_equal(matched, 0);
    assert_int_equal(b.n_blocks, 0);
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.n_used, 10);
    assert_int_equal(ifn_block_table_match_prefix(&b, c, tokens, 64), 40);
    ifn_block_table_clear(&a, c);
    ifn_block_table_clear(&b, c);
    ifn_block_table_deinit(&a);
    ifn_block_table_deinit(&b);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_clear_lets_prefix_tails_be_evicted_first(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 4);
    int32_t tokens[13], x = -1, y = -1;
    make_tokens(tokens, 13, 10);
    ifn_block_table t;
    ifn_block_table_init(&t);
    compute(c, &t, tokens, 13); /* 3 full blocks and a partial one */
    int32_t tail = t.blocks[2];
    ifn_block_table_clear(&t, c);
    assert_stats(c, 0, 1, 3);
    assert_int_equal(ifn_kv_cache_alloc(c, &x), IFN_OK); /* the free (partial) block */
    assert_int_equal(ifn_kv_cache_alloc(c, &y), IFN_OK); /* evicts the prefix's last block */
    assert_int_equal(y, tail);
    assert_int_equal(ifn_block_table_match_prefix(&t, c, tokens, 13), 8);
    ifn_kv_cache_release(c, x);
    ifn_kv_cache_release(c, y);
    ifn_block_table_clear(&t, c);
    ifn_block_table_deinit(&t);
    ifn_kv_cache_destroy(c);
}

static void test_block_table_same_prefix_computed_twice_publishes_once(void **state) {
    (void)state;
    ifn_kv_cache *c = make_cache(4, 16);
    int32_t tokens[10];
    make_tokens(tokens, 10, 11);
    ifn_block_table a, b, d;
    ifn_block_table_init(&a);
    ifn_block_table_init(&b);
    ifn_block_table_init(&d);
    /* Both admitted before either computed anything: neither finds a prefix. */
    assert_int_equal(ifn_block_table_match_prefix(&a, c, tokens, 10), 0);
    assert_int_equal(ifn_block_table_match_prefix(&b, c, tokens, 10), 0);
    compute(c, &a, tokens, 10);
    compute(c, &b, tokens, 10);
    assert_hashes(c, &b, tokens); /* b's chain is right even though its blocks are unregistered */
    assert_int_equal(ifn_block_table_match_prefix(&d, c, tokens, 10), 8);
    assert_int_equal(d.blocks[0], a.blocks[0]);
    assert_int_equal(d.blocks[1], a.blocks[1]);
    ifn_block_table_clear(&a, c);
    ifn_block_table_clear(&b, c);
    ifn_block_table_clear(&d, c);
    assert_stats(c, 0, 14, 2);
    ifn_block_table_deinit(&a);
    ifn_block_table_deinit(&b);
    ifn_block_table_deinit(&d);
    ifn_kv_cache_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_table_reuses_992_positions_of_a_1000_token_prefix),
        cmocka_unit_test(test_block_table_fully_cached_prompt_leaves_one_token),
        cmocka_unit_test(test_block_table_reserve_and_commit_across_block_boundaries),
        cmocka_unit_test(test_block_table_fork_copies_shared_partial_block_on_write),
        cmocka_unit_test(test_block_table_fork_of_reserved_blocks_makes_them_private),
        cmocka_unit_test(test_block_table_reserve_failure_leaves_table_and_cache_unchanged),
        cmocka_unit_test(test_block_table_allocation_failure_changes_nothing),
        cmocka_unit_test(test_block_table_clear_lets_prefix_tails_be_evicted_first),
        cmocka_unit_test(test_block_table_same_prefix_computed_twice_publishes_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
