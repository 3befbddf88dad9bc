/* `inferneo info`: a model card — format, architecture, hyper-parameters, tokenizer, and the
 * tensor types and sizes. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/llm.h"
#include "model/gguf.h"
#include "util/log.h"
#include "util/status.h"

static void print_info_usage(FILE *out) {
    fprintf(out, "usage: inferneo info -m MODEL [-z TOKENIZER] [--tensors]\n"
                 "\n"
                 "Prints architecture, hyper-parameters, tokenizer kind, tensor types and sizes.\n"
                 "  -m, --model PATH       model file (.gguf, or llama2.c .bin)\n"
                 "  -z, --tokenizer PATH   llama2.c tokenizer.bin (default: beside the model)\n"
                 "      --tensors          list every tensor (GGUF)\n");
}

static void print_hparams(const ifn_model *model) {
    const ifn_hparams *hp = ifn_model_hparams(model);
    printf("architecture:      %s\n", hp->arch);
    printf("context length:    %d\n", hp->n_ctx_train);
    printf("embedding length:  %d\n", hp->n_embd);
    printf("layers:            %d\n", hp->n_layer);
    printf("feed-forward:      %d\n", hp->n_ff);
    printf("heads:             %d (KV heads %d, head size %d)\n", hp->n_head, hp->n_head_kv,
           hp->head_dim);
    printf("rope:              %s, %d dims, base %g, scale %g\n",
           hp->rope_kind == IFN_ROPE_NORM ? "normal" : "neox", hp->n_rot, hp->rope_freq_base,
           hp->rope_freq_scale);
    printf("rms epsilon:       %g\n", hp->rms_eps);
    printf("output:            %s\n", ifn_model_tied_output(model) ? "tied to token embedding"
                                                                    : "separate classifier");
    printf("weights:           %.2f MB\n", (double)ifn_model_weight_bytes(model) / 1e6);
}

static void print_vocab(const ifn_vocab *vocab) {
    static const char *kinds[] = {"SentencePiece BPE (llama)", "byte-level BPE (gpt2)",
                                  "WordPiece (bert)"};
    printf("tokenizer:         %s, %d tokens, BOS %d, EOS %d%s\n", kinds[ifn_vocab_get_kind(vocab)],
           ifn_vocab_size(vocab), ifn_vocab_bos(vocab), ifn_vocab_eos(vocab),
           ifn_vocab_adds_bos(vocab) ? ", adds BOS" : "");
}

static void print_gguf_tensors(const ifn_gguf *g, int list_all) {
    size_t bytes_by_type[IFN_DTYPE_COUNT] = {0};
    int count_by_type[IFN_DTYPE_COUNT] = {0};
    int64_t n_params = 0;
    for (int64_t i = 0; i < ifn_gguf_tensor_count(g); i++) {
        const ifn_gguf_tensor *t = ifn_gguf_tensor_at(g, i);
        bytes_by_type[t->type] += t->size_bytes;
        count_by_type[t->type]++;
        n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        if (list_all)
            printf("  %-32.*s %-6s [%lld, %lld, %lld, %lld] %zu bytes\n", (int)t->name.len,
                   t->name.ptr, ifn_dtype_get_info((uint32_t)t->type)->name, (long long)t->ne[0],
                   (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], t->size_bytes);
    }
    printf("parameters:        %lld\n", (long long)n_params);
    printf("tensor types:     ");
    for (int t = 0; t < IFN_DTYPE_COUNT; t++)
        if (count_by_type[t])
            printf(" %s x%d (%.2f MB)", ifn_dtype_get_info((uint32_t)t)->name, count_by_type[t],
                   (double)bytes_by_type[t] / 1e6);
    printf("\n");
}

static void print_gguf_header(const ifn_gguf *g) {
    ifn_str name;
    printf("format:            GGUF v%u, alignment %zu, %lld metadata keys, %lld tensors\n",
           ifn_gguf_version(g), ifn_gguf_alignment(g), (long long)ifn_gguf_kv_count(g),
           (long long)ifn_gguf_tensor_count(g));
    if (ifn_gguf_get_string(g, "general.name", &name) == IFN_OK && name.ptr)
        printf("name:              %.*s\n", (int)name.len, name.ptr);
}

int ifn_cmd_info_main(int argc, char **argv) {
    if (ifn_args_wants_help(argc, argv)) {
        print_info_usage(stdout);
        return 0;
    }
    ifn_log_set_level(IFN_LOG_LEVEL_WARN);
    ifn_llm_params load = ifn_llm_params_default();
    load.n_ctx = 1;
    int list_all = 0;
    for (int i = 1; i < argc; i++) {
        ifn_status st = IFN_OK;
        if (ifn_args_is(argv[i], "-m", "--model")) st = ifn_args_value(argc, argv, &i, &load.model_path);
        else if (ifn_args_is(argv[i], "-z", "--tokenizer"))
            st = ifn_args_value(argc, argv, &i, &load.tokenizer_path);
        else if (ifn_args_is(argv[i], NULL, "--tensors")) list_all = 1;
        else st = ifn_fail(IFN_E_INVALID, "unknown option '%s'", argv[i]);
        if (st != IFN_OK || (i == argc - 1 && !load.model_path)) {
            fprintf(stderr, "inferneo info: %s\n", st != IFN_OK ? ifn_last_error() : "-m MODEL is required");
            print_info_usage(stderr);
            return 2;
        }
    }
    ifn_llm *llm = NULL;
    if (!load.model_path || ifn_llm_load(&load, &llm) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", load.model_path ? ifn_last_error() : "-m MODEL is required");
        return load.model_path ? 1 : 2;
    }
    const ifn_model *model = ifn_llm_model(llm);
    printf("file:              %s\n", load.model_path);
    if (ifn_model_gguf(model)) print_gguf_header(ifn_model_gguf(model));
    else printf("format:            llama2.c checkpoint (float32)\n");
    print_hparams(model);
    print_vocab(ifn_llm_vocab(llm));
    if (ifn_model_gguf(model)) print_gguf_tensors(ifn_model_gguf(model), list_all);
    ifn_llm_destroy(llm);
    return 0;
}
