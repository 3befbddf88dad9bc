/* A model ready to serve: weights and tokenizer, a serving engine of its own, the chat template
 * requests are rendered with, and the name clients ask for it by. The server answers from it;
 * the model manager will hold many. Immutable after load, so any thread may read it; the engine
 * itself is thread-safe. */
#ifndef IFN_MANAGER_SERVED_MODEL_H
#define IFN_MANAGER_SERVED_MODEL_H

#include <stdint.h>

#include "engine/engine.h"
#include "inferneo/inferneo.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/vocab.h"

typedef struct ifn_served_model_params {
    const char *model_path;
    const char *tokenizer_path;   /* llama2.c tokenizer.bin, NULL for GGUF */
    const char *name;             /* served name; NULL = file name without extension */
    const char *chat_template;    /* built-in name or a template file; NULL = the model's own,
                                     else chatml */
    ifn_engine_params engine;
} ifn_served_model_params;

ifn_served_model_params ifn_served_model_params_default(void);

/* The default served name of a model file: "dir/stories260K.bin" -> "stories260K". Writes it
 * (truncated to cap - 1 bytes, NUL-terminated) when cap > 0 and returns its full length. */
size_t ifn_served_model_name_from_path(const char *path, char *out, size_t cap);

typedef struct ifn_served_model {
    char *name;
    ifn_llm *llm;
    const ifn_vocab *vocab;       /* borrowed from llm */
    ifn_engine *engine;
    ifn_chat_template *chat_template;
    char *chat_template_name;     /* "model", a built-in name, or the file path */
    char *bos_text, *eos_text;    /* token texts the template sees ("" if none) */
    int32_t n_ctx;
    int32_t n_embd;
    int64_t created_unix;         /* load time, the OpenAI `created` of the model */
} ifn_served_model;

/* Loads and starts the engine. Errors carry a message: IFN_E_IO, IFN_E_FORMAT (model, tokenizer
 * or template), IFN_E_INVALID, IFN_E_NOMEM. */
ifn_status ifn_served_model_load(const ifn_served_model_params *params, ifn_served_model **out);

/* Stops the engine (requests still running finish cancelled) and frees everything. */
void ifn_served_model_destroy(ifn_served_model *model);

#endif
