/* vdsm/run/checkpoint.h: a run's checkpoints, and opening a finished or running run.
 *
 * A checkpoint is one safetensors file, RUN/checkpoints/ckpt-s<stage>-e<epoch>.safetensors
 * (epoch = epochs completed in that stage), holding every parameter and the optimizer state
 * (ppl's param store format) with __metadata__ giving the stage, epoch, global step, the
 * spec's hash, the random stream (Philox key and counter) and the learning-rate scale left by
 * NaN rollbacks. It is written to a .tmp file, flushed to disk and renamed, so a run killed at
 * any moment leaves either the previous checkpoint or the new one whole; only the newest
 * keep_last are kept.
 *
 * Choosing picks the newest checkpoint that is complete and valid (ppl_store_verify: regular
 * file, offsets covering the data, checksum, finite values, and with a store, exactly that
 * store's parameters and shapes) and skips the others, with a line per skipped file in `notes`.
 * When checkpoints exist but none can be used, that is an error (a run never starts over
 * silently). A checkpoint written inside an epoch (a stop on a signal) is named
 * ckpt-s<stage>-e<epoch>-b<batch>.safetensors and carries the epoch's partial sums.
 *
 *   struct vdsm_ckpt_info info;
 *   bool found;
 *   if (vdsm_ckpt_find_latest("runs/quick", 0, &info, &found, &err)) ...;
 *   if (found) vdsm_ckpt_load(info.path, store, &info, &err);
 */
#ifndef VDSM_RUN_CHECKPOINT_H
#define VDSM_RUN_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/rng.h"
#include "ppl/store/store.h"
#include "vdsm/model/vdsm.h"
#include "vdsm/spec/spec.h"

#define VDSM_PATH_MAX 4096

struct vdsm_ckpt_info {
    int stage;              /* 1 or 2 */
    long epoch;             /* epochs completed in the stage */
    long step;              /* SVI steps completed in the stage */
    uint64_t spec_hash;
    struct nn_rng rng;      /* the ppl context's stream */
    double lr_scale;        /* product of NaN-rollback factors so far */
    int nan_retries;        /* rollbacks so far in this stage */
    long batch;             /* > 0: written after this many batches of epoch `epoch` */
    char partial[8192];     /* with batch > 0: the epoch's sums so far (JSON, the trainer's) */
    char path[VDSM_PATH_MAX];
};

nn_status vdsm_ckpt_save(const char *run_dir, const struct ppl_param_store *store, struct vdsm_ckpt_info *info,
                         int keep_last, struct nn_err *err);
/* vdsm_ckpt_choose without a store (every check but the match with a model): the newest
 * usable checkpoint of `stage` (0: of any stage; newest = highest stage, then epoch, then
 * batch). */
nn_status vdsm_ckpt_find_latest(const char *run_dir, int stage, struct vdsm_ckpt_info *info, bool *found,
                                struct nn_err *err);
/* The newest usable checkpoint of `stage` (0: any), checked against `store` when it is
 * non-NULL; with resume, a checkpoint past its stage's first step must also hold the optimizer
 * state of every parameter the store trains (PPL_VERIFY_OPTIM). Skipped files are listed in
 * notes (one "skipped PATH: why" line each; notes may be NULL).
 * found = false and NN_OK when there is no checkpoint at all; an error when there are some and
 * none is usable. */
nn_status vdsm_ckpt_choose(const char *run_dir, int stage, const struct ppl_param_store *store, bool resume,
                           struct vdsm_ckpt_info *info, bool *found, char *notes, size_t notes_len,
                           struct nn_err *err);
/* Reads the metadata only. */
nn_status vdsm_ckpt_read_info(const char *path, struct vdsm_ckpt_info *info, struct nn_err *err);
/* Loads values and optimizer state into the store (ppl_store_load_exact: every parameter must
 * be in the file and nothing else; optimizers are reset first, so the state comes from the file
 * only) and fills info. The file is checked whole before a value changes. */
nn_status vdsm_ckpt_load(const char *path, struct ppl_param_store *store, struct vdsm_ckpt_info *info,
                         struct nn_err *err);

/* A run opened for generation or evaluation: its resolved spec, the network with the newest
 * checkpoint's weights, and the store holding them. */
struct vdsm_run {
    char dir[VDSM_PATH_MAX];
    struct vdsm_spec spec;
    struct vdsm_net net;
    struct ppl_param_store *store;
    struct vdsm_ckpt_info ckpt;
    char notes[2048];       /* checkpoints skipped when opening (see vdsm_ckpt_choose) */
};
nn_status vdsm_run_open(const char *run_dir, enum nn_device dev, struct vdsm_run *run, struct nn_err *err);
void vdsm_run_close(struct vdsm_run *run);

#endif
