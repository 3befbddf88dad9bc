/* Reader for llama2.c's tokenizer.bin (run.c's format): int32 max_token_length, then per token
 * f32 score, int32 byte length and the bytes. The result is an SPM ifn_vocab matching run.c's
 * encode: ids 0/1/2 are <unk>/<s>/</s>, "<0xNN>" texts are byte tokens, and the plain spaces the
 * file stores for SentencePiece's word marker become U+2581. Every length and count is checked
 * against the file size first, so a hostile file gives IFN_E_FORMAT, never a huge allocation. */
#ifndef IFN_TOKENIZER_LLAMA2C_TOKENIZER_H
#define IFN_TOKENIZER_LLAMA2C_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/vocab.h"

/* Loads `path`. expected_vocab_size > 0 reads exactly that many tokens (the count comes from the
 * model header; trailing bytes are ignored as run.c does); <= 0 reads tokens up to the end of the
 * file, which must end on a token boundary. Errors: IFN_E_IO (open/map), IFN_E_FORMAT (malformed,
 * too few tokens, non-finite score), IFN_E_NOMEM. The caller owns *out_vocab. Thread-safe. */
ifn_status ifn_llama2c_tokenizer_load(const char *path, int32_t expected_vocab_size,
                                      ifn_vocab **out_vocab);

/* The same from an image in memory; `data` is only read during the call. */
ifn_status ifn_llama2c_tokenizer_load_memory(const void *data, size_t size,
                                             int32_t expected_vocab_size, ifn_vocab **out_vocab);

#endif
