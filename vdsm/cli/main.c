/* vdsm: the command-line front end. Dispatches to one function per subcommand. */
#include <stdio.h>
#include <string.h>

#include "vdsm/cli/commands.h"

struct command {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
#define VDSM_X(name, help) {#name, help, vdsm_cmd_##name},
    VDSM_COMMANDS(VDSM_X)
#undef VDSM_X
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm <command> [options]   (vdsm <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    /* OpenBLAS chose its kernels when it loaded: if it fell back to generic ones on a CPU it
     * does not know, run again with the ones the CPU supports */
    vdsm_use_native_blas("vdsm", argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vdsm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
