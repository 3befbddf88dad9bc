/* WordPiece (BERT): basic tokenization (NFD + lowercase + accent stripping via utf8proc,
 * splitting on whitespace, punctuation and CJK characters), then greedy longest-match-first
 * over the vocabulary. GGUF stores word-initial pieces with a "▁" prefix and continuation
 * pieces without BERT's "##". Stateless apart from the vocab: thread-safe. */
#ifndef IFN_TOKENIZER_WPM_H
#define IFN_TOKENIZER_WPM_H

#include <stddef.h>

#include "tokenizer/vocab.h"

/* Appends the ids of plain text; a word with no match becomes the UNK id. */
ifn_status ifn_wpm_encode(const ifn_vocab *vocab, const char *text, size_t len, ifn_token_vec *out);

#endif
