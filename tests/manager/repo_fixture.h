/* Test helpers for model repositories: a temporary folder, files copied or written into it, a
 * random-weight GGUF from `$IFN_BINARY synth`, and greedy generation through a served model's
 * engine. Header-only (static): every test is its own executable. Failures abort the test. */
#ifndef IFN_TESTS_MANAGER_REPO_FIXTURE_H
#define IFN_TESTS_MANAGER_REPO_FIXTURE_H

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/served_model.h"
#include "support/shared.h"

#define FX_MAX_TOKENS 64

/* A fresh folder under /tmp (path written into out, 256 bytes). */
static inline void fx_mkdtemp(char *out) {
    snprintf(out, 256, "/tmp/ifn_repo_XXXXXX");
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        abort();
    }
}

/* mkdir -p of root/rel. */
static inline void fx_mkdirs(const char *root, const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

static inline void fx_write(const char *root, const char *rel, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(text, 1, strlen(text), fp) != strlen(text)) abort();
    fclose(fp);
}

/* Copies at most max_bytes (0 = all) of src to root/rel. */
static inline void fx_copy(const char *src, const char *root, const char *rel, size_t max_bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    if (!in || !out) abort();
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (max_bytes && total + n > max_bytes) n = max_bytes - total;
        if (fwrite(buf, 1, n, out) != n) abort();
        total += n;
        if (max_bytes && total >= max_bytes) break;
    }
    fclose(in);
    fclose(out);
}

/* rm -rf path (no symlinks are followed: lstat). */
static inline void fx_rm_rf(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            size_t len = strlen(path) + strlen(de->d_name) + 2;
            char *child = malloc(len);
            if (!child) abort();
            snprintf(child, len, "%s/%s", path, de->d_name);
            fx_rm_rf(child);
            free(child);
        }
        if (d) closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

/* Writes a small random Llama GGUF (vocabulary of stories260K) to root/rel; 0 when the inferneo
 * binary or the vocabulary is not available. */
static inline int fx_synth(const char *root, const char *rel, int seed) {
    const char *binary = getenv("IFN_BINARY");
    const char *vocab = shared_path("models/stories260K/stories260Ktok512.gguf");
    if (!binary || !vocab) return 0;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s synth --dim 64 --layers 4 --heads 8 --kv-heads 4 --ffn 192 "
             "--ctx 512 --type F32 --seed %d --vocab-from %s -t 1 -o %s/%s 2>/dev/null",
             binary, seed, vocab, root, rel);
    return system(cmd) == 0;
}

/* Greedy generation through an engine: tokens and how the request ended. */
typedef struct fx_output {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int32_t tokens[FX_MAX_TOKENS];
    int32_t n_tokens;
    int is_done;
    ifn_status status;
    int token_delay_us; /* sleep per token (engine thread), to keep a request running */
} fx_output;

static inline int fx_on_token(void *user, int32_t index, int32_t token, const char *text,
                              size_t len, const ifn_sampler_logprobs *lp) {
    (void)index, (void)text, (void)len, (void)lp;
    fx_output *o = user;
    pthread_mutex_lock(&o->lock);
    if (o->n_tokens < FX_MAX_TOKENS) o->tokens[o->n_tokens] = token;
    o->n_tokens++;
    pthread_cond_broadcast(&o->done_cond);
    pthread_mutex_unlock(&o->lock);
    if (o->token_delay_us) usleep((useconds_t)o->token_delay_us);
    return 0;
}

static inline void fx_on_done(void *user, ifn_status status, const char *message) {
    (void)message;
    fx_output *o = user;
    pthread_mutex_lock(&o->lock);
    o->status = status;
    o->is_done = 1;
    pthread_cond_broadcast(&o->done_cond);
    pthread_mutex_unlock(&o->lock);
}

static inline void fx_output_init(fx_output *o) {
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->done_cond, NULL);
}

static inline void fx_output_deinit(fx_output *o) {
    pthread_cond_destroy(&o->done_cond);
    pthread_mutex_destroy(&o->lock);
}

/* Submits a greedy request (ignoring end tokens) of max_tokens; returns the submit status. */
static inline ifn_status fx_submit(ifn_served_model *model, const int32_t *prompt, int32_t n_prompt,
                                   int32_t max_tokens, fx_output *o) {
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = n_prompt;
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = 1;
    r.callbacks = (ifn_request_callbacks){fx_on_token, NULL, fx_on_done, o, NULL};
    return ifn_engine_submit(model->engine, &r, NULL);
}

static inline void fx_wait_done(fx_output *o) {
    pthread_mutex_lock(&o->lock);
    while (!o->is_done)
        pthread_cond_wait(&o->done_cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
}

/* Greedy tokens of `model` for the prompt into out (n tokens); returns the request's status. */
static inline ifn_status fx_generate(ifn_served_model *model, const int32_t *prompt,
                                     int32_t n_prompt, int32_t n, int32_t *out) {
    fx_output o;
    fx_output_init(&o);
    ifn_status st = fx_submit(model, prompt, n_prompt, n, &o);
    if (st == IFN_OK) {
        fx_wait_done(&o);
        st = o.status;
        memcpy(out, o.tokens, sizeof(int32_t) * (size_t)(o.n_tokens < n ? o.n_tokens : n));
    }
    fx_output_deinit(&o);
    return st;
}

/* Reads a greedy reference (prompt ids | generated ids) from the shared folder: the prompt into
 * prompt (returns its length) and the first n_want generated ids into want; 0 if absent. */
static inline int32_t fx_reference(const char *rel, int32_t *prompt, int32_t *want,
                                   int32_t n_want) {
    const char *path = shared_path(rel);
    if (!path) return 0;
    char *text = read_whole_file(path, NULL);
    char *bar = text ? strchr(text, '|') : NULL;
    if (!bar) {
        free(text);
        return 0;
    }
    *bar = '\0';
    int ids[1024];
    int32_t n_prompt = (int32_t)parse_ints(text, ids, 1024);
    for (int32_t i = 0; i < n_prompt; i++)
        prompt[i] = ids[i];
    size_t n = parse_ints(bar + 1, ids, 1024);
    for (int32_t i = 0; i < n_want && (size_t)i < n; i++)
        want[i] = ids[i];
    free(text);
    return (size_t)n_want <= n ? n_prompt : 0;
}

#endif
