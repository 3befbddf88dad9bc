/* Vocabulary and tokenizer front door: token texts, scores and attributes, special ids, and the
 * encode/decode entry points that dispatch to the algorithm (spm.c, bpe.c, wpm.c).
 * Built from plain arrays (ifn_vocab_params) so this layer knows no file format except
 * llama2.c's tokenizer.bin (llama2c_tokenizer.c); the engine fills the params from GGUF.
 * Immutable after creation: thread-safe for concurrent encode/decode. */
#ifndef IFN_TOKENIZER_VOCAB_H
#define IFN_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "util/str.h"

typedef enum ifn_vocab_kind {
    IFN_VOCAB_SPM = 0, /* tokenizer.ggml.model = "llama": SentencePiece BPE with byte fallback */
    IFN_VOCAB_BPE = 1, /* "gpt2": byte-level BPE with a regex pre-tokenizer */
    IFN_VOCAB_WPM = 2, /* "bert": WordPiece */
} ifn_vocab_kind;

/* GGUF tokenizer.ggml.token_type values. */
typedef enum ifn_token_type {
    IFN_TOKEN_TYPE_UNDEFINED = 0,
    IFN_TOKEN_TYPE_NORMAL = 1,
    IFN_TOKEN_TYPE_UNKNOWN = 2,
    IFN_TOKEN_TYPE_CONTROL = 3,
    IFN_TOKEN_TYPE_USER_DEFINED = 4,
    IFN_TOKEN_TYPE_UNUSED = 5,
    IFN_TOKEN_TYPE_BYTE = 6,
} ifn_token_type;

typedef struct ifn_vocab_params {
    ifn_vocab_kind kind;
    const char *pre;            /* tokenizer.ggml.pre for BPE; NULL or "" means "default" */
    int32_t n_tokens;
    const ifn_str *tokens;      /* [n_tokens], copied */
    const float *scores;        /* [n_tokens] or NULL (all 0) */
    const int32_t *token_types; /* [n_tokens] ifn_token_type or NULL (all NORMAL) */
    int32_t n_merges;
    const ifn_str *merges;      /* [n_merges] "left right", rank = index; BPE only */
    /* Special ids, -1 when absent. */
    int32_t bos_id, eos_id, eot_id, unk_id, pad_id, sep_id, cls_id, mask_id;
    /* -1 = the kind's default (SPM: add_bos 1, add_space_prefix 1; BPE: 0/0; WPM: 1/0). */
    int add_bos, add_eos, add_space_prefix;
} ifn_vocab_params;

typedef struct ifn_vocab ifn_vocab;

/* A growable list of token ids owned by the caller (ifn_token_vec_free). */
typedef struct ifn_token_vec {
    int32_t *ids;
    size_t count;
    size_t capacity;
} ifn_token_vec;

ifn_status ifn_token_vec_push(ifn_token_vec *vec, int32_t id);
void ifn_token_vec_free(ifn_token_vec *vec);

/* Sets every field to "absent/default" (-1, NULL, 0). */
void ifn_vocab_params_init(ifn_vocab_params *params);

/* Copies what it needs from params. IFN_E_INVALID for inconsistent params (special id out of
 * range, zero tokens), IFN_E_UNSUPPORTED for an unknown BPE pre-tokenizer name. */
ifn_status ifn_vocab_create(const ifn_vocab_params *params, ifn_vocab **out_vocab);
void ifn_vocab_destroy(ifn_vocab *vocab);

ifn_vocab_kind ifn_vocab_get_kind(const ifn_vocab *vocab);
int32_t ifn_vocab_size(const ifn_vocab *vocab);
int32_t ifn_vocab_bos(const ifn_vocab *vocab);
int32_t ifn_vocab_eos(const ifn_vocab *vocab);
int32_t ifn_vocab_eot(const ifn_vocab *vocab);
int32_t ifn_vocab_unk(const ifn_vocab *vocab);
int ifn_vocab_adds_bos(const ifn_vocab *vocab);
int ifn_vocab_adds_space_prefix(const ifn_vocab *vocab);
/* 1 if generation should stop at this id (EOS, EOT, and other end-of-generation tokens). */
int ifn_vocab_is_eog(const ifn_vocab *vocab, int32_t id);

/* Stored text of a token (as in the file, e.g. "▁the" or "Ġthe"); id must be in range. */
ifn_str ifn_vocab_token_text(const ifn_vocab *vocab, int32_t id);
float ifn_vocab_token_score(const ifn_vocab *vocab, int32_t id);
ifn_token_type ifn_vocab_token_type(const ifn_vocab *vocab, int32_t id);
/* Exact text lookup; -1 if no token has this text. */
int32_t ifn_vocab_find(const ifn_vocab *vocab, const char *text, size_t len);

typedef enum ifn_tokenize_flags {
    IFN_TOKENIZE_ADD_SPECIAL = 1,   /* add BOS/EOS (and CLS/SEP for WPM) as the metadata says */
    IFN_TOKENIZE_PARSE_SPECIAL = 2, /* text of control/user-defined tokens maps to those ids */
} ifn_tokenize_flags;

/* Appends the ids of text[0..len) to `out`. Invalid UTF-8 is tokenized through byte fallback
 * (SPM), as raw bytes (BPE) or as UNK (WPM); it never fails on content, only on memory. */
ifn_status ifn_vocab_tokenize(const ifn_vocab *vocab, const char *text, size_t len, int flags,
                              ifn_token_vec *out);

typedef enum ifn_detokenize_flags {
    IFN_DETOKENIZE_RENDER_SPECIAL = 1, /* emit the text of control tokens (else nothing) */
    IFN_DETOKENIZE_STRIP_LEADING = 2,  /* drop the space SPM's add_space_prefix added */
    /* ifn_vocab_detokenize only: llama.cpp's lossy clean-up (" ," -> ",", " 's" -> "'s", ...)
     * for vocabs that ask for it (BPE except some pre-tokenizers, WPM). */
    IFN_DETOKENIZE_CLEAN_SPACES = 4,
} ifn_detokenize_flags;

/* Bytes a token stands for (byte-fallback tokens give their byte, "▁" gives a space, BPE's
 * byte-to-unicode mapping is undone). Writes at most `cap` bytes and stores the full length in
 * *out_len (call again with a bigger buffer if *out_len > cap). */
ifn_status ifn_vocab_token_to_piece(const ifn_vocab *vocab, int32_t id, int flags, char *buf,
                                    size_t cap, size_t *out_len);

/* Decodes ids to text (malloc'd with ifn_malloc, NUL-terminated, caller frees with ifn_free).
 * Unknown ids are IFN_E_INVALID. */
ifn_status ifn_vocab_detokenize(const ifn_vocab *vocab, const int32_t *ids, size_t n_ids,
                                int flags, char **out_text, size_t *out_len);

/* Streaming detokenizer: feeds one id at a time and hands out only complete UTF-8, holding back
 * bytes of a character whose remaining bytes have not arrived yet. Owned by one thread. */
typedef struct ifn_detok_stream {
    const ifn_vocab *vocab;
    int flags;
    int is_first;      /* for IFN_DETOKENIZE_STRIP_LEADING */
    char pending[8];   /* incomplete UTF-8 tail */
    size_t pending_len;
} ifn_detok_stream;

void ifn_detok_stream_init(ifn_detok_stream *stream, const ifn_vocab *vocab, int flags);

/* Appends the text that became complete with `id` to buf (up to cap bytes; *out_len gets the
 * count). `cap` of 256 + token length always suffices. */
ifn_status ifn_detok_stream_push(ifn_detok_stream *stream, int32_t id, char *buf, size_t cap,
                                 size_t *out_len);

/* Flushes held-back bytes at the end of a stream (invalid leftovers are emitted as U+FFFD). */
size_t ifn_detok_stream_flush(ifn_detok_stream *stream, char *buf, size_t cap);

#endif
