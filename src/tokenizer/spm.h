/* SentencePiece-style BPE (llama): symbols are UTF-8 characters, adjacent pairs merge by the
 * highest vocabulary score (leftmost on ties), unknown characters fall back to <0xNN> byte
 * tokens. Stateless apart from the vocab: thread-safe. */
#ifndef IFN_TOKENIZER_SPM_H
#define IFN_TOKENIZER_SPM_H

#include <stddef.h>

#include "tokenizer/vocab.h"

/* Appends the ids of plain text; the caller has already replaced spaces with "▁" and added the
 * space prefix where the vocab asks for it. */
ifn_status ifn_spm_encode(const ifn_vocab *vocab, const char *text, size_t len, ifn_token_vec *out);

#endif
