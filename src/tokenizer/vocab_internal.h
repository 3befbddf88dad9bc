/* Private layout of ifn_vocab, shared by the files of the tokenizer module only: vocab.c builds
 * it, vocab_tokenize.c splits text on special tokens, spm.c reads scores and byte tokens.
 * Everything here is immutable once ifn_vocab_create returns. Not an API for other layers. */
#ifndef IFN_TOKENIZER_VOCAB_INTERNAL_H
#define IFN_TOKENIZER_VOCAB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/bpe.h"
#include "tokenizer/vocab.h"
#include "util/hashmap.h"

/* One node of the byte trie over special-token texts (control, user-defined, unknown). */
typedef struct ifn_vocab_trie_node {
    int32_t first_child;  /* node index or -1 */
    int32_t next_sibling; /* node index or -1 */
    int32_t rank;         /* index into special_ids of the token ending here, or -1 */
    unsigned char byte;
} ifn_vocab_trie_node;

struct ifn_vocab {
    ifn_vocab_kind kind;
    int32_t n_tokens;
    char *text_pool;       /* every token text, each followed by a NUL */
    ifn_str *texts;        /* [n_tokens] views into text_pool */
    float *scores;         /* [n_tokens] */
    unsigned char *types;  /* [n_tokens] ifn_token_type (after llama.cpp's control fix-ups) */
    unsigned char *eog;    /* [n_tokens] 1 = end of generation */
    ifn_hashmap *by_text;  /* text -> id; keys point into text_pool */
    size_t max_token_len;  /* bytes */
    int32_t byte_ids[256]; /* SPM byte fallback: <0xNN> (or the one-byte token), -1 if none */

    int32_t bos_id, eos_id, eot_id, unk_id, pad_id, sep_id, cls_id, mask_id;
    int add_bos, add_eos, add_space_prefix;
    int clean_spaces;        /* llama.cpp's detokenizer clean-up applies to this vocab */
    char *pre;               /* BPE pre-tokenizer name ("" = default) */
    ifn_bpe *bpe;            /* BPE only */
    uint64_t *spm_pair_bits; /* SPM only: Bloom filter of adjacent characters inside tokens */
    size_t spm_pair_mask;    /* filter size in bits - 1 (a power of two - 1) */

    /* Special tokens in llama.cpp's matching order: longest text first, then lowest id. */
    int32_t *special_ids;
    int32_t n_special;
    ifn_vocab_trie_node *trie; /* [n_trie]; children of the root are in trie_root */
    int32_t n_trie;
    int32_t trie_root[256]; /* first byte -> node index or -1 */
};

/* Fills spm_pair_bits (spm.c). */
ifn_status ifn_spm_index_pairs(ifn_vocab *vocab);

/* Builds special_ids and the trie from the final token types (vocab_tokenize.c). */
ifn_status ifn_vocab_tokenize_build_matcher(ifn_vocab *vocab);

#endif
