/* Inferneo public API: load a model (GGUF or llama2.c), tokenize, generate, free.
 * Handles are opaque. Generation runs on the llm's serving engine (its own thread, paged KV
 * cache with prefix reuse), one sequence at a time; ifn_llm_generate is thread-safe and calls
 * from several threads queue. */
#ifndef IFN_INFERNEO_INFERNEO_H
#define IFN_INFERNEO_INFERNEO_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define IFN_PUBLIC __attribute__((visibility("default")))
#else
#define IFN_PUBLIC
#endif

typedef struct ifn_llm ifn_llm;

typedef struct ifn_llm_params {
    const char *model_path;     /* .gguf or llama2.c .bin */
    const char *tokenizer_path; /* llama2.c tokenizer.bin; NULL for GGUF (vocab inside) */
    int32_t n_ctx;              /* KV cache positions; 0 = the model's training context */
    int32_t n_threads;          /* compute threads; 0 = physical cores */
    int exact;                  /* 1: float32 activations with exactly decoded weights (reference
                                   accuracy); 0: 8-bit activation blocks for speed (default) */
} ifn_llm_params;

IFN_PUBLIC ifn_llm_params ifn_llm_params_default(void);

/* Loads model and tokenizer. Errors carry a message (ifn_last_error()). */
IFN_PUBLIC ifn_status ifn_llm_load(const ifn_llm_params *params, ifn_llm **out_llm);
IFN_PUBLIC void ifn_llm_destroy(ifn_llm *llm);

/* Tokenizes text[0..len). add_special: BOS/EOS as the model's metadata asks; parse_special:
 * text of control tokens ("<|eot_id|>") becomes those tokens. *out_ids is freed with
 * ifn_llm_free. */
IFN_PUBLIC ifn_status ifn_llm_tokenize(const ifn_llm *llm, const char *text, size_t len,
                                       int add_special, int parse_special, int32_t **out_ids,
                                       size_t *out_count);
/* Decodes ids to UTF-8 text (NUL-terminated; free with ifn_llm_free). */
IFN_PUBLIC ifn_status ifn_llm_detokenize(const ifn_llm *llm, const int32_t *ids, size_t n_ids,
                                         char **out_text, size_t *out_len);
IFN_PUBLIC void ifn_llm_free(void *ptr);

typedef struct ifn_logit_bias {
    int32_t token;
    float bias;
} ifn_logit_bias;

typedef struct ifn_generate_params {
    int32_t max_tokens;       /* new tokens at most; stops earlier at EOS/stop strings/context end */
    float temperature;        /* 0 = greedy */
    int32_t top_k;            /* 0 = off */
    float top_p;              /* 1 = off */
    float min_p;              /* 0 = off */
    float repetition_penalty; /* 1 = off */
    float presence_penalty;   /* 0 = off */
    float frequency_penalty;  /* 0 = off */
    const ifn_logit_bias *logit_bias;
    int32_t n_logit_bias;
    uint64_t seed;            /* used when has_seed; otherwise a random seed is drawn */
    int has_seed;
    const char *const *stop;  /* stop strings (not included in the output) */
    int32_t n_stop;
    int ignore_eos;           /* keep going past end-of-generation tokens */
} ifn_generate_params;

IFN_PUBLIC ifn_generate_params ifn_generate_params_default(void);

typedef enum ifn_finish_reason {
    IFN_FINISH_LENGTH = 0,    /* max_tokens or the context was reached */
    IFN_FINISH_STOP = 1,      /* end-of-generation token or a stop string */
    IFN_FINISH_CANCELLED = 2, /* the callback asked to stop */
} ifn_finish_reason;

typedef struct ifn_generate_result {
    int32_t n_prompt_tokens;
    int32_t n_generated_tokens;
    ifn_finish_reason finish_reason;
    double prompt_seconds;    /* prefill time */
    double generate_seconds;  /* decode time, first sampled token to the last */
} ifn_generate_result;

/* Receives generated text as it becomes final (complete UTF-8, stop strings withheld).
 * Return non-zero to cancel. */
typedef int (*ifn_text_callback)(const char *text, size_t len, void *user);

/* Evaluates the prompt (which must not be empty) and generates text, calling `on_text` as it
 * goes (from the engine thread). KV blocks of an earlier call's identical prefix may be reused;
 * results do not depend on it. The KV cache is F32 so greedy output equals float32 reference
 * implementations. Errors: IFN_E_INVALID (empty or over-long prompt, bad parameters). */
IFN_PUBLIC ifn_status ifn_llm_generate(ifn_llm *llm, const int32_t *prompt, size_t n_prompt,
                                       const ifn_generate_params *params, ifn_text_callback on_text,
                                       void *user, ifn_generate_result *out_result);

#ifdef __cplusplus
}
#endif
#endif
