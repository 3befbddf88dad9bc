/* Internal accessors of the public ifn_llm handle, for the CLI and tests inside the project. */
#ifndef IFN_ENGINE_LLM_H
#define IFN_ENGINE_LLM_H

#include "inferneo/inferneo.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

/* Borrowed; valid while the llm lives. */
const ifn_model *ifn_llm_model(const ifn_llm *llm);
const ifn_vocab *ifn_llm_vocab(const ifn_llm *llm);

/* The model for another engine to retain (ifn_engine_create); borrowed. */
ifn_model *ifn_llm_model_shared(ifn_llm *llm);

/* Tokens that end a sequence besides the vocabulary's end-of-generation ids (llama2.c models
 * stop at BOS, as run.c does); borrowed, *out_n may be 0. */
const int32_t *ifn_llm_stop_token_ids(const ifn_llm *llm, int32_t *out_n);

#endif
