/* vdsm/cli/commands.h: the subcommands of the `vdsm` program.
 *
 * Each command is `int vdsm_cmd_<name>(int argc, char **argv)` in vdsm/cli/cmd_<name>.c,
 * receiving argv[0] = "<name>". It returns the process exit code (0 ok, 1 runtime failure,
 * 2 usage error) and prints its own messages; --help prints its usage and returns 0.
 * Adding a command is adding a file and one line below.
 */
#ifndef VDSM_CLI_COMMANDS_H
#define VDSM_CLI_COMMANDS_H

#define VDSM_COMMANDS(X)                                                           \
    X(train, "train a spec's stages into a run directory, resuming by itself")    \
    X(data, "generate, convert and inspect datasets (vdsm data --help)")          \
    X(bench, "benchmarks: op throughput (--ops), ppl overhead (--ppl), data")     \
    X(schedule, "print and plot a spec's annealing schedules (vdsm schedule --help)") \
    X(generate, "reconstructions, swaps, prior samples, transfers (PNG, GIF) and the report") \
    X(report, "rebuild a run's HTML report (vdsm report --help)") \
    X(judge, "train/test the judge classifier of the judge protocol (vdsm judge --help)") \
    X(eval, "evaluation protocols over a run: judge, consistency, recon (vdsm eval --help)") \
    X(info, "the CPU threads and OpenBLAS kernel in use, and the CUDA backend's devices")

#define VDSM_X(name, help) int vdsm_cmd_##name(int argc, char **argv);
VDSM_COMMANDS(VDSM_X)
#undef VDSM_X

#endif
