/* `inferneo run`: generate text from a prompt. stdout gets the prompt and then the generated
 * text as it is produced, nothing else; stderr gets one line of speeds at the end. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "inferneo/inferneo.h"
#include "util/log.h"
#include "util/status.h"

#define MAX_STOPS 16

typedef struct run_options {
    ifn_llm_params load;
    ifn_generate_params gen;
    const char *prompt;
    const char *stops[MAX_STOPS];
} run_options;

static void print_run_usage(FILE *out) {
    fprintf(out,
            "usage: inferneo run -m MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [options]\n"
            "\n"
            "Generates text and writes the prompt followed by the new text to stdout.\n"
            "\n"
            "  -m, --model PATH        model file (.gguf, or llama2.c .bin)\n"
            "  -z, --tokenizer PATH    llama2.c tokenizer.bin (default: beside the model)\n"
            "  -p, --prompt TEXT       prompt (default: empty, generation starts after BOS)\n"
            "  -n, --n-predict N       new tokens at most (default 256)\n"
            "  -c, --ctx-size N        context positions (default: the model's)\n"
            "  -t, --threads N         compute threads (default: physical cores)\n"
            "      --exact             float32 activations with exactly decoded weights\n"
            "                          (default: 8-bit activation blocks, like llama.cpp)\n"
            "      --temp T            temperature, 0 = greedy (default 0.8)\n"
            "      --top-k K           keep the K most likely tokens, 0 = off (default 40)\n"
            "      --top-p P           nucleus sampling mass, 1 = off (default 0.95)\n"
            "      --min-p P           drop tokens below P x the top probability (default 0.05)\n"
            "      --repeat-penalty R  repetition penalty, 1 = off (default 1)\n"
            "      --presence-penalty X, --frequency-penalty X   OpenAI penalties (default 0)\n"
            "  -s, --seed S            random seed (default: random)\n"
            "      --stop TEXT         stop before this text (repeatable, up to %d)\n"
            "      --ignore-eos        continue past end-of-generation tokens\n"
            "  -v, --verbose           log loading details to stderr\n",
            MAX_STOPS);
}

static ifn_status parse_sampling(int argc, char **argv, int *i, run_options *o, int *matched) {
    const char *a = argv[*i], *v = NULL;
    double f;
    int64_t n;
    ifn_status st = IFN_OK;
    *matched = 1;
    if (ifn_args_is(a, NULL, "--temp")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, 0, 100, &f)) == IFN_OK)
            o->gen.temperature = (float)f;
    } else if (ifn_args_is(a, NULL, "--top-k")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_int(a, v, 0, 1 << 30, &n)) == IFN_OK)
            o->gen.top_k = (int32_t)n;
    } else if (ifn_args_is(a, NULL, "--top-p")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, 1e-6, 1, &f)) == IFN_OK)
            o->gen.top_p = (float)f;
    } else if (ifn_args_is(a, NULL, "--min-p")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, 0, 1, &f)) == IFN_OK)
            o->gen.min_p = (float)f;
    } else if (ifn_args_is(a, NULL, "--repeat-penalty")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, 1e-3, 100, &f)) == IFN_OK)
            o->gen.repetition_penalty = (float)f;
    } else if (ifn_args_is(a, NULL, "--presence-penalty")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, -2, 2, &f)) == IFN_OK)
            o->gen.presence_penalty = (float)f;
    } else if (ifn_args_is(a, NULL, "--frequency-penalty")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_float(a, v, -2, 2, &f)) == IFN_OK)
            o->gen.frequency_penalty = (float)f;
    } else if (ifn_args_is(a, "-s", "--seed")) {
        if ((st = ifn_args_value(argc, argv, i, &v)) == IFN_OK &&
            (st = ifn_args_int(a, v, 0, INT64_MAX, &n)) == IFN_OK) {
            o->gen.seed = (uint64_t)n;
            o->gen.has_seed = 1;
        }
    } else {
        *matched = 0;
    }
    return st;
}

static ifn_status parse_run_options(int argc, char **argv, run_options *o) {
    int64_t n;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int matched = 0;
        ifn_status st = parse_sampling(argc, argv, &i, o, &matched);
        if (st != IFN_OK) return st;
        if (matched) continue;
        if (ifn_args_is(a, "-m", "--model")) st = ifn_args_value(argc, argv, &i, &o->load.model_path);
        else if (ifn_args_is(a, "-z", "--tokenizer"))
            st = ifn_args_value(argc, argv, &i, &o->load.tokenizer_path);
        else if (ifn_args_is(a, "-p", "--prompt")) st = ifn_args_value(argc, argv, &i, &o->prompt);
        else if (ifn_args_is(a, "-n", "--n-predict")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK &&
                (st = ifn_args_int(a, v, 0, 1 << 30, &n)) == IFN_OK)
                o->gen.max_tokens = (int32_t)n;
        } else if (ifn_args_is(a, "-c", "--ctx-size")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK &&
                (st = ifn_args_int(a, v, 0, 1 << 24, &n)) == IFN_OK)
                o->load.n_ctx = (int32_t)n;
        } else if (ifn_args_is(a, "-t", "--threads")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK &&
                (st = ifn_args_int(a, v, 0, 512, &n)) == IFN_OK)
                o->load.n_threads = (int32_t)n;
        } else if (ifn_args_is(a, NULL, "--exact")) {
            o->load.exact = 1;
        } else if (ifn_args_is(a, NULL, "--stop")) {
            if (o->gen.n_stop == MAX_STOPS) return ifn_fail(IFN_E_INVALID, "too many --stop");
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK && v[0])
                o->stops[o->gen.n_stop++] = v;
        } else if (ifn_args_is(a, NULL, "--ignore-eos")) o->gen.ignore_eos = 1;
        else if (ifn_args_is(a, "-v", "--verbose")) ifn_log_set_level(IFN_LOG_LEVEL_DEBUG);
        else return ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
        if (st != IFN_OK) return st;
    }
    if (!o->load.model_path) return ifn_fail(IFN_E_INVALID, "-m MODEL is required");
    return IFN_OK;
}

static int write_text(const char *text, size_t len, void *user) {
    (void)user;
    if (fwrite(text, 1, len, stdout) != len) return 1; /* e.g. a closed pipe: stop generating */
    fflush(stdout);
    return 0;
}

static int generate_and_report(ifn_llm *llm, run_options *o) {
    int32_t *ids = NULL;
    size_t n_ids = 0;
    const char *prompt = o->prompt ? o->prompt : "";
    ifn_status st = ifn_llm_tokenize(llm, prompt, strlen(prompt), 1, 0, &ids, &n_ids);
    if (st == IFN_OK && n_ids == 0)
        st = IFN_E_INVALID; /* a model without BOS and an empty prompt: nothing to condition on */
    if (st != IFN_OK) {
        fprintf(stderr, "inferneo: cannot tokenize the prompt: %s\n",
                n_ids == 0 && st == IFN_E_INVALID ? "it is empty and the model adds no BOS"
                                                  : ifn_last_error());
        ifn_llm_free(ids);
        return 1;
    }
    write_text(prompt, strlen(prompt), NULL);
    ifn_generate_result res;
    st = ifn_llm_generate(llm, ids, n_ids, &o->gen, write_text, NULL, &res);
    ifn_llm_free(ids);
    if (st != IFN_OK) {
        fprintf(stderr, "\ninferneo: generation failed: %s\n", ifn_last_error());
        return 1;
    }
    if (isatty(STDOUT_FILENO)) fputc('\n', stdout);
    fflush(stdout);
    int32_t n_decoded = res.n_generated_tokens > 1 ? res.n_generated_tokens - 1 : 0;
    fprintf(stderr,
            "prompt: %d tokens in %.3f s (%.1f tokens/s); generation: %d tokens in %.3f s "
            "(%.1f tokens/s)\n",
            res.n_prompt_tokens, res.prompt_seconds,
            res.prompt_seconds > 0 ? res.n_prompt_tokens / res.prompt_seconds : 0.0,
            res.n_generated_tokens, res.generate_seconds,
            res.generate_seconds > 0 ? n_decoded / res.generate_seconds : 0.0);
    return 0;
}

int ifn_cmd_run_main(int argc, char **argv) {
    if (ifn_args_wants_help(argc, argv)) {
        print_run_usage(stdout);
        return 0;
    }
    ifn_log_set_level(IFN_LOG_LEVEL_WARN);
    run_options o = {.load = ifn_llm_params_default(), .gen = ifn_generate_params_default()};
    o.gen.temperature = 0.8f;
    o.gen.top_k = 40;
    o.gen.top_p = 0.95f;
    o.gen.min_p = 0.05f;
    o.gen.stop = o.stops;
    if (parse_run_options(argc, argv, &o) != IFN_OK) {
        fprintf(stderr, "inferneo run: %s\n", ifn_last_error());
        print_run_usage(stderr);
        return 2;
    }
    ifn_llm *llm = NULL;
    if (ifn_llm_load(&o.load, &llm) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
        return 1;
    }
    int rc = generate_and_report(llm, &o);
    ifn_llm_destroy(llm);
    return rc;
}
