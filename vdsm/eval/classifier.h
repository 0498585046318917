/* vdsm/eval/classifier.h: the two sequence classifiers that score generated clips.
 *
 * Shape letters: B clips, T frames, C channels, H = W image size, K labelled factors, N_k classes.
 *
 * JUDGE (S3VAE / C-DSVAE / DBSE lineage): per frame four conv 4x4 stride 2 pad 1 + BatchNorm +
 * LeakyReLU(0.2) (C -> nf -> 2nf -> 4nf -> 8nf), then conv (H/16)x(H/16) (4x4 at 64x64) to `feat`
 * + BatchNorm + tanh; a bidirectional LSTM (hidden `hidden`) over frames, the forward state at
 * the last frame and the backward state at the first, concatenated; a head per factor:
 * Linear 2*hidden -> hidden, ReLU, Linear hidden -> N_k. Defaults nf 64, feat 128, hidden 256.
 *
 * DSA (Li & Mandt's classifier, used by VDSM's consistency protocol): per frame conv 5x5 stride 4
 * pad 1 + BatchNorm + LeakyReLU(0.2) twice (C -> nf -> 2nf; 64x64 -> 4x4, 2048 features), Linear
 * -> code (1024) + BatchNorm + LeakyReLU; a unidirectional LSTM code -> hidden (512), its output
 * at the last frame; a head per factor: Linear hidden -> hidden/2 + BatchNorm + LeakyReLU(0.2),
 * Linear -> N_k.
 *
 * Ownership: vdsm_clf_init allocates every persistent tensor; vdsm_clf_free releases them. Named
 * tensors (parameters and BatchNorm buffers) are listed in clf->named for saving as safetensors
 * through the ppl param store, with a "clf.config" tensor describing the architecture so
 * vdsm_clf_load can rebuild it. Errors: status + message in err (NULL + context message from
 * forward).
 *
 *   struct vdsm_clf c;
 *   struct vdsm_clf_config cfg = vdsm_clf_defaults(VDSM_CLF_JUDGE, &ds.meta);
 *   vdsm_clf_init(&c, &cfg, NN_DEV_CPU, &rng, &err);
 *   struct nn_tensor *logits[VDSM_CLF_MAX_HEADS];
 *   vdsm_clf_forward(ctx, &c, x, training, logits);   // x [B, T, C, H, W] -> logits[k] [B, N_k]
 */
#ifndef VDSM_EVAL_CLASSIFIER_H
#define VDSM_EVAL_CLASSIFIER_H

#include <stdbool.h>

#include "nn/modules/batchnorm.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/lstm.h"
#include "vdsm/data/meta.h"

#define VDSM_CLF_MAX_HEADS 16
#define VDSM_CLF_MAX_NAMED 128
#define VDSM_CLF_NAME_LEN 96

enum vdsm_clf_kind { VDSM_CLF_JUDGE = 1, VDSM_CLF_DSA = 2 };

struct vdsm_clf_config {
    int kind;                          /* enum vdsm_clf_kind */
    int channels, image_size;          /* C, H (a multiple of 16, >= 16) */
    int nf, feat, code, hidden;        /* base channels, judge frame feature, DSA code, LSTM hidden */
    int n_heads;                       /* K */
    int n_classes[VDSM_CLF_MAX_HEADS]; /* N_k */
    int identity[VDSM_CLF_MAX_HEADS];  /* 1: identity factor (static head), 0: dynamics (action) */
    char names[VDSM_CLF_MAX_HEADS][64];
};

struct vdsm_clf_head {
    struct nn_linear_layer fc1, fc2;
    struct nn_batchnorm bn;            /* DSA only */
};

struct vdsm_clf_named {
    char name[VDSM_CLF_NAME_LEN];
    struct nn_tensor *t;
    bool trainable;
};

struct vdsm_clf {
    struct vdsm_clf_config cfg;
    int nconv;
    struct nn_conv2d_module conv[5];
    struct nn_batchnorm bn[5];
    struct nn_linear_layer fc;         /* DSA: flattened conv -> code */
    struct nn_batchnorm fc_bn;
    struct nn_lstm lstm;
    struct vdsm_clf_head heads[VDSM_CLF_MAX_HEADS];
    int nnamed;
    struct vdsm_clf_named named[VDSM_CLF_MAX_NAMED];
    int epochs;                        /* passes over the training split so far (clf.epochs in a file) */
};

/* The published sizes, with a head per factor of the dataset's meta.yaml. */
struct vdsm_clf_config vdsm_clf_defaults(int kind, const struct vdsm_meta *meta);
nn_status vdsm_clf_init(struct vdsm_clf *c, const struct vdsm_clf_config *cfg, enum nn_device dev,
                        struct nn_rng *rng, struct nn_err *err);
void vdsm_clf_free(struct vdsm_clf *c);
/* x [B, T, C, H, W]; logits[k] [B, N_k] for every head. Returns a status (message on ctx). */
nn_status vdsm_clf_forward(nn_ctx *ctx, struct vdsm_clf *c, struct nn_tensor *x, bool training,
                           struct nn_tensor **logits);
/* Trainable parameters into out (capacity VDSM_CLF_MAX_NAMED); returns how many. */
int vdsm_clf_params(const struct vdsm_clf *c, struct nn_tensor **out);
/* Checks the classifier's heads against a dataset's factors (names and class counts). */
nn_status vdsm_clf_check_meta(const struct vdsm_clf *c, const struct vdsm_meta *meta, struct nn_err *err);

/* safetensors through the ppl param store; load rebuilds the classifier from the file. */
nn_status vdsm_clf_save(const struct vdsm_clf *c, const char *path, struct nn_err *err);
nn_status vdsm_clf_load(struct vdsm_clf *c, const char *path, enum nn_device dev, struct nn_err *err);

#endif
