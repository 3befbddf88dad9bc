/* `inferneo serve`: loads a model and serves the OpenAI-compatible API until SIGINT/SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "manager/model_config.h"
#include "manager/router.h"
#include "server/server.h"
#include "util/log.h"
#include "util/status.h"

typedef struct serve_options {
    ifn_served_model_params model;   /* the -m model; its engine params are every model's */
    ifn_manager_params manager;
    ifn_server_params server;
    const char *routing_path;
    char main_model_name[256];       /* the -m model's served name */
} serve_options;

static void print_serve_usage(FILE *out) {
    fprintf(out,
            "usage: inferneo serve -m MODEL [-z TOKENIZER] [options]\n"
            "       inferneo serve --model-repo DIR [-m MODEL] [options]\n"
            "\n"
            "Serves models over an OpenAI-compatible HTTP API: /v1/completions,\n"
            "/v1/chat/completions, /v1/embeddings, /v1/models, /tokenize, /detokenize, /health,\n"
            "/version, /stats, WebSocket streaming at /v1/ws, and the repository API under /v2\n"
            "(docs/server.md, docs/models.md). SIGINT/SIGTERM stop it gracefully.\n"
            "\n"
            "model:\n"
            "  -m, --model PATH            GGUF or llama2.c .bin\n"
            "  -z, --tokenizer PATH        llama2.c tokenizer.bin (default: beside the model)\n"
            "  --served-model-name NAME    the model id clients use (default: file name)\n"
            "  --chat-template NAME|FILE   built-in (chatml, llama2, llama3, mistral, gemma, phi3,\n"
            "                              zephyr) or a Jinja file (default: the model's, else chatml)\n"
            "model repository (docs/models.md):\n"
            "  --model-repo DIR            serve DIR/<name>/<version>/ models, loaded on first use\n"
            "  --max-memory BYTES          budget for loaded models (weights + KV + scratch);\n"
            "                              idle models are unloaded least-recently-used first\n"
            "  --max-models N              models loaded at once (default: no limit)\n"
            "  --keep-alive DURATION       idle time before a model unloads (default 5m; -1 never)\n"
            "  --rescan-interval SECONDS   poll the repository for new models (default: only on\n"
            "                              POST /v2/repository/index)\n"
            "  --routing FILE              aliases, weighted A/B splits, rules and fallbacks\n"
            "                              (docs/routing.md); reread on SIGHUP\n"
            "engine:\n"
            "  -t, --threads N             compute threads (default: physical cores)\n"
            "  -c, --ctx-size N            positions per sequence (default: the model's)\n"
            "  --max-num-seqs N            sequences running at once (default 64)\n"
            "  --max-batched-tokens N      tokens per engine step, prefill chunks included (128:\n"
            "                              small chunks keep streams flowing during prefills)\n"
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
    INT_OPTION(NULL, "--max-models", 0, 1 << 20, o->manager.max_models)
    INT_OPTION(NULL, "--rescan-interval", 0, 86400 * 365, o->manager.rescan_interval_ms)
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
    else if (ifn_args_is(a, NULL, "--model-repo")) o->manager.repository_dir = v;
    else if (ifn_args_is(a, NULL, "--routing")) o->routing_path = v;
    else if (ifn_args_is(a, NULL, "--max-memory")) return parse_bytes(a, v, &o->manager.max_memory_bytes);
    else if (ifn_args_is(a, NULL, "--keep-alive")) {
        if (ifn_model_config_parse_duration(v, &o->manager.keep_alive_ms) != IFN_OK)
            return ifn_fail(IFN_E_INVALID, "--keep-alive: '%s' is not a duration (300, 5m, -1)", v);
        if (o->manager.keep_alive_ms < 0) o->manager.keep_alive_ms = -1;
    }
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
    if (!o->model.model_path && !o->manager.repository_dir)
        return ifn_fail(IFN_E_INVALID, "-m MODEL or --model-repo DIR is required");
    o->server.request_timeout_ms *= 1000; /* given in seconds */
    o->server.shutdown_grace_ms *= 1000;
    o->manager.rescan_interval_ms *= 1000;
    o->manager.engine = o->model.engine;
    o->manager.n_threads = o->model.engine.n_threads;
    o->server.max_running = o->model.engine.max_num_seqs;
    o->server.routing_path = o->routing_path;
    return IFN_OK;
}

/* The -m model joins the manager pinned (never evicted) and is loaded before the server is
 * ready, so /health turns 200 only once it can answer. */
static ifn_status add_main_model(serve_options *o, ifn_manager *manager, const char **out_name) {
    char *name = o->main_model_name;
    const size_t cap = sizeof o->main_model_name;
    const char *path = o->model.model_path;
    if (o->model.name) snprintf(name, cap, "%s", o->model.name);
    else ifn_served_model_name_from_path(path, name, cap);
    ifn_model_config config;
    ifn_model_config_init(&config);
    config.is_pinned = 1;
    config.keep_alive_ms = IFN_KEEP_ALIVE_FOREVER;
    config.chat_template = (char *)o->model.chat_template; /* copied by ifn_manager_add */
    ifn_status st = ifn_manager_add(manager, name, path, o->model.tokenizer_path, &config);
    if (st == IFN_OK)
        st = ifn_manager_load(manager, name, IFN_KEEP_ALIVE_FOREVER, IFN_MANAGER_WAIT_FOREVER);
    *out_name = name;
    return st;
}

static ifn_status start_models(serve_options *o, ifn_manager **out_manager,
                               ifn_router_holder **out_router, const char **out_default) {
    *out_default = NULL;
    ifn_router *router = NULL;
    ifn_status st = o->routing_path ? ifn_router_load(o->routing_path, &router) : IFN_OK;
    if (st == IFN_OK && router) st = ifn_router_holder_create(router, out_router);
    if (st != IFN_OK) {
        if (router) ifn_router_release(router);
        return st;
    }
    st = ifn_manager_create(&o->manager, out_manager);
    if (st == IFN_OK && o->model.model_path) st = add_main_model(o, *out_manager, out_default);
    return st;
}

/* Waits for SIGINT/SIGTERM; SIGHUP rereads the routing file and goes on. */
static int wait_for_stop(ifn_server *server, const sigset_t *signals) {
    for (;;) {
        int sig = 0;
        sigwait(signals, &sig);
        if (sig != SIGHUP) return sig;
        if (ifn_server_reload_routing(server) == IFN_OK) IFN_LOG_INFO("serve", "routing reloaded");
        else IFN_LOG_WARN("serve", "routing not reloaded: %s", ifn_last_error());
    }
}

static int serve(serve_options *o, const sigset_t *stop_signals) {
    ifn_server *server = NULL;
    if (ifn_server_start(&o->server, &server) != IFN_OK) {
        fprintf(stderr, "inferneo serve: %s\n", ifn_last_error());
        return 1;
    }
    IFN_LOG_INFO("serve", "listening on http://%s:%u", o->server.http.host,
                 (unsigned)ifn_server_port(server));
    ifn_manager *manager = NULL;
    ifn_router_holder *router = NULL;
    const char *default_model = NULL;
    if (start_models(o, &manager, &router, &default_model) != IFN_OK) {
        fprintf(stderr, "inferneo serve: %s\n", ifn_last_error());
        ifn_manager_destroy(manager);
        ifn_router_holder_destroy(router);
        ifn_server_shutdown(server);
        return 1;
    }
    ifn_server_set_models(server, manager, router, default_model);
    IFN_LOG_INFO("serve", "ready at http://%s:%u/v1%s%s", o->server.http.host,
                 (unsigned)ifn_server_port(server), default_model ? ", default model " : "",
                 default_model ? default_model : "");
    int sig = wait_for_stop(server, stop_signals);
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
                       .manager = ifn_manager_params_default(),
                       .server = ifn_server_params_default()};
    /* On a CPU a step is compute-bound: a 512-token prefill chunk stalls every running stream
     * for its whole duration (ITL p99 1.4 s against 0.42 s at 128 in docs/benchmarks.md), while
     * throughput and TTFT do not suffer from smaller chunks. */
    o.model.engine.max_batched_tokens = 128;
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
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an error code, not a signal */
    return serve(&o, &stop_signals);
}
