/* How much memory a model will take once served, estimated from its file header before loading,
 * so the manager can keep the sum under its budget without loading anything to find out. The
 * estimate is an upper bound by construction: weights as stored (converted ones at their
 * converted size), the KV cache exactly as the engine will be told to allocate it, and a
 * conservative formula for the rest. It reads headers only; it loads nothing. */
#ifndef IFN_MANAGER_FOOTPRINT_H
#define IFN_MANAGER_FOOTPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "inferneo/status.h"

typedef struct ifn_footprint {
    size_t weights_bytes; /* tensor data: mapped from the file, or converted (llama2.c v2) */
    size_t kv_bytes;      /* the KV cache: what to pass as ifn_engine_params.kv_cache_bytes */
    size_t scratch_bytes; /* forward buffers (with the engine's private single-sequence cache),
                             logits, tokenizer and template, per-sequence sampler state */
    size_t total_bytes;   /* the sum of the three */
    int32_t n_ctx;        /* positions per sequence the engine will use */
} ifn_footprint;

/* Estimates the footprint of serving model_path (GGUF or llama2.c checkpoint; tokenizer_path is
 * the llama2.c tokenizer, NULL for GGUF) with `engine` params, whose n_threads must be the
 * compute pool's size. The KV cache is engine->kv_cache_bytes when set; otherwise, like the
 * engine, max_num_seqs full contexts, but capped at `kv_cap_bytes` (a number the caller fixes,
 * where the engine would read the machine's free memory at start) so the estimate is
 * deterministic. Errors: IFN_E_IO, IFN_E_FORMAT (the header cannot be read; message names the
 * file), IFN_E_INVALID (params), IFN_E_NOMEM. */
ifn_status ifn_footprint_estimate(const char *model_path, const char *tokenizer_path,
                                  const ifn_engine_params *engine, size_t kv_cap_bytes,
                                  ifn_footprint *out);

#endif
