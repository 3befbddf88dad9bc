/* A cmocka group fixture holding the trained stories260K model (weights and tokenizer) for tests
 * that build their own engines over it. setup leaves *state NULL when ../shared is absent, so
 * tests skip. */
#ifndef IFN_TESTS_SUPPORT_LLM_FIXTURE_H
#define IFN_TESTS_SUPPORT_LLM_FIXTURE_H

#include <stdlib.h>

#include "engine/llm.h"
#include "support/shared.h"

typedef struct fixture {
    ifn_llm *llm;
} fixture;

static int setup(void **state) {
    const char *model = shared_path("models/stories260K/stories260K.bin");
    if (!model) return 0;
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = model;
    lp.n_ctx = 1; /* the llm's own engine is never started; tests make theirs */
    if (ifn_llm_load(&lp, &f->llm) != IFN_OK) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f) ifn_llm_destroy(f->llm);
    free(f);
    return 0;
}

#endif
