/* Block table: one sequence's positions mapped onto paged KV blocks. Invariants: blocks[i] holds
 * one reference for this table; hashes[i] is the chain hash of block i exactly when positions
 * [i * block_size, (i + 1) * block_size) are all committed, else 0; a block this table writes has
 * reference count 1 (reserve copies a shared one first). Scheduling policy lives elsewhere. */
#include "engine/block_table.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

#define MIN_CAPACITY 8

void ifn_block_table_init(ifn_block_table *table) {
    memset(table, 0, sizeof *table);
}

void ifn_block_table_clear(ifn_block_table *table, ifn_kv_cache *cache) {
    /* Last block first: released hashed blocks join the LRU list in this order, so a prefix's
     * tail is evicted before its head (a tail block is useless once its parent is gone). */
    for (int32_t i = table->n_blocks - 1; i >= 0; i--)
        ifn_kv_cache_release(cache, table->blocks[i]);
    table->n_blocks = 0;
    table->n_tokens = 0;
}

void ifn_block_table_deinit(ifn_block_table *table) {
    IFN_ASSERT(table->n_blocks == 0); /* blocks would leak their references */
    ifn_free(table->blocks);
    ifn_free(table->hashes);
    ifn_block_table_init(table);
}

int32_t ifn_block_table_blocks_for(const ifn_kv_cache *cache, int32_t n_tokens) {
    if (n_tokens <= 0) return 0;
    int64_t block_size = ifn_kv_cache_get_params(cache)->block_size;
    return (int32_t)(((int64_t)n_tokens + block_size - 1) / block_size);
}

/* Grows both arrays to hold at least n_blocks entries. The table's contents never change, even
 * when the second allocation fails. */
static ifn_status ensure_capacity(ifn_block_table *table, int32_t n_blocks) {
    if (n_blocks <= table->capacity) return IFN_OK;
    int64_t want = table->capacity > 0 ? (int64_t)table->capacity * 2 : MIN_CAPACITY;
    if (want < n_blocks) want = n_blocks;
    if (want > INT32_MAX) want = INT32_MAX;
    int32_t *blocks = ifn_realloc(table->blocks, (size_t)want * sizeof *blocks);
    if (!blocks) goto fail;
    table->blocks = blocks;
    uint64_t *hashes = ifn_realloc(table->hashes, (size_t)want * sizeof *hashes);
    if (!hashes) goto fail;
    table->hashes = hashes;
    table->capacity = (int32_t)want;
    return IFN_OK;
fail:
    return ifn_fail(IFN_E_NOMEM, "block_table: no memory for %d blocks", (int)want);
}

int32_t ifn_block_table_match_prefix(ifn_block_table *table, ifn_kv_cache *cache,
                                     const int32_t *tokens, int32_t n_tokens) {
    IFN_ASSERT(table->n_blocks == 0 && table->n_tokens == 0);
    int32_t block_size = ifn_kv_cache_get_params(cache)->block_size;
    if (n_tokens <= 1) return 0;
    /* Full blocks that still leave at least one token to compute. */
    int32_t n_candidates = (n_tokens - 1) / block_size;
    if (n_candidates == 0) return 0;
    if (ensure_capacity(table, n_candidates) != IFN_OK) return 0; /* a miss, not an error */
    uint64_t parent = 0;
    int32_t n = 0;
    for (; n < n_candidates; n++) {
        const int32_t *block_tokens = tokens + (size_t)n * (size_t)block_size;
        uint64_t hash = ifn_kv_cache_block_hash(cache, parent, block_tokens);
        if (!ifn_kv_cache_lookup(cache, hash, block_tokens, &table->blocks[n])) break;
        table->hashes[n] = hash;
        parent = hash;
    }
    table->n_blocks = n;
    table->n_tokens = n * block_size;
    return table->n_tokens;
}

/* Blocks in [first, end) that this table will write but shares with another table. */
static int32_t count_shared(const ifn_block_table *table, const ifn_kv_cache *cache, int32_t first,
                            int32_t end) {
    int32_t n = 0;
    for (int32_t i = first; i < end; i++)
        n += ifn_kv_cache_ref_count(cache, table->blocks[i]) > 1;
    return n;
}

/* Replaces every shared block in [first, end) by a private copy. The caller checked that
 * enough blocks are available, so allocation cannot fail here. */
static void unshare_blocks(ifn_block_table *table, ifn_kv_cache *cache, int32_t first,
                           int32_t end) {
    int32_t block_size = ifn_kv_cache_get_params(cache)->block_size;
    for (int32_t i = first; i < end; i++) {
        int32_t old = table->blocks[i];
        if (ifn_kv_cache_ref_count(cache, old) <= 1) continue;
        int32_t copy = -1;
        ifn_status st = ifn_kv_cache_alloc(cache, &copy);
        IFN_ASSERT(st == IFN_OK);
        /* Only a block holding committed positions has content worth copying; a block that was
         * reserved but not yet written (shared by a fork) just needs to be private. */
        if ((int64_t)i * block_size < table->n_tokens) ifn_kv_cache_copy_block(cache, copy, old);
        ifn_kv_cache_release(cache, old);
        table->blocks[i] = copy;
    }
}

ifn_status ifn_block_table_reserve(ifn_block_table *table, ifn_kv_cache *cache, int32_t n_new) {
    IFN_ASSERT(n_new >= 0);
    if (n_new == 0) return IFN_OK;
    if ((int64_t)table->n_tokens + n_new > INT32_MAX)
        return ifn_fail(IFN_E_INVALID, "block_table: %d + %d positions overflow",
                        (int)table->n_tokens, (int)n_new);
    int32_t block_size = ifn_kv_cache_get_params(cache)->block_size;
    int32_t n_needed = ifn_block_table_blocks_for(cache, table->n_tokens + n_new);
    int32_t first_written = table->n_tokens / block_size;
    int32_t end_existing = n_needed < table->n_blocks ? n_needed : table->n_blocks;
    int32_t n_fresh = n_needed > table->n_blocks ? n_needed - table->n_blocks : 0;
    int32_t n_copies = count_shared(table, cache, first_written, end_existing);

    /* All or nothing: check availability before taking anything, so a failure neither changes
     * the table nor evicts cached blocks. */
    ifn_kv_cache_stats stats;
    ifn_kv_cache_get_stats(cache, &stats);
    if ((int64_t)n_fresh + n_copies > (int64_t)stats.n_free + stats.n_cached)
        return ifn_fail(IFN_E_FULL, "block_table: need %d blocks, %d free and %d cached",
                        (int)(n_fresh + n_copies), (int)stats.n_free, (int)stats.n_cached);
    ifn_status st = ensure_capacity(table, n_needed);
    if (st != IFN_OK) return st;

    unshare_blocks(table, cache, first_written, end_existing);
    for (int32_t i = table->n_blocks; i < n_needed; i++) {
        st = ifn_kv_cache_alloc(cache, &table->blocks[i]);
        IFN_ASSERT(st == IFN_OK); /* availability was checked above */
        table->hashes[i] = 0;
    }
    if (n_needed > table->n_blocks) table->n_blocks = n_needed;
    return IFN_OK;
}

void ifn_block_table_commit(ifn_block_table *table, ifn_kv_cache *cache, const int32_t *tokens,
                            int32_t n_new) {
    int32_t block_size = ifn_kv_cache_get_params(cache)->block_size;
    IFN_ASSERT(n_new >= 0);
    IFN_ASSERT((int64_t)table->n_tokens + n_new <= (int64_t)table->n_blocks * block_size);
    if (n_new == 0) return;
    int32_t end_tokens = table->n_tokens + n_new;
    int32_t first = table->n_tokens / block_size;
    /* Blocks written by this step must be private (reserve guarantees it). */
    for (int32_t i = first; i < ifn_block_table_blocks_for(cache, end_tokens); i++)
        IFN_ASSERT(ifn_kv_cache_ref_count(cache, table->blocks[i]) == 1);
    for (int32_t i = first; i < end_tokens / block_size; i++) {
        uint64_t parent = i > 0 ? table->hashes[i - 1] : 0;
        IFN_ASSERT(i == 0 || parent != 0);
        const int32_t *block_tokens = tokens + (size_t)i * (size_t)block_size;
        table->hashes[i] = ifn_kv_cache_block_hash(cache, parent, block_tokens);
        /* A 0 return means another block already holds this prefix: this one stays private and
         * goes back to the free list when released. */
        (void)ifn_kv_cache_publish(cache, table->blocks[i], table->hashes[i], block_tokens);
    }
    table->n_tokens = end_tokens;
}

ifn_status ifn_block_table_fork(const ifn_block_table *src, ifn_kv_cache *cache,
                                ifn_block_table *dst) {
    IFN_ASSERT(dst->n_blocks == 0 && dst->n_tokens == 0);
    ifn_status st = ensure_capacity(dst, src->n_blocks);
    if (st != IFN_OK) return st;
    for (int32_t i = 0; i < src->n_blocks; i++) {
        ifn_kv_cache_retain(cache, src->blocks[i]);
        dst->blocks[i] = src->blocks[i];
        dst->hashes[i] = src->hashes[i];
    }
    dst->n_blocks = src->n_blocks;
    dst->n_tokens = src->n_tokens;
    return IFN_OK;
}
