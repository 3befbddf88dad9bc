/* Pre-tokenizers for byte-level BPE: the table of `tokenizer.ggml.pre` names, each mapped to an
 * ordered list of PCRE2 regexes (UTF + Unicode properties, JIT when available) and to the
 * per-family switches that change tokenization or decoding. Splitting applies the regexes in
 * order, each one splitting the pieces left by the previous one; text a regex does not match
 * stays as a piece of its own. Invalid UTF-8 bytes become one-byte pieces no regex touches.
 * An ifn_pretok is immutable after creation: concurrent splits are safe. */
#ifndef IFN_TOKENIZER_PRETOK_H
#define IFN_TOKENIZER_PRETOK_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

/* Switches that come with a pre-tokenizer name (llama.cpp's per-family defaults). */
typedef struct ifn_pretok_info {
    const char *name;       /* canonical spelling of the name looked up (static storage) */
    int byte_encode;        /* 1: GPT-2 byte-to-unicode mapping; 0: raw UTF-8 pieces with
                               "<0xXX>" byte fallback (Gemma 4 style) */
    int escape_whitespaces; /* 1: spaces become U+2581 before splitting, and back on decoding */
    int ignore_merges;      /* 1: a pre-token that is itself a vocab token is emitted whole */
    int clean_spaces;       /* default of clean_up_tokenization_spaces for decoding */
    int add_bos;            /* -1: the BPE default; 0/1: this family's default */
    int add_sep;            /* 1: BERT-like models that append SEP (roberta-bpe, jina-v1-en) */
} ifn_pretok_info;

typedef struct ifn_pretok ifn_pretok;

/* A piece of the text: byte range [offset, offset + len) of the string given to the split. */
typedef struct ifn_pretok_piece {
    size_t offset;
    size_t len;
} ifn_pretok_piece;

/* A growable list of pieces owned by the caller (ifn_pretok_pieces_free). Zero-initialise. */
typedef struct ifn_pretok_pieces {
    ifn_pretok_piece *items;
    size_t count;
    size_t capacity;
} ifn_pretok_pieces;

/* Looks a name up without compiling anything. NULL and "" mean "default". IFN_E_UNSUPPORTED,
 * with the name in the message, when llama.cpp would reject it too. Thread-safe. */
ifn_status ifn_pretok_lookup(const char *name, ifn_pretok_info *out_info);

/* Compiles the regex list of `name` (as ifn_pretok_lookup resolves it). Errors:
 * IFN_E_UNSUPPORTED (unknown name), IFN_E_INTERNAL (a table regex PCRE2 rejects; a bug),
 * IFN_E_NOMEM. */
ifn_status ifn_pretok_create(const char *name, ifn_pretok **out_pretok);
void ifn_pretok_destroy(ifn_pretok *pretok);

/* Switches of this pre-tokenizer; the pointer lives as long as `pretok`. */
const ifn_pretok_info *ifn_pretok_get_info(const ifn_pretok *pretok);

/* Number of regexes applied in order (0 for none: the whole text is one piece). */
int ifn_pretok_regex_count(const ifn_pretok *pretok);

/* Replaces the contents of `out` with the pieces of text[0..len), in order, covering every byte
 * exactly once (no empty pieces). Fails only on memory (IFN_E_NOMEM); any content, including
 * invalid UTF-8, is split. */
ifn_status ifn_pretok_split(const ifn_pretok *pretok, const char *text, size_t len,
                            ifn_pretok_pieces *out);

void ifn_pretok_pieces_free(ifn_pretok_pieces *pieces);

/* Number of names in the table, and the name at `index` (for tests and diagnostics). */
int ifn_pretok_name_count(void);
const char *ifn_pretok_name_at(int index);

#endif
