/* Entry points of the CLI commands; each returns the process exit status (0 ok, 1 runtime
 * error, 2 usage error). argv[0] is the command name. */
#ifndef IFN_CLI_COMMANDS_H
#define IFN_CLI_COMMANDS_H

int ifn_cmd_serve_main(int argc, char **argv);
int ifn_cmd_run_main(int argc, char **argv);
int ifn_cmd_tokenize_main(int argc, char **argv);   /* tokenize */
int ifn_cmd_tokenize_detokenize_main(int argc, char **argv); /* detokenize */
int ifn_cmd_info_main(int argc, char **argv);
int ifn_cmd_synth_main(int argc, char **argv);
int ifn_cmd_bench_main(int argc, char **argv);
int ifn_cmd_template_main(int argc, char **argv);

#endif
