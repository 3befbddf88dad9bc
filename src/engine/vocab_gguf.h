/* Builds an ifn_vocab from the tokenizer.ggml.* metadata of a GGUF file, with llama.cpp's
 * defaults: per-model special ids, add_bos/add_eos/add_space_prefix, and out-of-range special
 * ids replaced by the default (a warning, as llama.cpp does). Lives in engine because it joins
 * the model layer (GGUF reader) and the tokenizer layer, which never include each other. */
#ifndef IFN_ENGINE_VOCAB_GGUF_H
#define IFN_ENGINE_VOCAB_GGUF_H

#include "inferneo/status.h"
#include "model/gguf.h"
#include "tokenizer/vocab.h"

/* tokenizer.ggml.model "llama" -> SPM, "gpt2" -> BPE, "bert" -> WPM. Errors:
 * IFN_E_UNSUPPORTED (no tokenizer in the file, or another model such as "t5" or "rwkv", named in
 * the message; an unknown BPE pre-tokenizer), IFN_E_FORMAT (a key with the wrong type or an array
 * shorter than the token list; the message names the key), IFN_E_NOMEM. `gguf` is only read
 * during the call: the vocab copies what it keeps. The caller owns *out_vocab. Thread-safe. */
ifn_status ifn_vocab_gguf_load(const ifn_gguf *gguf, ifn_vocab **out_vocab);

#endif
