/* vdsm/model/vdsm.h: the VDSM network, its two canonical model/guide pairs, and the
 * deterministic rollouts used to reconstruct, generate and transfer. Other pairs (variants) are
 * in variants/ and a spec names a pair through the registry (registry.h, models.def).
 *
 * Shape letters: B sequences, T frames, C channels, H = W image size, P = C*H*W pixels,
 * Z pose latent, E experts (identity dimensions), D dynamics, L LSTM layers, K LSTM hidden.
 *
 * The network (struct vdsm_net) owns every module of both stages. Its parameters are
 * registered with a param store under stable names ("enc.encoder.0.weight", "dec.EW1",
 * "seq.cats.weight", ...) in three groups: the frame encoder/decoder (trained in stage 1,
 * frozen in stage 2), the identity layers (trained in both, as in the original) and the
 * sequence network (stage 2). vdsm_net_set_stage marks what trains: frozen tensors stop
 * collecting gradients (and free their gradient buffers), and the model/guide register
 * (pyro.module) only the trainable groups.
 *
 * The model and guide functions read like the Pyro original (VDSM_release/VDSM.py): every
 * `sample`, `plate` and `scale` there has its line here. They are batched over the sequences
 * of a batch where the original loops in Python; the maths is the same. args is a
 * struct vdsm_args.
 *
 *   struct vdsm_net net;
 *   if (vdsm_net_init(&net, &spec, NN_DEV_CPU, &rng, &err)) ...;
 *   vdsm_net_register(&net, store, &err);
 *   vdsm_net_set_stage(&net, 1);
 *   struct vdsm_args a = {.net = &net, .x = batch, .temp = 1, .anneal_id = 1, .anneal_t = 1};
 *   ppl_svi_init(&svi, vdsm_encdec_model, vdsm_encdec_guide, ...); ppl_svi_step(ctx, &svi, &a);
 */
#ifndef VDSM_MODEL_VDSM_H
#define VDSM_MODEL_VDSM_H

#include "nn/modules/linear.h"
#include "nn/modules/lstm.h"
#include "ppl/ppl.h"
#include "vdsm/modules/decoder.h"
#include "vdsm/modules/encoder.h"
#include "vdsm/modules/seq.h"
#include "vdsm/spec/spec.h"

enum vdsm_group { VDSM_GROUP_ENCDEC = 1, VDSM_GROUP_ID = 2, VDSM_GROUP_SEQ = 4 };

#define VDSM_NET_MAX_PARAMS 512

struct vdsm_net {
    struct vdsm_spec_model cfg;
    int channels, image_size;
    enum nn_device dev;
    int stage;                                  /* 1 or 2: what trains */
    /* stage 1 */
    struct vdsm_encoder enc;
    struct vdsm_decoder dec;
    struct vdsm_id_layers id;
    /* stage 2 */
    struct vdsm_rnn_encoder rnn_enc;            /* bidirectional, over the per-frame z */
    struct nn_lstm seq_dec;                     /* the guide's unidirectional decoder LSTM */
    struct vdsm_combiner comb;
    struct vdsm_transition trans;
    struct nn_linear_layer cats;                /* [2D, 2*L*K]: dynamics loc and scale */
    struct nn_linear_layer dz_to_dec_h, dz_to_dec_c;  /* [L*K, D] */
    struct nn_tensor *h_0_enc, *c_0_enc;        /* [1, 1, K] learned initial states */
    struct nn_tensor *z_q_0;                    /* [Z] */
    struct nn_tensor *dec_inp_0;                /* [K] */
    /* every parameter, named, with its group */
    int nparams;
    struct vdsm_param params[VDSM_NET_MAX_PARAMS];
    int groups[VDSM_NET_MAX_PARAMS];
};

/* The frame encoder's and expert decoder's configurations for a spec (model.conv_width applied). */
void vdsm_net_configs(const struct vdsm_spec *spec, struct vdsm_encoder_config *enc, struct vdsm_decoder_config *dec);
nn_status vdsm_net_init(struct vdsm_net *net, const struct vdsm_spec *spec, enum nn_device dev,
                        struct nn_rng *rng, struct nn_err *err);
void vdsm_net_free(struct vdsm_net *net);
/* Adds every parameter to the store (borrowed, as "vdsm.<name>"), so that loading a
 * checkpoint fills them. */
nn_status vdsm_net_register(struct vdsm_net *net, struct ppl_param_store *store, struct nn_err *err);
/* Stage 1: encoder, decoder and identity layers train. Stage 2: identity layers and the
 * sequence network train; the frame encoder and decoder are frozen. */
nn_status vdsm_net_set_stage(struct vdsm_net *net, int stage, struct nn_err *err);
/* pyro.module("vdsm", net): registers the groups that train in the current stage. */
nn_status vdsm_net_module(ppl_ctx *ctx, struct vdsm_net *net);
/* Number of trainable parameters (elements) for a stage. */
int64_t vdsm_net_count(const struct vdsm_net *net, int stage);

struct vdsm_args {
    struct vdsm_net *net;
    struct nn_tensor *x;        /* [B, T, C, H, W] in [0, 1] */
    /* the annealed quantities (vdsm/schedule/anneal.h), by name or as annealed[q]: temp (identity
     * temperature), anneal_id, anneal_t, anneal_dyn (KL scales, pyro scale) */
    union {
        struct {
#define VDSM_X(id, field, ...) float field;
            VDSM_ANNEALED(VDSM_X)
#undef VDSM_X
        };
        float annealed[VDSM_SCHED_COUNT];
    };
    bool training;              /* dropout in the sequence encoder */
};

/* stage 1 (VDSM_EncDec) */
void vdsm_encdec_model(ppl_ctx *ctx, void *args);
void vdsm_encdec_guide(ppl_ctx *ctx, void *args);
/* stage 2 (VDSM_Seq) */
void vdsm_seq_model(ppl_ctx *ctx, void *args);
void vdsm_seq_guide(ppl_ctx *ctx, void *args);

/* The observation distribution over [B, T, P] from decoder logits, per the spec's likelihood. */
struct ppl_dist *vdsm_likelihood(ppl_ctx *ctx, const struct vdsm_net *net, struct nn_tensor *logits);
/* Normal(loc, scale + model.min_scale).to_event(1): the latent sites whose scale a network makes */
struct ppl_dist *vdsm_normal(ppl_ctx *ctx, const struct vdsm_net *net, struct nn_tensor *loc, struct nn_tensor *scale);

/* ---- deterministic rollouts (no sampling; for reconstruction, generation and transfer) */
struct vdsm_encoding {
    struct nn_tensor *z;        /* [B, T, Z] pose locs */
    struct nn_tensor *id;       /* [B, E] identity locs after the identity layers, mean over T */
    struct nn_tensor *dz;       /* [B, D] dynamics locs (stage 2 network) */
};
/* Encodes x [B, T, C, H, W]; with_dynamics runs the sequence encoder too. */
nn_status vdsm_encode(nn_ctx *nn, struct vdsm_net *net, struct nn_tensor *x, bool with_dynamics,
                      struct vdsm_encoding *out);
/* Mixture weights softmax(id * temp) [B, E]. */
struct nn_tensor *vdsm_mixture(nn_ctx *nn, struct nn_tensor *id, float temp);
/* Frames [B, T, C, H, W] in (0, 1) from z [B, T, Z] and mixture weights [B, E]. */
struct nn_tensor *vdsm_decode(nn_ctx *nn, struct vdsm_net *net, struct nn_tensor *z, struct nn_tensor *w);
/* The guide's decoder rollout from dynamics dz [B, D]: z locs [B, T, Z] (as test_sequence). */
struct nn_tensor *vdsm_rollout_guide(nn_ctx *nn, struct vdsm_net *net, struct nn_tensor *dz, int64_t t);
/* The prior's gated transition from z0 [B, Z] under dz [B, D]: z locs [B, T, Z]. */
struct nn_tensor *vdsm_rollout_prior(nn_ctx *nn, struct vdsm_net *net, struct nn_tensor *z0,
                                     struct nn_tensor *dz, int64_t t);
/* Identity [B, E] and dynamics [B, D] drawn from the priors N(0, 1/E), N(0, 1/D). */
nn_status vdsm_sample_prior(nn_ctx *nn, struct vdsm_net *net, struct nn_rng *rng, int64_t b,
                            struct nn_tensor **id, struct nn_tensor **dz);

#endif
