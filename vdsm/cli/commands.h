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
    X(bench, "benchmarks: training steps of a spec (--precision), op throughput (--ops)") \
    X(schedule, "print and plot a spec's annealing schedules (vdsm schedule --help)") \
    X(generate, "reconstructions, swaps, prior samples, transfers (PNG, GIF) and the report") \
    X(report, "rebuild a run's HTML report (vdsm report --help)") \
    X(judge, "train/test the judge classifier of the judge protocol (vdsm judge --help)") \
    X(eval, "evaluation protocols over a run: judge, consistency, recon (vdsm eval --help)") \
    X(sweep, "expand a sweep file into runs and train them: --jobs, mpirun, --emit slurm") \
    X(compare, "tables and overlaid curves of a sweep's runs, mean +- std over seeds") \
    X(info, "the CPU threads and OpenBLAS kernel in use, and the CUDA backend's devices")

#define VDSM_X(name, help) int vdsm_cmd_##name(int argc, char **argv);
VDSM_COMMANDS(VDSM_X)
#undef VDSM_X

/* First thing in a main: if OpenBLAS fell back to generic kernels on a CPU it does not know
 * (nn/blas.h), says so on stderr (prefixed with `who`), sets OPENBLAS_CORETYPE to the kernels
 * the CPU supports and VDSM_BLAS_FALLBACK to "<OpenBLAS's choice>><them>", and execs
 * /proc/self/exe with argv. Returns when there is nothing to do, or when the exec failed (the
 * environment restored; the generic kernels run). The test binaries call it too, so that a
 * test's numbers and those of the vdsm processes it starts come from the same kernels. */
void vdsm_use_native_blas(const char *who, char **argv);

#endif
