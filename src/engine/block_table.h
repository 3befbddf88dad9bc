/* A sequence's view of the paged KV cache: the blocks holding its positions 0..n_tokens-1 in
 * order, and the chain hash of each full block. Handles prefix reuse at admission, block
 * reservation before a forward pass (with copy-on-write of a shared last block), publishing
 * blocks that became full, and forking for n > 1 samples. Owned by the engine thread. */
#ifndef IFN_ENGINE_BLOCK_TABLE_H
#define IFN_ENGINE_BLOCK_TABLE_H

#include <stdint.h>

#include "engine/kv_cache.h"

typedef struct ifn_block_table {
    int32_t *blocks;   /* [n_blocks] block ids; position p lives in blocks[p / block_size] */
    uint64_t *hashes;  /* [n_blocks] chain hash of each full block, 0 while not full */
    int32_t n_blocks;
    int32_t capacity;
    int32_t n_tokens;  /* positions whose K/V are written */
} ifn_block_table;

void ifn_block_table_init(ifn_block_table *table);

/* Releases every block (cached ones stay in the prefix cache) and empties the table. */
void ifn_block_table_clear(ifn_block_table *table, ifn_kv_cache *cache);

/* Frees the arrays; call ifn_block_table_clear first if it still holds blocks. */
void ifn_block_table_deinit(ifn_block_table *table);

/* On an empty table: reuses cached full blocks matching the start of tokens[0..n_tokens) and
 * returns the number of positions covered (a multiple of block_size). At least one token is
 * always left to compute (a prompt that is entirely cached keeps its last block uncached), so
 * the caller gets logits. Cannot fail (a miss just covers fewer positions). */
int32_t ifn_block_table_match_prefix(ifn_block_table *table, ifn_kv_cache *cache,
                                     const int32_t *tokens, int32_t n_tokens);

/* Makes positions [n_tokens, n_tokens + n_new) writable: allocates blocks as needed and copies a
 * shared (ref count > 1) last partial block first. IFN_E_FULL if the cache runs out of blocks;
 * the table is then unchanged (blocks taken during the call are given back). IFN_E_NOMEM. */
ifn_status ifn_block_table_reserve(ifn_block_table *table, ifn_kv_cache *cache, int32_t n_new);

/* Records that positions [n_tokens, n_tokens + n_new) were written; `tokens` holds the whole
 * sequence so far (at least n_tokens + n_new ids). Blocks that became full get their chain hash
 * and are published to the prefix cache. */
void ifn_block_table_commit(ifn_block_table *table, ifn_kv_cache *cache, const int32_t *tokens,
                            int32_t n_new);

/* Makes `dst` (initialised, empty) share all of src's blocks (each gains a reference).
 * IFN_E_NOMEM. */
ifn_status ifn_block_table_fork(const ifn_block_table *src, ifn_kv_cache *cache,
                                ifn_block_table *dst);

/* Blocks needed to hold n_tokens positions. */
int32_t ifn_block_table_blocks_for(const ifn_kv_cache *cache, int32_t n_tokens);

#endif
