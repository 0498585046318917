/* vdsm/eval/judge.h: training and using the classifiers of vdsm/eval/classifier.h on a dataset.
 *
 * Training (`vdsm judge train`): full supervision on the dataset's training split, one
 * cross-entropy term per head summed, Adam; the loader's batches are [B, T, C, H, W] in [0, 1].
 * Scoring: per-factor accuracy of a split, and per-head softmax probabilities of any clips
 * (host floats [B, T, C, H, W]) in evaluation mode (BatchNorm running statistics).
 *
 * Ownership: the caller owns the classifier, the dataset and the nn context; probability arrays
 * returned by vdsm_clf_probs are malloc'd (free each). Errors: status + message in err.
 *
 *   struct vdsm_clf_train_opts o = vdsm_clf_train_defaults();
 *   o.epochs = 20;
 *   vdsm_clf_train(ctx, &clf, &ds, &o, &err);
 *   double acc[VDSM_CLF_MAX_HEADS];
 *   vdsm_clf_split_accuracy(ctx, &clf, &ds, VDSM_SPLIT_TEST, 32, acc, &err);
 */
#ifndef VDSM_EVAL_JUDGE_H
#define VDSM_EVAL_JUDGE_H

#include <stdio.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/loader.h"
#include "vdsm/eval/classifier.h"

struct vdsm_clf_train_opts {
    int epochs;            /* passes over the training split, default 20 */
    int batch;             /* default 16 (clamped to the split size) */
    float lr;              /* Adam, default 1e-3 */
    uint64_t seed;         /* loader order and initialisation, default 0 */
    FILE *log;             /* per-epoch loss and accuracy lines, or NULL */
    const char *save_path; /* vdsm_clf_train: saved here after every epoch (atomically), or NULL */
};

struct vdsm_clf_train_opts vdsm_clf_train_defaults(void);

/* Trains on the training split of ds (a clip is the whole sequence of T frames) from epoch
 * c->epochs up to o->epochs, in the batch order an uninterrupted run would have used (a loaded
 * classifier continues where it was saved; its Adam moments start again from zero). */
nn_status vdsm_clf_train(nn_ctx *ctx, struct vdsm_clf *c, const struct vdsm_dataset *ds,
                         const struct vdsm_clf_train_opts *o, struct nn_err *err);

/* Trains on explicit clips: x [M, T, C, H, W] floats, labels [M, K] (as labels.npy rows). */
nn_status vdsm_clf_train_clips(nn_ctx *ctx, struct vdsm_clf *c, const float *x, const int32_t *labels,
                               size_t m, size_t t, const struct vdsm_clf_train_opts *o, struct nn_err *err);

/* Softmax per head of clips x [B, T, C, H, W] (host); probs[k] gets malloc'd [B, N_k]. */
nn_status vdsm_clf_probs(nn_ctx *ctx, struct vdsm_clf *c, const float *x, size_t b, size_t t,
                         float **probs, struct nn_err *err);

/* Per-factor accuracy (acc[k] in [0, 1]) over a split of ds, in batches of `batch`. */
nn_status vdsm_clf_split_accuracy(nn_ctx *ctx, struct vdsm_clf *c, const struct vdsm_dataset *ds,
                                  enum vdsm_split split, int batch, double *acc, struct nn_err *err);

/* The index range [lo, hi) of a split. */
void vdsm_split_range(const struct vdsm_dataset *ds, enum vdsm_split split, size_t *lo, size_t *hi);

#endif
