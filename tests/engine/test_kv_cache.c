/* Paged KV cache tests: parameter checks, storage layout, the free list, prefix lookups of
 * cached blocks, LRU eviction order, token verification under forced hash collisions, model id
 * in the hash, copy-on-write copies, stats, IFN_E_FULL and blocks_for_bytes. Every test also
 * checks the cache's own invariants (ifn_kv_cache_validate) as it goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/kv_cache.h"
#include "util/alloc.h"

static ifn_kv_cache_params small_params(int32_t n_blocks) {
    ifn_kv_cache_params p = {0};
    p.n_layer = 2;
    p.kv_dim = 8;
    p.block_size = 4;
    p.n_blocks = n_blocks;
    p.kv_type = IFN_DTYPE_F16;
    p.model_id = 7;
    return p;
}

static ifn_kv_cache *make_cache(const ifn_kv_cache_params *p) {
    ifn_kv_cache *c = NULL;
    assert_int_equal(ifn_kv_cache_create(p, &c), IFN_OK);
    assert_non_null(c);
    return c;
}

static void assert_valid(const ifn_kv_cache *c) {
    assert_int_equal(ifn_kv_cache_validate(c), IFN_OK);
}

static void assert_counts(const ifn_kv_cache *c, int32_t used, int32_t n_free, int32_t cached) {
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.n_used, used);
    assert_int_equal(s.n_free, n_free);
    assert_int_equal(s.n_cached, cached);
    assert_int_equal(s.n_used + s.n_free + s.n_cached, s.n_blocks);
    assert_valid(c);
}

static int32_t alloc_one(ifn_kv_cache *c) {
    int32_t b = -1;
    assert_int_equal(ifn_kv_cache_alloc(c, &b), IFN_OK);
    assert_int_equal(ifn_kv_cache_ref_count(c, b), 1);
    return b;
}

/* Block tokens {seed, seed + 1, ...} for block_size 4. */
static void fill_tokens(int32_t *tokens, int32_t seed) {
    for (int32_t i = 0; i < 4; i++)
        tokens[i] = seed + i;
}

static void test_kv_cache_create_rejects_bad_params(void **state) {
    (void)state;
    ifn_kv_cache *c = NULL;
    assert_int_equal(ifn_kv_cache_create(NULL, &c), IFN_E_INVALID);
    ifn_kv_cache_params p = small_params(4);
    p.n_layer = 0;
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_E_INVALID);
    p = small_params(0);
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_E_INVALID);
    p = small_params(4);
    p.block_size = -1;
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_E_INVALID);
    p = small_params(4);
    p.kv_type = IFN_DTYPE_Q8_0;
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_E_INVALID);
    /* 2 * 2^31 layers * 2^31 blocks * 2^31 positions * 2^31 dims overflows size_t. */
    p.kv_type = IFN_DTYPE_F32;
    p.n_layer = p.kv_dim = p.block_size = p.n_blocks = INT32_MAX;
    assert_int_equal(ifn_kv_cache_create(&p, &c), IFN_E_INVALID);
    assert_null(c);
}

static void test_kv_cache_create_survives_allocation_failures(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(16);
    size_t live_before = ifn_alloc_live_bytes();
    int n_failed = 0;
    for (int64_t nth = 1; nth < 64; nth++) {
        ifn_kv_cache *c = NULL;
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_kv_cache_create(&p, &c);
        ifn_alloc_fail_after(0);
        if (st == IFN_OK) {
            assert_valid(c);
            ifn_kv_cache_destroy(c);
            break;
        }
        assert_int_equal(st, IFN_E_NOMEM);
        assert_null(c);
        assert_int_equal(ifn_alloc_live_bytes(), live_before);
        n_failed++;
    }
    assert_true(n_failed > 2);
    assert_int_equal(ifn_alloc_live_bytes(), live_before);
    ifn_kv_cache_destroy(NULL);
}

static void test_kv_cache_storage_layout_is_aligned_and_contiguous(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(5);
    p.kv_dim = 3; /* odd row size: arrays are padded to 64 bytes, blocks stay contiguous */
    ifn_kv_cache *c = make_cache(&p);
    size_t row = ifn_kv_cache_row_bytes(c);
    assert_int_equal(row, 3 * 2);
    assert_int_equal(ifn_kv_cache_get_params(c)->n_blocks, 5);
    for (int32_t layer = 0; layer < p.n_layer; layer++) {
        unsigned char *k0 = ifn_kv_cache_k(c, layer, 0);
        unsigned char *v0 = ifn_kv_cache_v(c, layer, 0);
        assert_int_equal((uintptr_t)k0 % 64, 0);
        assert_int_equal((uintptr_t)v0 % 64, 0);
        assert_ptr_not_equal(k0, v0);
        for (int32_t b = 0; b < p.n_blocks; b++) {
            unsigned char *k = ifn_kv_cache_k(c, layer, b);
            unsigned char *v = ifn_kv_cache_v(c, layer, b);
            assert_ptr_equal(k, k0 + (size_t)b * (size_t)p.block_size * row);
            assert_ptr_equal(v, v0 + (size_t)b * (size_t)p.block_size * row);
            /* Writing whole blocks stays inside the allocation (ASan checks the bounds). */
            memset(k, 0xab, (size_t)p.block_size * row);
            memset(v, 0xcd, (size_t)p.block_size * row);
        }
    }
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_alloc_and_release_use_the_free_list(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(4);
    ifn_kv_cache *c = make_cache(&p);
    assert_counts(c, 0, 4, 0);
    int32_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = alloc_one(c);
    for (int i = 0; i < 4; i++)
        assert_int_equal(b[i], i); /* fresh cache hands out 0, 1, ... */
    assert_counts(c, 4, 0, 0);
    ifn_kv_cache_release(c, b[2]);
    assert_int_equal(ifn_kv_cache_ref_count(c, b[2]), 0);
    assert_counts(c, 3, 1, 0);
    assert_int_equal(alloc_one(c), b[2]); /* the freed block is reused */
    ifn_kv_cache_retain(c, b[1]);
    assert_int_equal(ifn_kv_cache_ref_count(c, b[1]), 2);
    ifn_kv_cache_release(c, b[1]);
    assert_counts(c, 4, 0, 0); /* still referenced once */
    for (int i = 0; i < 4; i++)
        ifn_kv_cache_release(c, b[i]);
    assert_counts(c, 0, 4, 0);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_full_when_every_block_is_referenced(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(3);
    ifn_kv_cache *c = make_cache(&p);
    int32_t tokens[4], b[3], extra = -1;
    for (int i = 0; i < 3; i++) {
        b[i] = alloc_one(c);
        fill_tokens(tokens, 10 * i);
        assert_int_equal(ifn_kv_cache_publish(c, b[i], 100u + (uint64_t)i, tokens), 1);
    }
    /* Hashed but referenced blocks are not evictable. */
    assert_int_equal(ifn_kv_cache_alloc(c, &extra), IFN_E_FULL);
    assert_int_equal(extra, -1);
    assert_counts(c, 3, 0, 0);
    ifn_kv_cache_release(c, b[1]);
    assert_counts(c, 2, 0, 1);
    assert_int_equal(alloc_one(c), b[1]); /* evicted */
    assert_int_equal(ifn_kv_cache_alloc(c, &extra), IFN_E_FULL);
    for (int i = 0; i < 3; i++)
        ifn_kv_cache_release(c, b[i]);
    assert_counts(c, 0, 1, 2); /* b[1] lost its hash on eviction */
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_lookup_reuses_cached_block_after_release(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(4);
    ifn_kv_cache *c = make_cache(&p);
    int32_t tokens[4], found = -1;
    fill_tokens(tokens, 5);
    uint64_t h = ifn_kv_cache_block_hash(c, 0, tokens);
    assert_int_equal(ifn_kv_cache_lookup(c, h, tokens, &found), 0);
    int32_t b = alloc_one(c);
    assert_int_equal(ifn_kv_cache_publish(c, b, h, tokens), 1);
    /* While the owner holds it, a lookup shares it. */
    assert_int_equal(ifn_kv_cache_lookup(c, h, tokens, &found), 1);
    assert_int_equal(found, b);
    assert_int_equal(ifn_kv_cache_ref_count(c, b), 2);
    ifn_kv_cache_release(c, b);
    ifn_kv_cache_release(c, b);
    assert_counts(c, 0, 3, 1);
    /* Unreferenced, it stays cached, and a later lookup takes it back without copying. */
    found = -1;
    assert_int_equal(ifn_kv_cache_lookup(c, h, tokens, &found), 1);
    assert_int_equal(found, b);
    assert_int_equal(ifn_kv_cache_ref_count(c, b), 1);
    assert_counts(c, 1, 3, 0);
    /* Publishing the same block under the same hash again is harmless. */
    assert_int_equal(ifn_kv_cache_publish(c, b, h, tokens), 1);
    ifn_kv_cache_release(c, b);
    assert_counts(c, 0, 3, 1);
    ifn_kv_cache_destroy(c);
}

/* Publishes and releases blocks 0..3 (all of a 4-block cache) in the order given, so the LRU list
 * holds them in that order. Returns their hashes in hashes[block]. */
static void cache_all_in_order(ifn_kv_cache *c, const int32_t *order, uint64_t *hashes,
                               int32_t tokens[4][4]) {
    int32_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = alloc_one(c);
        fill_tokens(tokens[b[i]], 100 * (b[i] + 1));
        hashes[b[i]] = ifn_kv_cache_block_hash(c, 0, tokens[b[i]]);
        assert_int_equal(ifn_kv_cache_publish(c, b[i], hashes[b[i]], tokens[b[i]]), 1);
    }
    for (int i = 0; i < 4; i++)
        ifn_kv_cache_release(c, order[i]);
    assert_counts(c, 0, 0, 4);
}

static void test_kv_cache_evicts_least_recently_used_first(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(4);
    ifn_kv_cache *c = make_cache(&p);
    int32_t tokens[4][4], found = -1;
    uint64_t hashes[4];
    const int32_t order[4] = {2, 0, 3, 1};
    cache_all_in_order(c, order, hashes, tokens);
    /* Touch block 0: it leaves the LRU list and comes back at the most recent end. */
    assert_int_equal(ifn_kv_cache_lookup(c, hashes[0], tokens[0], &found), 1);
    assert_int_equal(found, 0);
    ifn_kv_cache_release(c, 0);
    /* LRU order is now 2, 3, 1, 0. */
    const int32_t expect[4] = {2, 3, 1, 0};
    int32_t got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = alloc_one(c);
        assert_int_equal(got[i], expect[i]);
        assert_int_equal(ifn_kv_cache_lookup(c, hashes[expect[i]], tokens[expect[i]], &found), 0);
        assert_valid(c);
    }
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.evictions, 4);
    for (int i = 0; i < 4; i++)
        ifn_kv_cache_release(c, got[i]);
    assert_counts(c, 0, 4, 0); /* evicted blocks are plain free blocks now */
    ifn_kv_cache_destroy(c);
}

/* Many publish/evict rounds: deleting from the hash index must keep every remaining entry
 * reachable (validate checks each one), and the surviving blocks stay findable. */
static void test_kv_cache_index_survives_eviction_churn(void **state) {
    (void)state;
    enum { N = 64, HALF = N / 2, ROUNDS = 40 };
    ifn_kv_cache_params p = small_params(N);
    ifn_kv_cache *c = make_cache(&p);
    static int32_t tokens[ROUNDS * HALF][4];
    int32_t published = 0, found = -1, b[HALF];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < HALF; i++) {
            b[i] = alloc_one(c); /* from round 2 on, evicts the oldest round's blocks */
            fill_tokens(tokens[published], 1000 * published);
            uint64_t h = ifn_kv_cache_block_hash(c, 0, tokens[published]);
            assert_int_equal(ifn_kv_cache_publish(c, b[i], h, tokens[published]), 1);
            published++;
        }
        for (int i = 0; i < HALF; i++)
            ifn_kv_cache_release(c, b[i]);
        assert_valid(c);
        /* The last two rounds are cached; look them up oldest first so LRU order is kept. */
        int32_t first = published > N ? published - N : 0;
        for (int32_t k = first; k < published; k++) {
            uint64_t h = ifn_kv_cache_block_hash(c, 0, tokens[k]);
            assert_int_equal(ifn_kv_cache_lookup(c, h, tokens[k], &found), 1);
            ifn_kv_cache_release(c, found);
        }
        if (first > 0) {
            uint64_t h = ifn_kv_cache_block_hash(c, 0, tokens[first - 1]);
            assert_int_equal(ifn_kv_cache_lookup(c, h, tokens[first - 1], &found), 0);
        }
    }
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.evictions, (ROUNDS - 2) * HALF);
    assert_counts(c, 0, 0, N);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_prefers_free_blocks_over_cached(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(3);
    ifn_kv_cache *c = make_cache(&p);
    int32_t tokens[4], found = -1;
    fill_tokens(tokens, 1);
    int32_t b = alloc_one(c);
    uint64_t h = ifn_kv_cache_block_hash(c, 0, tokens);
    assert_int_equal(ifn_kv_cache_publish(c, b, h, tokens), 1);
    ifn_kv_cache_release(c, b);
    int32_t x = alloc_one(c), y = alloc_one(c);
    assert_true(x != b && y != b);
    assert_int_equal(ifn_kv_cache_lookup(c, h, tokens, &found), 1); /* not evicted */
    assert_int_equal(found, b);
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.evictions, 0);
    ifn_kv_cache_release(c, b);
    ifn_kv_cache_release(c, x);
    ifn_kv_cache_release(c, y);
    assert_counts(c, 0, 2, 1);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_lookup_verifies_tokens_on_hash_collision(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(4);
    ifn_kv_cache *c = make_cache(&p);
    int32_t t1[4] = {1, 2, 3, 4}, t2[4] = {1, 2, 3, 5}, found = -1;
    const uint64_t forced = 42; /* both blocks claim the same hash */
    int32_t a = alloc_one(c), b = alloc_one(c);
    assert_int_equal(ifn_kv_cache_publish(c, a, forced, t1), 1);
    assert_int_equal(ifn_kv_cache_publish(c, b, forced, t2), 0); /* skipped: hash taken */
    assert_int_equal(ifn_kv_cache_lookup(c, forced, t2, &found), 0);
    assert_int_equal(found, -1);
    assert_int_equal(ifn_kv_cache_lookup(c, forced, t1, &found), 1);
    assert_int_equal(found, a);
    ifn_kv_cache_release(c, a);
    ifn_kv_cache_release(c, a);
    ifn_kv_cache_release(c, b);
    assert_counts(c, 0, 3, 1); /* the unregistered block is plainly free */
    /* Still not aliased once a is only cached. */
    assert_int_equal(ifn_kv_cache_lookup(c, forced, t2, &found), 0);
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.prefix_queries, 3);
    assert_int_equal(s.prefix_hits, 1);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_block_hash_chains_parent_tokens_and_model(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(2);
    ifn_kv_cache *c = make_cache(&p);
    ifn_kv_cache *same = make_cache(&p);
    p.model_id = 8;
    ifn_kv_cache *other = make_cache(&p);
    int32_t t[4] = {9, 8, 7, 6}, u[4] = {9, 8, 7, 6};
    uint64_t h = ifn_kv_cache_block_hash(c, 0, t);
    assert_int_not_equal(h, 0);
    assert_int_equal(ifn_kv_cache_block_hash(same, 0, u), h); /* deterministic */
    assert_int_not_equal(ifn_kv_cache_block_hash(other, 0, t), h);
    assert_int_not_equal(ifn_kv_cache_block_hash(c, 1, t), h);
    assert_int_not_equal(ifn_kv_cache_block_hash(c, h, t), ifn_kv_cache_block_hash(c, h + 1, t));
    for (int i = 0; i < 4; i++) {
        u[i] ^= 1;
        assert_int_not_equal(ifn_kv_cache_block_hash(c, 0, u), h);
        u[i] ^= 1;
    }
    /* Order matters: a swapped pair is a different block. */
    int32_t swapped[4] = {8, 9, 7, 6};
    assert_int_not_equal(ifn_kv_cache_block_hash(c, 0, swapped), h);
    /* A block published under one model is invisible to another model's lookups. */
    int32_t b = alloc_one(c), found = -1;
    assert_int_equal(ifn_kv_cache_publish(c, b, h, t), 1);
    assert_int_equal(ifn_kv_cache_lookup(c, ifn_kv_cache_block_hash(other, 0, t), t, &found), 0);
    ifn_kv_cache_release(c, b);
    ifn_kv_cache_destroy(c);
    ifn_kv_cache_destroy(same);
    ifn_kv_cache_destroy(other);
}

static void test_kv_cache_copy_block_copies_every_layer_k_and_v(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(3);
    p.n_layer = 3;
    p.kv_type = IFN_DTYPE_F32;
    ifn_kv_cache *c = make_cache(&p);
    int32_t src = alloc_one(c), dst = alloc_one(c), bystander = alloc_one(c);
    size_t n = (size_t)p.block_size * (size_t)p.kv_dim;
    for (int32_t layer = 0; layer < p.n_layer; layer++) {
        float *ks = ifn_kv_cache_k(c, layer, src), *vs = ifn_kv_cache_v(c, layer, src);
        for (size_t i = 0; i < n; i++) {
            ks[i] = (float)(1000 * layer + (int)i);
            vs[i] = (float)(-1000 * layer - (int)i);
        }
        memset(ifn_kv_cache_k(c, layer, dst), 0, n * sizeof(float));
        memset(ifn_kv_cache_v(c, layer, dst), 0, n * sizeof(float));
        memset(ifn_kv_cache_k(c, layer, bystander), 0x11, n * sizeof(float));
        memset(ifn_kv_cache_v(c, layer, bystander), 0x11, n * sizeof(float));
    }
    ifn_kv_cache_copy_block(c, dst, src);
    unsigned char sentinel[4 * 8 * sizeof(float)];
    assert_true(sizeof sentinel == n * sizeof(float));
    memset(sentinel, 0x11, sizeof sentinel);
    for (int32_t layer = 0; layer < p.n_layer; layer++) {
        assert_memory_equal(ifn_kv_cache_k(c, layer, dst), ifn_kv_cache_k(c, layer, src),
                            n * sizeof(float));
        assert_memory_equal(ifn_kv_cache_v(c, layer, dst), ifn_kv_cache_v(c, layer, src),
                            n * sizeof(float));
        assert_memory_equal(ifn_kv_cache_k(c, layer, bystander), sentinel, sizeof sentinel);
        assert_memory_equal(ifn_kv_cache_v(c, layer, bystander), sentinel, sizeof sentinel);
    }
    ifn_kv_cache_release(c, src);
    ifn_kv_cache_release(c, dst);
    ifn_kv_cache_release(c, bystander);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_stats_count_queries_hits_and_evictions(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(2);
    ifn_kv_cache *c = make_cache(&p);
    int32_t t[2][4], found;
    uint64_t h[2];
    for (int i = 0; i < 2; i++) {
        int32_t b = alloc_one(c);
        fill_tokens(t[i], 50 * i);
        h[i] = ifn_kv_cache_block_hash(c, 0, t[i]);
        assert_int_equal(ifn_kv_cache_publish(c, b, h[i], t[i]), 1);
        ifn_kv_cache_release(c, b);
    }
    for (int round = 0; round < 3; round++) {
        assert_int_equal(ifn_kv_cache_lookup(c, h[1], t[1], &found), 1);
        ifn_kv_cache_release(c, found);
    }
    int32_t b = alloc_one(c); /* evicts h[0]'s block, the least recently used */
    assert_int_equal(ifn_kv_cache_lookup(c, h[0], t[0], &found), 0);
    ifn_kv_cache_stats s;
    ifn_kv_cache_get_stats(c, &s);
    assert_int_equal(s.n_blocks, 2);
    assert_int_equal(s.prefix_queries, 4);
    assert_int_equal(s.prefix_hits, 3);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.n_used, 1);
    assert_int_equal(s.n_cached, 1);
    assert_int_equal(s.n_free, 0);
    ifn_kv_cache_release(c, b);
    ifn_kv_cache_destroy(c);
}

static void test_kv_cache_blocks_for_bytes(void **state) {
    (void)state;
    ifn_kv_cache_params p = small_params(0);
    p.block_size = 16; /* one block: 2 (K, V) * 2 layers * 16 * 8 * 2 bytes = 1024 bytes */
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 10 * 1024), 10);
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 10 * 1024 + 1023), 10);
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 1023), 0);
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 0), 0);
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, SIZE_MAX), INT32_MAX);
    p.kv_type = IFN_DTYPE_F32;
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 10 * 1024), 5);
    p.kv_type = IFN_DTYPE_Q4_0;
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&p, 10 * 1024), 0);
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(NULL, 10 * 1024), 0);
    /* Tiny odd rows: every array is padded to 64 bytes, and the answer accounts for that. */
    ifn_kv_cache_params q = {.n_layer = 1, .kv_dim = 3, .block_size = 1, .kv_type = IFN_DTYPE_F16};
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&q, 128), 10); /* 2 arrays of 60 -> 64 */
    assert_int_equal(ifn_kv_cache_blocks_for_bytes(&q, 127), 0);
    /* A cache of that many blocks fits the budget. */
    p.kv_type = IFN_DTYPE_F16;
    p.n_blocks = ifn_kv_cache_blocks_for_bytes(&p, 64 * 1024);
    assert_int_equal(p.n_blocks, 64);
    size_t live_before = ifn_alloc_live_bytes();
    ifn_kv_cache *c = make_cache(&p);
    assert_true(ifn_alloc_live_bytes() - live_before >= 64 * 1024);
    ifn_kv_cache_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_cache_create_rejects_bad_params),
        cmocka_unit_test(test_kv_cache_create_survives_allocation_failures),
        cmocka_unit_test(test_kv_cache_storage_layout_is_aligned_and_contiguous),
        cmocka_unit_test(test_kv_cache_alloc_and_release_use_the_free_list),
        cmocka_unit_test(test_kv_cache_full_when_every_block_is_referenced),
        cmocka_unit_test(test_kv_cache_lookup_reuses_cached_block_after_release),
        cmocka_unit_test(test_kv_cache_evicts_least_recently_used_first),
        cmocka_unit_test(test_kv_cache_index_survives_eviction_churn),
        cmocka_unit_test(test_kv_cache_prefers_free_blocks_over_cached),
        cmocka_unit_test(test_kv_cache_lookup_verifies_tokens_on_hash_collision),
        cmocka_unit_test(test_kv_cache_block_hash_chains_parent_tokens_and_model),
        cmocka_unit_test(test_kv_cache_copy_block_copies_every_layer_k_and_v),
        cmocka_unit_test(test_kv_cache_stats_count_queries_hits_and_evictions),
        cmocka_unit_test(test_kv_cache_blocks_for_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
