/* Loading a model for serving: weights and tokenizer (through ifn_llm), the chat template
 * (--chat-template, else the GGUF's tokenizer.chat_template, else chatml as llama.cpp does), and
 * an engine. */
#include "manager/served_model.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/llm.h"
#include "model/gguf.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/mmap.h"
#include "util/status.h"

ifn_served_model_params ifn_served_model_params_default(void) {
    ifn_served_model_params p;
    memset(&p, 0, sizeof p);
    p.engine = ifn_engine_params_default();
    return p;
}

size_t ifn_served_model_name_from_path(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (cap) snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), base);
    return len;
}

static char *name_from_path(const char *path) {
    size_t len = ifn_served_model_name_from_path(path, NULL, 0);
    char *name = ifn_malloc(len + 1);
    if (name) ifn_served_model_name_from_path(path, name, len + 1);
    return name;
}

static char *token_text(const ifn_vocab *vocab, int32_t id) {
    if (id < 0 || id >= ifn_vocab_size(vocab)) return ifn_strndup("", 0);
    ifn_str text = ifn_vocab_token_text(vocab, id);
    return ifn_strndup(text.ptr, text.len);
}

static ifn_status template_from_file(ifn_served_model *m, const char *path) {
    ifn_mmap map;
    ifn_status st = ifn_mmap_open(path, &map);
    if (st != IFN_OK) return st;
    st = ifn_chat_template_create((const char *)map.data, map.size, &m->chat_template);
    ifn_mmap_close(&map);
    if (st != IFN_OK) return ifn_fail(st, "chat template %s: %s", path, ifn_last_error());
    m->chat_template_name = ifn_strndup(path, strlen(path));
    return m->chat_template_name ? IFN_OK : ifn_fail(IFN_E_NOMEM, "no memory");
}

static ifn_status template_from_source(ifn_served_model *m, const char *name, const char *source,
                                       size_t len) {
    ifn_status st = ifn_chat_template_create(source, len, &m->chat_template);
    if (st != IFN_OK) return ifn_fail(st, "chat template %s: %s", name, ifn_last_error());
    m->chat_template_name = ifn_strndup(name, strlen(name));
    return m->chat_template_name ? IFN_OK : ifn_fail(IFN_E_NOMEM, "no memory");
}

static ifn_status load_template(ifn_served_model *m, const char *requested) {
    if (requested) {
        const char *builtin = ifn_chat_template_builtin(requested);
        if (builtin) return template_from_source(m, requested, builtin, strlen(builtin));
        return template_from_file(m, requested);
    }
    const ifn_model *model = ifn_llm_model(m->llm);
    if (ifn_model_format_of(model) == IFN_MODEL_FORMAT_GGUF) {
        ifn_str source;
        if (ifn_gguf_get_string(ifn_model_gguf(model), "tokenizer.chat_template", &source) == IFN_OK)
            return template_from_source(m, "model", source.ptr, source.len);
    }
    const char *chatml = ifn_chat_template_builtin("chatml");
    return template_from_source(m, "chatml", chatml, strlen(chatml));
}

static ifn_status load_parts(ifn_served_model *m, const ifn_served_model_params *p) {
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = p->model_path;
    lp.tokenizer_path = p->tokenizer_path;
    ifn_status st = ifn_llm_load(&lp, &m->llm);
    if (st != IFN_OK) return st;
    m->vocab = ifn_llm_vocab(m->llm);
    m->name = p->name ? ifn_strndup(p->name, strlen(p->name)) : name_from_path(p->model_path);
    m->bos_text = token_text(m->vocab, ifn_vocab_bos(m->vocab));
    m->eos_text = token_text(m->vocab, ifn_vocab_eos(m->vocab));
    if (!m->name || !m->bos_text || !m->eos_text) return ifn_fail(IFN_E_NOMEM, "no memory");
    st = load_template(m, p->chat_template);
    if (st != IFN_OK) return st;
    st = ifn_engine_create(ifn_llm_model_shared(m->llm), m->vocab, &p->engine, &m->engine);
    if (st != IFN_OK) return st;
    m->n_ctx = ifn_engine_n_ctx(m->engine);
    m->n_embd = ifn_model_hparams(ifn_llm_model(m->llm))->n_embd;
    m->created_unix = (int64_t)time(NULL);
    return IFN_OK;
}

ifn_status ifn_served_model_load(const ifn_served_model_params *p, ifn_served_model **out) {
    if (!p || !p->model_path) return ifn_fail(IFN_E_INVALID, "no model path given");
    ifn_served_model *m = ifn_calloc(1, sizeof *m);
    if (!m) return ifn_fail(IFN_E_NOMEM, "no memory");
    ifn_status st = load_parts(m, p);
    if (st != IFN_OK) {
        ifn_served_model_destroy(m);
        return st;
    }
    IFN_LOG_INFO("served_model", "%s: %s, context %d, chat template %s", m->name, p->model_path,
                 m->n_ctx, m->chat_template_name);
    *out = m;
    return IFN_OK;
}

void ifn_served_model_destroy(ifn_served_model *m) {
    if (!m) return;
    ifn_engine_destroy(m->engine);
    ifn_chat_template_destroy(m->chat_template);
    ifn_llm_destroy(m->llm);
    ifn_free(m->chat_template_name);
    ifn_free(m->bos_text);
    ifn_free(m->eos_text);
    ifn_free(m->name);
    ifn_free(m);
}
