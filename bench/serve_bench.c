/* serve_bench: load generator for OpenAI-compatible servers (like vLLM's benchmark_serving.py).
 * N threads, each with its own keep-alive curl handle, send M streaming requests in total and
 * time every content chunk as it arrives; the report gives throughput, TTFT, ITL and TPOT.
 * It measures what a client sees; it does not check the generated text. */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/rng.h"
#include "util/time.h"

enum { ERROR_LEN = 200, HEAD_LEN = 200, SHOWN_ERRORS = 5, URL_LEN = 512 };
#define MAX_LINE_BYTES (16u << 20) /* a longer SSE line means a broken stream, not a big chunk */

typedef struct bench_args {
    const char *url; /* base URL, no trailing slash: http://127.0.0.1:8000 */
    const char *model;
    const char *prompt_text; /* NULL: generated prompt of n_prompt_tokens */
    int concurrency, n_requests, n_prompt_tokens, max_tokens, n_warmup, id_max, seed;
    double timeout_s;
    bool is_chat, ignore_eos, json_out;
} bench_args;

/* One request's outcome. Written only by the worker that took the request. */
typedef struct req_result {
    int64_t start_ns, end_ns;
    int64_t *chunk_ns; /* [n_chunks] arrival of each chunk with non-empty text; [0] is TTFT */
    int n_chunks, chunk_cap;
    int usage_completion_tokens, usage_prompt_tokens; /* -1: the server sent no usage */
    int sent_prompt_tokens;                           /* -1: text prompt, count unknown */
    long http_status;
    bool is_failed;
    char error[ERROR_LEN];
} req_result;

typedef struct byte_buf {
    char *ptr;
    size_t len, cap;
} byte_buf;

/* Parser state of one streaming response, fed by the curl write callback. */
typedef struct stream_state {
    CURL *curl;
    bool is_chat;
    req_result *res;
    byte_buf line; /* bytes of the unfinished line */
    byte_buf data; /* data: payload of the event being assembled */
    byte_buf head; /* first bytes of a non-200 body, for the error message */
    bool saw_done;
} stream_state;

/* Shared by all workers; thread-safe through the atomics and the barrier. */
typedef struct bench_shared {
    const bench_args *args;
    char *model;                 /* from --model or GET /v1/models; NULL: field omitted */
    char base_url[URL_LEN - 32]; /* --url without trailing slashes; room for a path */
    char endpoint[URL_LEN];      /* full URL of the completions endpoint */
    pthread_barrier_t warm_done;
    atomic_int next_warmup, next_measured;
    atomic_int n_warmup_failed;
    req_result *results; /* [n_requests]; slot i belongs to whoever took index i */
} bench_shared;

typedef struct summary {
    int64_t n;
    double mean, p50, p90, p99;
} summary;

static const char *const g_words[] = {
    "the",  "cat",  "sat",  "on",    "a",      "mat",  "and",    "dog",  "ran",  "to",
    "park", "with", "her",  "ball",  "one",    "day",  "little", "girl", "saw",  "big",
    "tree", "in",   "sun",  "happy", "friend", "play", "went",   "home", "said", "you",
    "was",  "very", "bird", "sky",   "blue",   "red",  "box",    "toy",  "mom",  "time",
};

static void usage(FILE *f) {
    fprintf(f, "usage: serve_bench --url URL [--endpoint completions|chat] [--model NAME]\n"
               "         --concurrency N --requests M [--prompt-tokens P | --prompt TEXT]\n"
               "         [--max-tokens T] [--ignore-eos] [--seed S] [--id-max K] [--warmup W]\n"
               "         [--timeout-s X] [--json]\n"
               "Sends M streaming requests from N threads to URL/v1/completions (or\n"
               "/v1/chat/completions) and reports throughput, TTFT, ITL and TPOT.\n"
               "defaults: --endpoint completions --prompt-tokens 128 --max-tokens 128 --seed 0\n"
               "          --id-max 500 --warmup 0 --timeout-s 300; no --model: ask /v1/models\n");
}

/* ---- argument parsing ---- */

static bool parse_int(const char *name, const char *text, long min, long max, int *out) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "serve_bench: %s wants an integer in [%ld, %ld], got '%s'\n", name, min,
                max, text);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool parse_double(const char *name, const char *text, double min, double *out) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(v >= min) || !isfinite(v)) {
        fprintf(stderr, "serve_bench: %s wants a number >= %g, got '%s'\n", name, min, text);
        return false;
    }
    *out = v;
    return true;
}

/* Options with a value. Returns false after printing why. */
static bool parse_valued(bench_args *a, const char *opt, const char *val) {
    const struct {
        const char *name;
        long min, max;
        int *dst;
    } ints[] = {
        {"--concurrency", 1, 4096, &a->concurrency},
        {"--requests", 1, 10000000, &a->n_requests},
        {"--prompt-tokens", 1, 1000000, &a->n_prompt_tokens},
        {"--max-tokens", 1, 1000000, &a->max_tokens},
        {"--warmup", 0, 1000000, &a->n_warmup},
        {"--id-max", 4, INT_MAX, &a->id_max},
        {"--seed", 0, INT_MAX, &a->seed},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!strcmp(opt, ints[i].name))
            return parse_int(opt, val, ints[i].min, ints[i].max, ints[i].dst);
    }
    if (!strcmp(opt, "--timeout-s")) return parse_double(opt, val, 0.001, &a->timeout_s);
    if (!strcmp(opt, "--url")) {
        a->url = val;
    } else if (!strcmp(opt, "--model")) {
        a->model = val;
    } else if (!strcmp(opt, "--prompt")) {
        a->prompt_text = val;
    } else if (!strcmp(opt, "--endpoint") &&
               (!strcmp(val, "completions") || !strcmp(val, "chat"))) {
        a->is_chat = !strcmp(val, "chat");
    } else if (!strcmp(opt, "--endpoint")) {
        fprintf(stderr, "serve_bench: --endpoint is completions or chat, got '%s'\n", val);
        return false;
    } else {
        fprintf(stderr, "serve_bench: unknown option '%s'\n", opt);
        return false;
    }
    return true;
}

/* Returns 0 to run, 1 after --help, 2 on a bad command line (message printed). */
static int parse_args(int argc, char **argv, bench_args *a) {
    *a = (bench_args){.max_tokens = 128, .id_max = 500, .timeout_s = 300.0};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(opt, "--ignore-eos")) {
            a->ignore_eos = true;
        } else if (!strcmp(opt, "--json")) {
            a->json_out = true;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "serve_bench: %s needs a value (or is unknown)\n", opt);
            return 2;
        } else if (!parse_valued(a, opt, argv[++i])) {
            return 2;
        }
    }
    const char *missing = !a->url           ? "--url"
                          : !a->concurrency ? "--concurrency"
                          : !a->n_requests  ? "--requests"
                                            : NULL;
    if (missing) {
        fprintf(stderr, "serve_bench: %s is required (--help for usage)\n", missing);
        return 2;
    }
    if (a->n_prompt_tokens && a->prompt_text) {
        fprintf(stderr, "serve_bench: give --prompt-tokens or --prompt, not both\n");
        return 2;
    }
    if (!a->prompt_text && !a->n_prompt_tokens) a->n_prompt_tokens = 128;
    if (strncmp(a->url, "http://", 7) && strncmp(a->url, "https://", 8)) {
        fprintf(stderr, "serve_bench: --url must start with http:// or https://\n");
        return 2;
    }
    return 0;
}

/* ---- small buffers ---- */

static bool buf_append(byte_buf *b, const void *bytes, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = ifn_realloc(b->ptr, cap);
        if (!p) return false;
        b->ptr = p;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, bytes, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return true;
}

static void buf_free(byte_buf *b) {
    ifn_free(b->ptr);
    *b = (byte_buf){0};
}

/* Keeps the first reason only: later ones are usually consequences of it. */
static void set_failure(req_result *r, const char *fmt, ...) {
    if (r->is_failed) return;
    r->is_failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

static void push_chunk_time(req_result *r, int64_t t_ns) {
    if (r->n_chunks == r->chunk_cap) {
        int cap = r->chunk_cap ? r->chunk_cap * 2 : 64;
        int64_t *p = ifn_realloc(r->chunk_ns, (size_t)cap * sizeof *p);
        if (!p) {
            set_failure(r, "out of memory recording chunk times");
            return;
        }
        r->chunk_ns = p;
        r->chunk_cap = cap;
    }
    r->chunk_ns[r->n_chunks++] = t_ns;
}

/* ---- request bodies ---- */

/* Request `index` always gets the same prompt for a given seed, whichever thread sends it. */
static json_t *make_prompt(const bench_args *a, int index, int *out_sent_tokens) {
    ifn_rng rng;
    *out_sent_tokens = -1;
    if (a->prompt_text) return json_string(a->prompt_text);
    ifn_rng_seed(&rng, (uint64_t)a->seed * 0x9E3779B97F4A7C15ull + (uint64_t)index);
    if (!a->is_chat) {
        json_t *ids = json_array();
        uint64_t span = (uint64_t)a->id_max - 3;
        for (int i = 0; i < a->n_prompt_tokens; i++)
            json_array_append_new(ids,
                                  json_integer(3 + (json_int_t)(ifn_rng_next_u64(&rng) % span)));
        *out_sent_tokens = a->n_prompt_tokens;
        return ids;
    }
    /* Chat content must be text: about one token per common word. */
    byte_buf text = {0};
    size_t n_words = sizeof g_words / sizeof g_words[0];
    for (int i = 0; i < a->n_prompt_tokens; i++) {
        const char *w = g_words[ifn_rng_next_u64(&rng) % n_words];
        if ((i && !buf_append(&text, " ", 1)) || !buf_append(&text, w, strlen(w))) break;
    }
    json_t *s = json_string(text.ptr ? text.ptr : "");
    buf_free(&text);
    return s;
}

/* Returns a malloc'd JSON body (free with free()) or NULL when out of memory. */
static char *build_body(const bench_shared *sh, int index, int *out_sent_tokens) {
    const bench_args *a = sh->args;
    json_t *body = json_object();
    json_t *prompt = make_prompt(a, index, out_sent_tokens);
    if (a->is_chat) {
        json_t *msg = json_pack("{s:s, s:o}", "role", "user", "content", prompt);
        json_object_set_new(body, "messages", json_pack("[o]", msg));
    } else {
        json_object_set_new(body, "prompt", prompt);
    }
    if (sh->model) json_object_set_new(body, "model", json_string(sh->model));
    json_object_set_new(body, "max_tokens", json_integer(a->max_tokens));
    json_object_set_new(body, "temperature", json_real(0.0));
    json_object_set_new(body, "stream", json_true());
    json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (a->ignore_eos) json_object_set_new(body, "ignore_eos", json_true());
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* ---- SSE stream parsing ---- */

/* Text of choices[0] (completions: .text, chat: .delta.content), or NULL. Borrowed from root. */
static const char *chunk_text(json_t *root, bool is_chat) {
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    if (is_chat) choice = json_object_get(choice, "delta");
    return json_string_value(json_object_get(choice, is_chat ? "content" : "text"));
}

static void read_usage(json_t *root, req_result *r) {
    json_t *usage = json_object_get(root, "usage");
    json_t *completion = json_object_get(usage, "completion_tokens");
    json_t *prompt = json_object_get(usage, "prompt_tokens");
    if (json_is_integer(completion))
        r->usage_completion_tokens = (int)json_integer_value(completion);
    if (json_is_integer(prompt)) r->usage_prompt_tokens = (int)json_integer_value(prompt);
}

/* One complete event: its data lines joined by '\n' are in st->data. */
static void handle_event(stream_state *st, int64_t now_ns) {
    req_result *r = st->res;
    json_error_t jerr;
    if (st->data.len == 0) return;
    if (!strcmp(st->data.ptr, "[DONE]")) {
        st->saw_done = true;
        return;
    }
    if (st->saw_done) {
        set_failure(r, "data after [DONE]");
        return;
    }
    json_t *root = json_loadb(st->data.ptr, st->data.len, 0, &jerr);
    if (!json_is_object(root)) {
        set_failure(r, "malformed JSON in stream (%s): %.60s", jerr.text, st->data.ptr);
    } else if (json_object_get(root, "error")) {
        json_t *err = json_object_get(root, "error");
        const char *msg = json_string_value(json_object_get(err, "message"));
        if (!msg) msg = json_string_value(err); /* some servers send "error": "text" */
        set_failure(r, "server error in stream: %.120s", msg ? msg : "(no message)");
    } else {
        const char *text = chunk_text(root, st->is_chat);
        if (text && text[0]) push_chunk_time(r, now_ns);
        read_usage(root, r);
    }
    json_decref(root);
}

/* One line without its terminator. Fields other than data: (event:, id:, comments) are ignored. */
static void handle_line(stream_state *st, const char *line, size_t len, int64_t now_ns) {
    if (len && line[len - 1] == '\r') len--;
    if (len == 0) {
        handle_event(st, now_ns);
        st->data.len = 0;
        return;
    }
    if (len < 5 || memcmp(line, "data:", 5)) return;
    line += 5, len -= 5;
    if (len && line[0] == ' ') line++, len--;
    bool ok =
        (st->data.len == 0 || buf_append(&st->data, "\n", 1)) && buf_append(&st->data, line, len);
    if (!ok) set_failure(st->res, "out of memory buffering an event");
}

/* curl write callback: splits the bytes into lines, keeping a partial line for the next call. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
    stream_state *st = userdata;
    size_t n = size * nmemb;
    int64_t now_ns = ifn_time_now_ns();
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->res->http_status);
    if (st->res->http_status != 200) {
        size_t room = st->head.len < HEAD_LEN ? HEAD_LEN - st->head.len : 0;
        buf_append(&st->head, ptr, n < room ? n : room);
        return n;
    }
    while (n > 0) {
        char *nl = memchr(ptr, '\n', n);
        size_t part = nl ? (size_t)(nl - ptr) : n;
        if (st->line.len + part > MAX_LINE_BYTES) {
            set_failure(st->res, "SSE line longer than %u bytes", MAX_LINE_BYTES);
            return 0; /* aborts the transfer */
        }
        if (!nl) return buf_append(&st->line, ptr, part) ? size * nmemb : 0;
        if (st->line.len) {
            if (!buf_append(&st->line, ptr, part)) return 0;
            handle_line(st, st->line.ptr, st->line.len, now_ns);
            st->line.len = 0;
        } else {
            handle_line(st, ptr, part, now_ns);
        }
        ptr += part + 1;
        n -= part + 1;
    }
    return size * nmemb;
}

/* ---- workers ---- */

/* Turns the transfer's outcome into the request's failure reason, if any. A reason the write
 * callback already set (it aborts the transfer) wins over curl's generic write error. */
static void finish_request(stream_state *st, CURLcode rc, const char *curl_err, double timeout_s) {
    req_result *r = st->res;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        set_failure(r, "timeout after %.1f s", timeout_s);
    } else if (rc != CURLE_OK) {
        set_failure(r, "curl: %s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    } else if (r->http_status != 200) {
        set_failure(r, "HTTP %ld: %s", r->http_status, st->head.ptr ? st->head.ptr : "(no body)");
    } else {
        /* A stream may end without the final newline or blank line. */
        if (st->line.len) handle_line(st, st->line.ptr, st->line.len, r->end_ns);
        if (st->data.len) handle_event(st, r->end_ns);
        if (!st->saw_done) set_failure(r, "stream ended without data: [DONE]");
    }
}

/* Sets every option of one request. Resetting first matters: libcurl before 8.17 never clears
 * its count of retries on connections the server closed (curl/curl#19066), so a long-lived
 * handle talking to a server that drops keep-alive connections (llama-server does after each
 * stream) eventually fails with "Connection died". The reset keeps open connections. */
static void set_request_options(CURL *curl, const bench_shared *sh, struct curl_slist *headers) {
    long timeout_ms = (long)(sh->args->timeout_s * 1000.0);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, sh->endpoint);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* required with threads */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
}

static void run_request(CURL *curl, struct curl_slist *headers, const bench_shared *sh, int index,
                        req_result *r) {
    char curl_err[CURL_ERROR_SIZE] = "";
    stream_state st = {.curl = curl, .is_chat = sh->args->is_chat, .res = r};
    *r = (req_result){.usage_completion_tokens = -1, .usage_prompt_tokens = -1};
    r->start_ns = r->end_ns = ifn_time_now_ns();
    char *body = build_body(sh, index, &r->sent_prompt_tokens);
    if (!curl || !headers || !body) {
        set_failure(r, !body ? "out of memory building the body" : "curl handle setup failed");
        free(body);
        return;
    }
    set_request_options(curl, sh, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    r->start_ns = ifn_time_now_ns();
    CURLcode rc = curl_easy_perform(curl);
    r->end_ns = ifn_time_now_ns();
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->http_status);
    finish_request(&st, rc, curl_err, sh->args->timeout_s);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL); /* curl_err dies with this frame */
    buf_free(&st.line);
    buf_free(&st.data);
    buf_free(&st.head);
    free(body);
}

/* Request headers, or NULL when out of memory. "Expect:" turns off the 100-continue round trip
 * libcurl makes for bodies over 1 KiB. */
static struct curl_slist *make_headers(void) {
    const char *lines[] = {"Content-Type: application/json", "Accept: text/event-stream",
                           "Expect:"};
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *more = curl_slist_append(headers, lines[i]);
        if (!more) {
            curl_slist_free_all(headers);
            return NULL;
        }
        headers = more;
    }
    return headers;
}

static void *worker_main(void *arg) {
    bench_shared *sh = arg;
    const bench_args *a = sh->args;
    struct curl_slist *headers = make_headers();
    CURL *curl = curl_easy_init(); /* one handle per thread, so its connection is kept alive */
    req_result scratch;
    for (int i; (i = atomic_fetch_add(&sh->next_warmup, 1)) < a->n_warmup;) {
        /* Warmup requests get indices past the measured ones, so their prompts differ. */
        run_request(curl, headers, sh, a->n_requests + i, &scratch);
        if (scratch.is_failed && atomic_fetch_add(&sh->n_warmup_failed, 1) == 0)
            fprintf(stderr, "serve_bench: warmup request failed: %s\n", scratch.error);
        ifn_free(scratch.chunk_ns);
    }
    pthread_barrier_wait(&sh->warm_done);
    for (int i; (i = atomic_fetch_add(&sh->next_measured, 1)) < a->n_requests;)
        run_request(curl, headers, sh, i, &sh->results[i]);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    return NULL;
}

/* Collects the response body of a plain GET into a byte_buf. */
static size_t on_get_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
    return buf_append(userdata, ptr, size * nmemb) ? size * nmemb : 0;
}

/* First model id from GET URL/v1/models, or NULL when the server does not say. */
static char *fetch_model_name(const char *base_url) {
    char url[URL_LEN], *name = NULL;
    byte_buf body = {0};
    long status = 0;
    CURL *curl = curl_easy_init();
    if (!curl) return NULL;
    snprintf(url, sizeof url, "%s/v1/models", base_url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_get_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(curl) == CURLE_OK && body.ptr &&
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200) {
        json_t *root = json_loadb(body.ptr, body.len, 0, NULL);
        const char *id = json_string_value(
            json_object_get(json_array_get(json_object_get(root, "data"), 0), "id"));
        if (id) name = ifn_strndup(id, strlen(id));
        json_decref(root);
    }
    curl_easy_cleanup(curl);
    buf_free(&body);
    return name;
}

/* Runs warmup, then the measured requests, with `concurrency` threads. Returns 0 or 1. */
static int run_all(bench_shared *sh) {
    int n_threads = sh->args->concurrency;
    pthread_t *threads = ifn_calloc((size_t)n_threads, sizeof *threads);
    if (!threads || pthread_barrier_init(&sh->warm_done, NULL, (unsigned)n_threads) != 0) {
        fprintf(stderr, "serve_bench: cannot set up %d threads\n", n_threads);
        ifn_free(threads);
        return 1;
    }
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&threads[t], NULL, worker_main, sh) != 0) {
            /* The others would wait at the barrier forever: nothing to clean up but the process. */
            fprintf(stderr, "serve_bench: cannot start thread %d of %d\n", t + 1, n_threads);
            exit(1);
        }
    }
    for (int t = 0; t < n_threads; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&sh->warm_done);
    ifn_free(threads);
    return 0;
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between closest ranks (numpy's default), p in [0, 100]. */
static double percentile(const double *sorted, int64_t n, double p) {
    double pos = p / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)pos;
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (pos - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* Sorts `v` in place. */
static summary summarize(double *v, int64_t n) {
    summary s = {.n = n};
    if (n == 0) return s;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += v[i];
    s.mean = sum / (double)n;
    s.p50 = percentile(v, n, 50), s.p90 = percentile(v, n, 90), s.p99 = percentile(v, n, 99);
    return s;
}

static int output_tokens(const req_result *r) {
    return r->usage_completion_tokens >= 0 ? r->usage_completion_tokens : r->n_chunks;
}

typedef struct report {
    int n_ok, n_failed;
    int64_t total_output_tokens;
    double duration_s;                            /* first request sent to last one finished */
    double request_throughput, output_throughput; /* per second of duration_s */
    double mean_prompt_tokens;                    /* < 0: unknown */
    summary ttft_ms, itl_ms, tpot_ms;
} report;

/* Fills everything but the latency summaries; returns the number of ITL samples. */
static int64_t count_totals(const bench_args *a, const req_result *res, report *rep) {
    int64_t first_ns = INT64_MAX, last_ns = INT64_MIN, n_itl = 0, prompt_sum = 0, n_prompt = 0;
    for (int i = 0; i < a->n_requests; i++) {
        const req_result *r = &res[i];
        first_ns = r->start_ns < first_ns ? r->start_ns : first_ns;
        last_ns = r->end_ns > last_ns ? r->end_ns : last_ns;
        if (r->is_failed) {
            rep->n_failed++;
            continue;
        }
        rep->n_ok++;
        rep->total_output_tokens += output_tokens(r);
        n_itl += r->n_chunks > 1 ? r->n_chunks - 1 : 0;
        int p = r->usage_prompt_tokens >= 0 ? r->usage_prompt_tokens : r->sent_prompt_tokens;
        if (p >= 0) prompt_sum += p, n_prompt++;
    }
    rep->duration_s = (double)(last_ns - first_ns) * 1e-9;
    if (rep->duration_s > 0) {
        rep->request_throughput = rep->n_ok / rep->duration_s;
        rep->output_throughput = (double)rep->total_output_tokens / rep->duration_s;
    }
    rep->mean_prompt_tokens = n_prompt ? (double)prompt_sum / (double)n_prompt : -1.0;
    return n_itl;
}

static bool make_report(const bench_args *a, const req_result *res, report *rep) {
    *rep = (report){0};
    int64_t n_itl = count_totals(a, res, rep);
    double *ttft = ifn_calloc((size_t)a->n_requests + 1, sizeof *ttft);
    double *tpot = ifn_calloc((size_t)a->n_requests + 1, sizeof *tpot);
    double *itl = ifn_calloc((size_t)n_itl + 1, sizeof *itl);
    bool ok = ttft && tpot && itl;
    int64_t n_ttft = 0, n_tpot = 0, k = 0;
    for (int i = 0; ok && i < a->n_requests; i++) {
        const req_result *r = &res[i];
        if (r->is_failed || r->n_chunks == 0) continue;
        ttft[n_ttft++] = (double)(r->chunk_ns[0] - r->start_ns) * 1e-6;
        for (int c = 1; c < r->n_chunks; c++)
            itl[k++] = (double)(r->chunk_ns[c] - r->chunk_ns[c - 1]) * 1e-6;
        if (output_tokens(r) > 1)
            tpot[n_tpot++] = (double)(r->end_ns - r->chunk_ns[0]) * 1e-6 / (output_tokens(r) - 1);
    }
    if (ok) {
        rep->ttft_ms = summarize(ttft, n_ttft);
        rep->itl_ms = summarize(itl, k);
        rep->tpot_ms = summarize(tpot, n_tpot);
    }
    ifn_free(ttft);
    ifn_free(tpot);
    ifn_free(itl);
    return ok;
}

/* ---- output ---- */

static void print_summary_rows(const char *name, summary s, bool has_p90) {
    if (s.n == 0) {
        printf("%-40s %s\n", name, "n/a (no samples)");
        return;
    }
    printf("Mean %-35s %.2f\n", name, s.mean);
    printf("P50 %-36s %.2f\n", name, s.p50);
    if (has_p90) printf("P90 %-36s %.2f\n", name, s.p90);
    printf("P99 %-36s %.2f\n", name, s.p99);
}

static void print_table(const bench_shared *sh, const report *rep) {
    const bench_args *a = sh->args;
    printf("============ Serving Benchmark Result ============\n");
    printf("%-40s %s\n", "Endpoint:", sh->endpoint);
    printf("%-40s %s\n", "Model:", sh->model ? sh->model : "(not sent)");
    printf("%-40s %d\n", "Concurrency:", a->concurrency);
    printf("%-40s %d\n", "Successful requests:", rep->n_ok);
    printf("%-40s %d\n", "Failed requests:", rep->n_failed);
    printf("%-40s %.2f\n", "Benchmark duration (s):", rep->duration_s);
    printf("%-40s %lld\n", "Total output tokens:", (long long)rep->total_output_tokens);
    if (rep->mean_prompt_tokens >= 0)
        printf("%-40s %.1f\n", "Mean prompt tokens:", rep->mean_prompt_tokens);
    printf("%-40s %.2f\n", "Request throughput (req/s):", rep->request_throughput);
    printf("%-40s %.2f\n", "Output token throughput (tok/s):", rep->output_throughput);
    printf("---------------Time to First Token----------------\n");
    print_summary_rows("TTFT (ms):", rep->ttft_ms, true);
    printf("-----Time per Output Token (excl. 1st token)------\n");
    print_summary_rows("TPOT (ms):", rep->tpot_ms, false);
    printf("---------------Inter-token Latency----------------\n");
    print_summary_rows("ITL (ms):", rep->itl_ms, true);
    printf("==================================================\n");
}

static void set_summary(json_t *o, const char *name, summary s, bool has_p90) {
    const char *keys[4] = {"mean", "p50", "p90", "p99"};
    double vals[4] = {s.mean, s.p50, s.p90, s.p99};
    char key[64];
    for (int i = 0; i < 4; i++) {
        if (i == 2 && !has_p90) continue;
        snprintf(key, sizeof key, "%s_%s_ms", keys[i], name);
        json_object_set_new(o, key, s.n ? json_real(vals[i]) : json_null());
    }
}

static void print_json(const bench_shared *sh, const report *rep) {
    const bench_args *a = sh->args;
    json_t *o = json_object();
    json_t *errors = json_array();
    for (int i = 0; i < a->n_requests && json_array_size(errors) < SHOWN_ERRORS; i++)
        if (sh->results[i].is_failed)
            json_array_append_new(errors, json_string(sh->results[i].error));
    json_object_set_new(o, "endpoint", json_string(sh->endpoint));
    json_object_set_new(o, "model", sh->model ? json_string(sh->model) : json_null());
    json_object_set_new(o, "concurrency", json_integer(a->concurrency));
    json_object_set_new(o, "max_tokens", json_integer(a->max_tokens));
    json_object_set_new(o, "completed", json_integer(rep->n_ok));
    json_object_set_new(o, "failed", json_integer(rep->n_failed));
    json_object_set_new(o, "duration_s", json_real(rep->duration_s));
    json_object_set_new(o, "total_output_tokens", json_integer(rep->total_output_tokens));
    json_object_set_new(o, "mean_prompt_tokens",
                        rep->mean_prompt_tokens >= 0 ? json_real(rep->mean_prompt_tokens)
                                                     : json_null());
    json_object_set_new(o, "request_throughput", json_real(rep->request_throughput));
    json_object_set_new(o, "output_throughput", json_real(rep->output_throughput));
    set_summary(o, "ttft", rep->ttft_ms, true);
    set_summary(o, "tpot", rep->tpot_ms, false);
    set_summary(o, "itl", rep->itl_ms, true);
    json_object_set_new(o, "errors", errors);
    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    putchar('\n');
    json_decref(o);
}

static void print_errors(const bench_shared *sh, int n_failed) {
    int shown = 0;
    for (int i = 0; i < sh->args->n_requests && shown < SHOWN_ERRORS; i++) {
        if (!sh->results[i].is_failed) continue;
        fprintf(stderr, "serve_bench: request %d failed: %s\n", i, sh->results[i].error);
        shown++;
    }
    if (n_failed > shown)
        fprintf(stderr, "serve_bench: ... and %d more failed\n", n_failed - shown);
}

/* Fills base_url and endpoint from --url. Returns false (message printed) when it is too long. */
static bool set_urls(bench_shared *sh, const char *url, bool is_chat) {
    size_t len = strlen(url);
    while (len && url[len - 1] == '/')
        len--;
    if (len >= sizeof sh->base_url) {
        fprintf(stderr, "serve_bench: --url is too long\n");
        return false;
    }
    memcpy(sh->base_url, url, len);
    snprintf(sh->endpoint, sizeof sh->endpoint, "%s/v1/%s", sh->base_url,
             is_chat ? "chat/completions" : "completions");
    return true;
}

/* Runs the benchmark and prints the report. Returns the exit status: 0, or 1 on failures. */
static int run_and_report(bench_shared *sh) {
    const bench_args *a = sh->args;
    report rep;
    sh->model = a->model ? ifn_strndup(a->model, strlen(a->model)) : fetch_model_name(sh->base_url);
    sh->results = ifn_calloc((size_t)a->n_requests, sizeof *sh->results);
    if (!sh->results || (a->model && !sh->model)) {
        fprintf(stderr, "serve_bench: out of memory\n");
        return 1;
    }
    if (run_all(sh) != 0) return 1;
    if (!make_report(a, sh->results, &rep)) {
        fprintf(stderr, "serve_bench: out of memory for the report\n");
        return 1;
    }
    if (a->json_out)
        print_json(sh, &rep);
    else
        print_table(sh, &rep);
    print_errors(sh, rep.n_failed);
    return rep.n_failed ? 1 : 0;
}

int main(int argc, char **argv) {
    static bench_args args;
    static bench_shared sh;
    int rc = parse_args(argc, argv, &args);
    if (rc) return rc == 1 ? 0 : 2;
    if (!set_urls(&sh, args.url, args.is_chat)) return 2;
    sh.args = &args;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "serve_bench: curl_global_init failed\n");
        return 1;
    }
    rc = run_and_report(&sh);
    for (int i = 0; sh.results && i < args.n_requests; i++)
        ifn_free(sh.results[i].chunk_ns);
    ifn_free(sh.results);
    ifn_free(sh.model);
    curl_global_cleanup();
    return rc;
}
