/* Byte-level BPE (GPT-2 family): regex pre-tokenization chosen by tokenizer.ggml.pre (PCRE2 with
 * Unicode properties), GPT-2 byte-to-unicode mapping, then merges by rank.
 * An ifn_bpe is immutable after creation: thread-safe for concurrent encodes (each call uses its
 * own PCRE2 match data). */
#ifndef IFN_TOKENIZER_BPE_H
#define IFN_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/vocab.h"

typedef struct ifn_bpe ifn_bpe;

/* Compiles the pre-tokenizer for `pre` (NULL/"" = "default") and indexes the merges (rank =
 * index; each "left right"). `vocab` is borrowed for lookups during later encodes and must
 * outlive the result. IFN_E_UNSUPPORTED names an unknown pre-tokenizer; IFN_E_FORMAT a merge
 * without a space. */
ifn_status ifn_bpe_create(const ifn_vocab *vocab, const char *pre, const ifn_str *merges,
                          int32_t n_merges, ifn_bpe **out_bpe);
void ifn_bpe_destroy(ifn_bpe *bpe);

/* Appends the ids of plain text (no special-token parsing; the caller splits those out). */
ifn_status ifn_bpe_encode(const ifn_bpe *bpe, const char *text, size_t len, ifn_token_vec *out);

/* Undoes the byte-to-unicode mapping of a token's stored text; writes up to cap bytes and the
 * full length to *out_len. Characters outside the mapping are copied as UTF-8. Cannot fail. */
void ifn_bpe_token_to_bytes(const char *token, size_t token_len, char *buf, size_t cap,
                            size_t *out_len);

#endif
