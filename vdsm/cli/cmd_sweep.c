/* vdsm sweep: expand a sweep file into runs and train them (local jobs, MPI ranks, Slurm). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/cli/commands.h"
#include "vdsm/sweep/sweep.h"

#define MAX_SBATCH 32

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vdsm sweep SWEEP.yaml [--jobs N] [--threads N] [--out DIR] [--only INDEX] [--list]\n"
            "       vdsm sweep SWEEP.yaml --emit slurm [--cpus N] [--time T] [--sbatch OPTION]...\n"
            "\n"
            "Expands SWEEP.yaml (a base spec, axes, variants, seeds: docs/sweeps.md) into points, validates\n"
            "every point's spec, writes the sweep directory (default sweeps/<name>: sweep.json and one run\n"
            "directory per point with its spec.yaml) and trains the points, each as a child `vdsm train`.\n"
            "Finished points are skipped and interrupted ones resume from their checkpoints, so running it\n"
            "again completes a sweep. Under mpirun each rank trains the points whose index %% ranks is its\n"
            "rank (the rank is read from OMPI_COMM_WORLD_RANK/SIZE or PMI_RANK/SIZE).\n"
            "\n"
            "  --jobs N       runs at a time in this process (default 1)\n"
            "  --threads N    CPU threads per run (default: the cores / (jobs x ranks on this node))\n"
            "  --out DIR      the sweep directory, instead of the file's out (or sweeps/<name>)\n"
            "  --only INDEX   train only point INDEX (what each Slurm array task runs)\n"
            "  --list         print the points and their state; train nothing\n"
            "  --emit slurm   write DIR/sweep.slurm, a job array of one task per point; train nothing\n"
            "  --cpus N       the script's --cpus-per-task (default 4); --time T its --time limit;\n"
            "  --sbatch OPT   one more #SBATCH line (e.g. --sbatch --partition=gpu), repeatable\n"
            "exit status: 0 every point of this share finished, 1 a run or the launcher failed,\n"
            "2 a usage error or an invalid sweep (file:line:col: key: what)\n");
}

struct args {
    const char *file, *out, *emit, *time, *sbatch[MAX_SBATCH];
    int jobs, threads, only, cpus, nsbatch;
    bool list;
};

static bool int_arg(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

/* Returns -1 when parsed, else the exit code. */
static int parse(int argc, char **argv, struct args *a)
{
    *a = (struct args){.jobs = 1, .only = -1, .cpus = 4};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(s, "--list")) a->list = true;
        else if (!v && s[0] == '-') ok = false;
        else if (!strcmp(s, "--jobs")) ok = int_arg(argv[++i], 1, 1024, &a->jobs);
        else if (!strcmp(s, "--threads")) ok = int_arg(argv[++i], 1, 1024, &a->threads);
        else if (!strcmp(s, "--only")) ok = int_arg(argv[++i], 0, 1000000, &a->only);
        else if (!strcmp(s, "--cpus")) ok = int_arg(argv[++i], 1, 4096, &a->cpus);
        else if (!strcmp(s, "--out")) a->out = argv[++i];
        else if (!strcmp(s, "--time")) a->time = argv[++i];
        else if (!strcmp(s, "--emit")) ok = !strcmp(a->emit = argv[++i], "slurm");
        else if (!strcmp(s, "--sbatch") && a->nsbatch < MAX_SBATCH) a->sbatch[a->nsbatch++] = argv[++i];
        else if (s[0] != '-' && !a->file) a->file = s;
        else ok = false;
        if (!ok && v && argv[i] == v) {
            fprintf(stderr, "vdsm sweep: bad value '%s' for %s (vdsm sweep --help)\n", v, s);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "vdsm sweep: unexpected argument '%s'\n", s);
            usage(stderr);
            return 2;
        }
    }
    if (!a->file) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static int list(const struct vdsm_sweep *sw)
{
    static const char *const states[] = {"pending", "done", "failed", "running"};
    printf("%s: %d points from %s (%s), in %s\n", sw->name, sw->n, sw->spec_path,
           sw->mode == VDSM_SWEEP_ZIP ? "zip" : "grid", sw->dir);
    for (int i = 0; i < sw->n; i++) {
        char detail[600], *desc = vdsm_sweep_point_desc(&sw->pts[i]);
        enum vdsm_run_state s = vdsm_sweep_state(&sw->pts[i], detail, sizeof detail);
        printf("%4d  %-8s %s  %s%s%s\n", i, states[s], sw->pts[i].name, desc ? desc : "", *detail && s != VDSM_RUN_DONE ? "  # " : "",
               s != VDSM_RUN_DONE ? detail : "");
        free(desc);
    }
    return 0;
}

static int emit_slurm(const struct vdsm_sweep *sw, const struct args *a)
{
    char exe[PATH_MAX], path[PATH_MAX + 32];
    struct nn_err e = {0};
    if (!realpath("/proc/self/exe", exe)) snprintf(exe, sizeof exe, "vdsm");
    struct vdsm_slurm_opts o = {.exe = exe, .cpus = a->cpus, .time = a->time, .extra = a->sbatch, .nextra = a->nsbatch};
    if (vdsm_sweep_slurm(sw, &o, path, sizeof path, &e)) {
        fprintf(stderr, "vdsm sweep: %s\n", e.msg);
        return 1;
    }
    printf("%s (%d array tasks; submit with: sbatch %s)\n", path, sw->n, path);
    return 0;
}

int vdsm_cmd_sweep(int argc, char **argv)
{
    struct args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    struct nn_err e = {0};
    struct vdsm_sweep sw;
    if (vdsm_sweep_load(a.file, a.out, &sw, &e)) {
        fprintf(stderr, "vdsm sweep: %s\n", e.msg);
        return 2;
    }
    if (a.list) {
        rc = list(&sw);
        vdsm_sweep_free(&sw);
        return rc;
    }
    if (vdsm_sweep_prepare(&sw, &e)) {
        fprintf(stderr, "vdsm sweep: %s\n", e.msg);
        vdsm_sweep_free(&sw);
        return 1;
    }
    if (a.emit) {
        rc = emit_slurm(&sw, &a);
        vdsm_sweep_free(&sw);
        return rc;
    }
    struct vdsm_sweep_opts o = {.jobs = a.jobs, .threads = a.threads, .only = a.only};
    vdsm_sweep_rank(&o.rank, &o.nranks, &o.local_ranks);
    struct vdsm_sweep_summary sum;
    nn_status st = vdsm_sweep_run(&sw, &o, &sum, &e);
    if (st) fprintf(stderr, "vdsm sweep: %s\n", e.msg);
    else if (sum.failed) fprintf(stderr, "vdsm sweep: %d of %d runs failed (their RUN/sweep.log says why; run again to retry)\n",
                                 sum.failed, sum.total);
    vdsm_sweep_free(&sw);
    return st || sum.failed ? 1 : 0;
}
