/* Command-line front end: `inferneo <command> [options]`. */
#ifndef IFN_CLI_CLI_H
#define IFN_CLI_CLI_H

/* Runs one command; returns the process exit status (0 ok, 1 runtime error, 2 usage error). */
int ifn_cli_main(int argc, char **argv);

#endif
