/* `inferneo serve`: loads a model and serves the OpenAI-compatible API until SIGINT/SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "server/server.h"
#include "util/log.h"
#include "util/status.h"

typedef struct serve_options {
    ifn_served_model_params model;
    ifn_server_params server;
} serve_options;

static void print_serve_usage(FILE *out) {
    fprintf(out,
            "usage: inferneo serve -m MODEL [-z TOKENIZER] [options]\n"
            "\n"
            "Serves MODEL over an OpenAI-compatible HTTP API: /v1/completions,\n"
            "/v1/chat/completions, /v1/embeddings, /v1/models, /tokenize, /detokenize, /health,\n"
            "/version, /stats, and WebSocket streaming at /v1/ws. SIGINT/SIGTERM stop it gracefully.\n"
            "\n"
            "model:\n"
            "  -m, --model PATH            GGUF or llama2.c .bin\n"
            "  -z, --tokenizer PATH        llama2.c tokenizer.bin (default: beside the model)\n"
            "  --served-model-name NAME    the model id clients use (default: file name)\n"
            "  --chat-template NAME|FILE   built-in (chatml, llama2, llama3, mistral, gemma, phi3,\n"
            "                              zephyr) or a Jinja file (default: the model's, else chatml)\n"
            "engine:\n"
            "  -t, --threads N             compute threads (default: physical cores)\n"
            "  -c, --ctx-size N            positions per sequence (default: the model's)\n"
            "  --max-num-seqs N            sequences running at once (default 64)\n"
            "  --max-batched-tokens N      tokens per engine step, prefill chunks included (512)\n"
            "  --kv-cache-memory BYTES     KV cache size, K/M/G suffixes (default: enough for\n"
            "                              max-num-seqs full contexts, at most 1/4 of free RAM)\n"
            "  --kv-type f16|f32           KV cache precision (default f16)\n"
            "  --block-size N              positions per KV block (default 16)\n"
            "  --no-prefix-cache           do not reuse KV blocks of shared prefixes\n"
            "  --exact                     float32 activations (reference accuracy, slower)\n"
            "server:\n"
            "  --host ADDR                 numeric address to listen on (default 127.0.0.1)\n"
            "  --port N                    (default 8000; 0 = any free port)\n"
            "  --max-queue N               requests waiting beyond the running ones; more get\n"
            "                              503 with Retry-After (default 256)\n"
            "  --max-body BYTES            larger request bodies get 413 (default 8M)\n"
            "  --request-timeout SECONDS   per request (default: none)\n"
            "  --shutdown-grace SECONDS    time in-flight requests get on shutdown (default 10)\n"
            "  -v, --verbose               log every request\n");
}

static ifn_status parse_bytes(const char *option, const char *text, size_t *out) {
    char *end;
    double v = strtod(text, &end);
    double scale = 1;
    if (*end == 'K' || *end == 'k') scale = 1024.0, end++;
    else if (*end == 'M' || *end == 'm') scale = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') scale = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'i') end++;
    if (end == text || *end != '\0' || !(v > 0) || v * scale > 1e15)
        return ifn_fail(IFN_E_INVALID, "%s: '%s' is not a size in bytes (e.g. 512M, 4G)", option,
                        text);
    *out = (size_t)(v * scale);
    return IFN_OK;
}

/* Options that take an integer: name, bounds, and where the value goes. */
static ifn_status parse_int_option(serve_options *o, const char *a, const char *v, int *matched) {
    ifn_engine_params *e = &o->model.engine;
    int64_t n = 0;
    ifn_status st = IFN_OK;
    *matched = 1;
#define INT_OPTION(short_name, long_name, lo, hi, target)                                         \
    if (ifn_args_is(a, short_name, long_name)) {                                                   \
        if ((st = ifn_args_int(a, v, lo, hi, &n)) == IFN_OK) target = n;                           \
        return st;                                                                                 \
    }
    INT_OPTION("-t", "--threads", 0, 512, e->n_threads)
    INT_OPTION("-c", "--ctx-size", 0, 1 << 24, e->n_ctx)
    INT_OPTION(NULL, "--max-num-seqs", 1, 4096, e->max_num_seqs)
    INT_OPTION(NULL, "--max-batched-tokens", 1, 1 << 20, e->max_batched_tokens)
    INT_OPTION(NULL, "--block-size", 1, 1024, e->block_size)
    INT_OPTION(NULL, "--port", 0, 65535, o->server.http.port)
    INT_OPTION(NULL, "--max-queue", 0, 1 << 20, o->server.max_queue)
    INT_OPTION(NULL, "--request-timeout", 0, 86400 * 7, o->server.request_timeout_ms)
    INT_OPTION(NULL, "--shutdown-grace", 0, 86400, o->server.shutdown_grace_ms)
#undef INT_OPTION
    *matched = 0;
    return IFN_OK;
}

static int takes_value(const char *a) {
    static const char *const flags[] = {"--exact", "--no-prefix-cache", "-v", "--verbose"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(a, flags[i]) == 0) return 0;
    return 1;
}

static ifn_status parse_option(serve_options *o, const char *a, const char *v) {
    int matched = 0;
    ifn_status st = parse_int_option(o, a, v, &matched);
    if (matched || st != IFN_OK) return st;
    if (ifn_args_is(a, "-m", "--model")) o->model.model_path = v;
    else if (ifn_args_is(a, "-z", "--tokenizer")) o->model.tokenizer_path = v;
    else if (ifn_args_is(a, NULL, "--served-model-name")) o->model.name = v;
    else if (ifn_args_is(a, NULL, "--chat-template")) o->model.chat_template = v;
    else if (ifn_args_is(a, NULL, "--host")) o->server.http.host = v;
    else if (ifn_args_is(a, NULL, "--kv-cache-memory"))
        return parse_bytes(a, v, &o->model.engine.kv_cache_bytes);
    else if (ifn_args_is(a, NULL, "--max-body")) return parse_bytes(a, v, &o->server.http.max_body_bytes);
    else if (ifn_args_is(a, NULL, "--kv-type")) {
        if (strcmp(v, "f16") == 0) o->model.engine.kv_type = IFN_DTYPE_F16;
        else if (strcmp(v, "f32") == 0) o->model.engine.kv_type = IFN_DTYPE_F32;
        else return ifn_fail(IFN_E_INVALID, "--kv-type must be f16 or f32");
    } else return ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
    return IFN_OK;
}

static ifn_status parse_serve_options(int argc, char **argv, serve_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--exact") == 0) o->model.engine.exact = 1;
        else if (strcmp(a, "--no-prefix-cache") == 0) o->model.engine.enable_prefix_cache = 0;
        else if (ifn_args_is(a, "-v", "--verbose")) ifn_log_set_level(IFN_LOG_LEVEL_DEBUG);
        if (!takes_value(a)) continue;
        ifn_status st = ifn_args_value(argc, argv, &i, &v);
        if (st == IFN_OK) st = parse_option(o, a, v);
        if (st != IFN_OK) return st;
    }
    if (!o->model.model_path) return ifn_fail(IFN_E_INVALID, "-m MODEL is required");
    o->server.request_timeout_ms *= 1000; /* given in seconds */
    o->server.shutdown_grace_ms *= 1000;
    o->server.max_running = o->model.engine.max_num_seqs;
    return IFN_OK;
}

static int serve(serve_options *o, const sigset_t *stop_signals) {
    ifn_server *server = NULL;
    if (ifn_server_start(&o->server, &server) != IFN_OK) {
        fprintf(stderr, "inferneo serve: %s\n", ifn_last_error());
        return 1;
    }
    IFN_LOG_INFO("serve", "listening on http://%s:%u (loading %s)", o->server.http.host,
                 (unsigned)ifn_server_port(server), o->model.model_path);
    ifn_served_model *model = NULL;
    if (ifn_served_model_load(&o->model, &model) != IFN_OK) {
        fprintf(stderr, "inferneo serve: %s\n", ifn_last_error());
        ifn_server_shutdown(server);
        return 1;
    }
    ifn_server_set_model(server, model);
    IFN_LOG_INFO("serve", "ready: model '%s' at http://%s:%u/v1", model->name, o->server.http.host,
                 (unsigned)ifn_server_port(server));
    int sig = 0;
    sigwait(stop_signals, &sig);
    IFN_LOG_INFO("serve", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ifn_server_shutdown(server);
    IFN_LOG_INFO("serve", "stopped");
    return 0;
}

int ifn_cmd_serve_main(int argc, char **argv) {
    if (ifn_args_wants_help(argc, argv)) {
        print_serve_usage(stdout);
        return 0;
    }
    serve_options o = {.model = ifn_served_model_params_default(),
                       .server = ifn_server_params_default()};
    if (parse_serve_options(argc, argv, &o) != IFN_OK) {
        fprintf(stderr, "inferneo serve: %s\n", ifn_last_error());
        print_serve_usage(stderr);
        return 2;
    }
    /* Blocked before any thread starts, so only the sigwait below receives them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an error code, not a signal */
    return serve(&o, &stop_signals);
}
