/* Paged KV cache (vLLM's PagedAttention layout): fixed-size blocks of `block_size` positions,
 * a free list, and a prefix cache. A full block is identified by a hash chained over (parent
 * block's hash, its token ids, model id); a freed block that has such a hash stays cached and is
 * reused by any later sequence whose prefix matches, until memory is needed, when cached blocks
 * are evicted least-recently-used. Blocks are reference counted (sequences sharing a prefix,
 * n > 1 samples); a shared block is never written: writers copy it first (copy-on-write).
 *
 * Storage per layer: K and V arrays [n_blocks][block_size][kv_dim] of kv_type (F16 or F32).
 * Owned by the engine thread: not thread-safe. */
#ifndef IFN_ENGINE_KV_CACHE_H
#define IFN_ENGINE_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/dtype.h"

typedef struct ifn_kv_cache ifn_kv_cache;

typedef struct ifn_kv_cache_params {
    int32_t n_layer;
    int32_t kv_dim;      /* n_head_kv * head_dim */
    int32_t block_size;  /* positions per block (default 16) */
    int32_t n_blocks;    /* total blocks (memory = 2 * n_layer * n_blocks * block_size * kv_dim * elem) */
    ifn_dtype kv_type;   /* IFN_DTYPE_F16 (default) or IFN_DTYPE_F32 */
    uint64_t model_id;   /* mixed into block hashes so two models never share blocks */
} ifn_kv_cache_params;

typedef struct ifn_kv_cache_stats {
    int32_t n_blocks;     /* total */
    int32_t n_used;       /* referenced by at least one sequence */
    int32_t n_free;       /* never used or invalidated: no content worth keeping */
    int32_t n_cached;     /* unreferenced but holding a hashed full block (reusable) */
    int64_t prefix_queries; /* blocks looked up with ifn_kv_cache_lookup */
    int64_t prefix_hits;    /* of which found */
    int64_t evictions;      /* cached blocks reclaimed for new allocations */
} ifn_kv_cache_stats;

/* Blocks that fit in `bytes` of KV memory for these shapes (0 if none). Cannot fail. */
int32_t ifn_kv_cache_blocks_for_bytes(const ifn_kv_cache_params *params, size_t bytes);

/* Allocates the storage (64-byte aligned). Errors: IFN_E_INVALID (non-positive sizes, kv_type
 * not F16/F32), IFN_E_NOMEM. */
ifn_status ifn_kv_cache_create(const ifn_kv_cache_params *params, ifn_kv_cache **out_cache);
void ifn_kv_cache_destroy(ifn_kv_cache *cache);

const ifn_kv_cache_params *ifn_kv_cache_get_params(const ifn_kv_cache *cache);
size_t ifn_kv_cache_row_bytes(const ifn_kv_cache *cache); /* kv_dim * element size */

/* Start of block `block`'s K (or V) rows in layer `layer`: [block_size][kv_dim]. */
void *ifn_kv_cache_k(ifn_kv_cache *cache, int32_t layer, int32_t block);
void *ifn_kv_cache_v(ifn_kv_cache *cache, int32_t layer, int32_t block);

/* Takes a block for writing with reference count 1: from the free list, else by evicting the
 * least recently used cached block (its hash is forgotten). IFN_E_FULL when every block is in
 * use (the caller preempts a sequence and retries). */
ifn_status ifn_kv_cache_alloc(ifn_kv_cache *cache, int32_t *out_block);

/* Reference counting. Dropping the last reference moves a hashed block to the cached LRU list
 * (most recently used end) and an unhashed one to the free list. */
void ifn_kv_cache_retain(ifn_kv_cache *cache, int32_t block);
void ifn_kv_cache_release(ifn_kv_cache *cache, int32_t block);
int32_t ifn_kv_cache_ref_count(const ifn_kv_cache *cache, int32_t block);

/* Hash of a full block: chained over the parent block's hash (0 for the first block), the
 * block's block_size token ids and the model id. Cannot fail. */
uint64_t ifn_kv_cache_block_hash(const ifn_kv_cache *cache, uint64_t parent_hash,
                                 const int32_t *tokens);

/* Looks up a full block by hash and token ids (ids are compared too, so a hash collision can
 * never return wrong content). On a hit the block gains a reference (leaving the cached list if
 * it was there) and *out_block is set; returns 1. Returns 0 on a miss. Counts a query. */
int ifn_kv_cache_lookup(ifn_kv_cache *cache, uint64_t hash, const int32_t *tokens,
                        int32_t *out_block);

/* Registers a block its owner has just filled completely, so later lookups find it. If another
 * block already holds this hash the registration is skipped (returns 0), else returns 1. */
int ifn_kv_cache_publish(ifn_kv_cache *cache, int32_t block, uint64_t hash, const int32_t *tokens);

/* Copies all layers' K and V of block `src` into block `dst` (copy-on-write). */
void ifn_kv_cache_copy_block(ifn_kv_cache *cache, int32_t dst, int32_t src);

void ifn_kv_cache_get_stats(const ifn_kv_cache *cache, ifn_kv_cache_stats *out_stats);

/* Test and debug aid, O(n_blocks): checks that every block is in exactly one of {used (ref > 0),
 * free list, cached LRU list}, that both lists are well linked, that the counters agree, and that
 * the hash index holds exactly the hashed blocks. IFN_OK, or IFN_E_INTERNAL with the first broken
 * invariant in the message. Does not modify the cache. */
ifn_status ifn_kv_cache_validate(const ifn_kv_cache *cache);

#endif
