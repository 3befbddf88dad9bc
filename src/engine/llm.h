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

#endif
