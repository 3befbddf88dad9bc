/* The `inferneo` binary: everything lives in libinferneo; main only hands over argv. */
#include "cli/cli.h"

int main(int argc, char **argv) {
    return ifn_cli_main(argc, argv);
}
