/* vdsm/train/train.h: training both VDSM stages from a spec, with checkpoints and resume.
 *
 * A run directory holds: spec.yaml (the resolved spec), metrics.jsonl (one JSON object per
 * epoch: loss, each site's ELBO term, the schedule values, learning rate, step time, memory),
 * checkpoints/ (see vdsm/run/checkpoint.h) and train.log. vdsm_train resumes by itself from the newest
 * good checkpoint in the run directory, skipping finished stages; a resumed CPU run reproduces
 * the uninterrupted run's losses exactly (parameters, optimizer state, the random stream and
 * the loader position are all restored, and metrics lines past the checkpoint are dropped).
 *
 * The run directory is locked (vdsm/run/lock.h) for the whole call. Before anything in it is written the
 * spec must fit the run's existing checkpoints (else an error naming the keys that differ from
 * its spec.yaml). Checkpoints are chosen as vdsm/run/checkpoint.h says: damaged ones are skipped with a
 * note in the log.
 *
 * A NaN or Inf loss rolls back to the newest usable checkpoint of the stage, multiplies the learning
 * rate by runtime.nan_lr_factor, says so, and retries; after runtime.nan_retries rollbacks in a
 * stage it stops with an error. (Tests inject a NaN with the environment variable
 * VDSM_INJECT_NAN_STEP=k: the loss of global step k of the first attempt is treated as NaN.)
 *
 * Errors: a status and message (spec, data, checkpoint, numerical); nothing already written
 * is lost. Progress goes to `log` (a terminal gets a live progress line).
 *
 *   struct vdsm_train_opts o = {.run_dir = "runs/quick"};
 *   if (vdsm_train(&spec, &o, &err)) fprintf(stderr, "vdsm train: %s\n", err.msg);
 */
#ifndef VDSM_TRAIN_TRAIN_H
#define VDSM_TRAIN_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "nn/status.h"
#include "vdsm/spec/spec.h"

struct vdsm_train_opts {
    const char *run_dir;     /* NULL: the spec's output.run_dir, else runs/<name> */
    FILE *log;               /* NULL: stdout */
    bool quiet;              /* epoch lines only, no progress line */
    long max_steps;          /* > 0: stop (as if killed) after this many SVI steps in this call */
    int threads;             /* > 0: CPU threads, instead of runtime.threads (a machine's
                                share, as vdsm sweep gives each of its jobs) */
    /* non-NULL: once *stop is non-zero (a signal handler sets it), the current step finishes,
     * a checkpoint is written (inside an epoch: ckpt-s<S>-e<E>-b<B>), the stop is logged and
     * vdsm_train returns NN_OK; running again resumes exactly there */
    volatile sig_atomic_t *stop;
};

nn_status vdsm_train(const struct vdsm_spec *spec, const struct vdsm_train_opts *opts, struct nn_err *err);

/* The run directory a spec trains into (opts may override); written into out. */
void vdsm_train_run_dir(const struct vdsm_spec *spec, const struct vdsm_train_opts *opts, char *out, size_t n);

#endif
