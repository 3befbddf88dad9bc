/* Command dispatch and top-level usage. Each command lives in its own cmd_<name>.c. */
#include "cli/cli.h"

#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static void print_usage(FILE *out) {
    fprintf(out, "usage: inferneo <command> [options]\n"
                 "\n"
                 "commands:\n"
                 "  serve       serve a model over an OpenAI-compatible HTTP API\n"
                 "  run         generate text from a prompt\n"
                 "  tokenize    print the token ids of a text\n"
                 "  detokenize  print the text of token ids\n"
                 "  info        describe a model file\n"
                 "  synth       write a random-weight model (GGUF) for benchmarks\n"
                 "  bench       measure prompt and generation speed\n"
                 "  template    render a chat template with JSON variables\n"
                 "  help        show this message\n"
                 "\n"
                 "Run 'inferneo <command> --help' for a command's options.\n");
}

int ifn_cli_main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*main)(int argc, char **argv);
    } commands[] = {
        {"serve", ifn_cmd_serve_main},
        {"run", ifn_cmd_run_main},
        {"tokenize", ifn_cmd_tokenize_main},
        {"detokenize", ifn_cmd_tokenize_detokenize_main},
        {"info", ifn_cmd_info_main},
        {"synth", ifn_cmd_synth_main},
        {"bench", ifn_cmd_bench_main},
        {"template", ifn_cmd_template_main},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "inferneo: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return 2;
}
