/* vdsm/sweep/sweep.h: a sweep file expanded into runs, and the launchers that train them.
 *
 * A sweep file (YAML, read with the spec tree, so every error is "file:line:col: key: what")
 * names a base spec and the overrides that make its points: `set` (every point), `axes` (key
 * paths as in --set, each with a list of values, crossed or zipped), `variants` (a name -> a
 * set of overrides) and `seeds`. Expansion gives one point per variant x axis combination x
 * seed, each with a readable directory name made of its variant, its axis values and its
 * seed ("constant,lr=0.001,seed=2"), and validates every point's spec before anything runs.
 * docs/sweeps.md is the reference.
 *
 * The sweep directory holds sweep.json (the manifest) and one run directory per point with its
 * resolved spec.yaml; a point is trained by a child process of the same program
 * (`vdsm train RUN/spec.yaml --run-dir RUN`), so a failing or crashing run never takes the
 * sweep down. RUN/sweep.status says what the last launcher saw: "done <spec hash>",
 * "failed <why>" or "running <host> <pid>"; a run is finished when it says done with the hash
 * of the point's current spec, and anything else is trained again (training resumes from the
 * run's checkpoints by itself). RUN/sweep.lock is held (flock) while a launcher trains the run.
 *
 * Ownership: vdsm_sweep_load fills a caller-owned struct; vdsm_sweep_free releases it.
 * Errors: status + message in err; only the CLI prints.
 *
 *   struct vdsm_sweep sw;
 *   if (vdsm_sweep_load("sweeps/pose.yaml", NULL, &sw, &err)) { fputs(err.msg, stderr); ... }
 *   if (!vdsm_sweep_prepare(&sw, &err)) vdsm_sweep_run(&sw, &opts, &summary, &err);
 *   vdsm_sweep_free(&sw);
 */
#ifndef VDSM_SWEEP_SWEEP_H
#define VDSM_SWEEP_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/status.h"
#include "vdsm/spec/spec.h"
#include "vdsm/spec/tree.h"

#define VDSM_SWEEP_MAX_POINTS 10000
#define VDSM_SWEEP_MAX_OVERRIDES 128 /* per point */

enum vdsm_sweep_mode { VDSM_SWEEP_GRID, VDSM_SWEEP_ZIP };

struct vdsm_sweep_point {
    int index;                      /* 0-based, in expansion order */
    char *name;                     /* directory name, e.g. "constant,lr=0.001,seed=2" */
    char *group;                    /* the name without its seed part (points averaged over seeds) */
    char *dir;                      /* <sweep dir>/<name> */
    char *variant;                  /* NULL without variants */
    int seed;                       /* runtime.seed given by the sweep; -1 when it has no seeds */
    struct vdsm_spec_override *ov;  /* [nov], values point into the sweep's tree */
    int nov;
    char *yaml;                     /* the resolved spec */
    uint64_t hash;                  /* vdsm_spec_hash of it */
};

struct vdsm_sweep {
    char *file;                     /* the sweep file as given */
    char *name, *spec_path, *dir;   /* spec_path: the base spec, relative to the cwd */
    int mode;                       /* enum vdsm_sweep_mode */
    int n;
    struct vdsm_sweep_point *pts;   /* [n] */
    struct vdsm_node *tree;         /* the sweep file */
    struct vdsm_node *made;         /* a sequence holding the values the sweep makes (run dirs) */
};

/* Reads, expands and validates. out_dir: NULL, else replaces the file's `out`. */
nn_status vdsm_sweep_load(const char *path, const char *out_dir, struct vdsm_sweep *sw, struct nn_err *err);
void vdsm_sweep_free(struct vdsm_sweep *sw);
/* The overrides of a point as text, "key=value key=value" (flow YAML values); malloc'd. */
char *vdsm_sweep_point_desc(const struct vdsm_sweep_point *p);

/* Makes the sweep directory, each run directory with its spec.yaml, and sweep.json (each
 * written under a temporary name and renamed, so concurrent launchers write the same files
 * without tearing). */
nn_status vdsm_sweep_prepare(const struct vdsm_sweep *sw, struct nn_err *err);

enum vdsm_run_state { VDSM_RUN_PENDING, VDSM_RUN_DONE, VDSM_RUN_FAILED, VDSM_RUN_RUNNING };
/* What RUN/sweep.status says (running = a launcher holds its lock now); detail gets the rest
 * of the line (why it failed, who runs it). */
enum vdsm_run_state vdsm_sweep_state(const struct vdsm_sweep_point *p, char *detail, size_t n);

/* Where this process stands among MPI ranks, from the launcher's environment (no MPI library):
 * OpenMPI's OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_SIZE, else PMI_RANK / PMI_SIZE (MPICH,
 * Intel MPI, Slurm's srun), else rank 0 of 1. */
void vdsm_sweep_rank(int *rank, int *size, int *local_size);

struct vdsm_sweep_opts {
    const char *exe;       /* the vdsm program to run `train` with (NULL: /proc/self/exe) */
    int jobs;              /* concurrent runs in this process (>= 1) */
    int threads;           /* per run; 0: this process's cores / (jobs x ranks on the node) */
    int rank, nranks, local_ranks;  /* this process takes the points with index % nranks == rank */
    int only;              /* >= 0: just this point (a Slurm array task), whatever the rank */
    FILE *log;             /* progress and results (NULL: stdout) */
};

struct vdsm_sweep_summary {
    int total, skipped, done, failed; /* of this process's share */
};

/* Trains this process's share of the points: finished ones skipped, the rest run --jobs at a
 * time, each failure reported while the others go on. Returns NN_OK when the launcher itself
 * worked (the summary says how the runs went). */
nn_status vdsm_sweep_run(const struct vdsm_sweep *sw, const struct vdsm_sweep_opts *o, struct vdsm_sweep_summary *sum,
                         struct nn_err *err);

struct vdsm_slurm_opts {
    const char *exe;       /* absolute path of vdsm written into the script */
    int cpus;              /* --cpus-per-task */
    const char *time;      /* --time, NULL for none */
    const char *const *extra; /* more "#SBATCH" options, verbatim */
    int nextra;
};
/* Writes <sweep dir>/sweep.slurm: one array task per point, each `vdsm sweep FILE --only $i`.
 * path gets the script's path. */
nn_status vdsm_sweep_slurm(const struct vdsm_sweep *sw, const struct vdsm_slurm_opts *o, char *path, size_t n,
                           struct nn_err *err);

#endif
