/* vdsm/modules/seq.h: the small modules around the sequence model (the original's ID_Layers,
 * RNN_encoder, Combiner and GatedTransition).
 *
 * Shapes: B sequences, T frames, Z pose size, E experts, D dynamics size, H LSTM hidden size,
 * L LSTM layers. Sizes and activations are the original's; LeakyReLU slopes are `slope`
 * (0.01, torch's default). Initialisation is PyTorch's default except the gated transition, whose
 * six linear layers take kaiming_normal weights (gain sqrt 2) and zero biases as the original's
 * weight_init does (which also overwrites the identity start of lin_z_to_loc: kept so).
 *
 *   identity layers  loc' = leaky(Linear(E,E) loc), scale' = softplus(Linear(E,E) scale)
 *   rnn encoder      LSTM(Z, H, L, bidirectional, dropout) over [T, B, Z]; out = leaky(Linear(2H, Z))
 *   combiner         h = leaky(Linear(H+D, H) [h_rnn, dz]); g = (tanh(Linear(Z, H) z_prev) + h) / 2;
 *                    loc = Linear(H, Z) g, scale = softplus(Linear(H, Z) g)
 *   transition       c = [z_prev, dz]; gate = sigmoid(Linear(H, Z) relu(Linear(Z+D, H) c));
 *                    pm = Linear(H, Z) relu(Linear(Z+D, H) c);
 *                    loc = (1 - gate) Linear(Z, Z) z_prev + gate pm; scale = softplus(Linear(Z, Z) relu(pm))
 *
 * Ownership, errors: as vdsm/modules/encoder.h.
 *
 *   struct vdsm_transition tr;
 *   vdsm_transition_init(&tr, 30, 50, 512, NN_DEV_CPU, &rng, &err);
 *   struct nn_tensor *loc, *scale;
 *   vdsm_transition_forward(ctx, &tr, z_prev, dz, &loc, &scale);   // [B, Z], [B, D] -> [B, Z] x 2
 */
#ifndef VDSM_MODULES_SEQ_H
#define VDSM_MODULES_SEQ_H

#include "nn/modules/linear.h"
#include "nn/modules/lstm.h"
#include "nn/nn.h"
#include "vdsm/modules/params.h"

struct vdsm_id_layers {
    struct nn_linear_layer loc, scale;   /* [E, E] */
    float slope;
};

struct vdsm_rnn_encoder {
    struct nn_lstm rnn;                  /* bidirectional, L layers */
    struct nn_linear_layer fc_out;       /* [Z, 2H] */
    float dropout, slope;
};

struct vdsm_rnn_encoder_out {
    struct nn_tensor *out;               /* [T, B, Z] leaky(fc_out(raw)) */
    struct nn_tensor *raw;               /* [T, B, 2H] */
    struct nn_tensor *h, *c;             /* [2L, B, H] */
};

struct vdsm_combiner {
    struct nn_linear_layer h_rnn_to_hidden;      /* [H, H+D] */
    struct nn_linear_layer lin_z_to_hidden;      /* [H, Z] */
    struct nn_linear_layer lin_hidden_to_loc;    /* [Z, H] */
    struct nn_linear_layer lin_hidden_to_scale;  /* [Z, H] */
    float slope;
};

struct vdsm_transition {
    struct nn_linear_layer lin_gate_z_to_hidden;           /* [H, Z+D] */
    struct nn_linear_layer lin_gate_hidden_to_z;           /* [Z, H] */
    struct nn_linear_layer lin_proposed_mean_z_to_hidden;  /* [H, Z+D] */
    struct nn_linear_layer lin_proposed_mean_hidden_to_z;  /* [Z, H] */
    struct nn_linear_layer lin_sig;                        /* [Z, Z] */
    struct nn_linear_layer lin_z_to_loc;                   /* [Z, Z] */
};

nn_status vdsm_id_layers_init(struct vdsm_id_layers *m, int n_e_w, float slope, enum nn_device dev,
                              struct nn_rng *rng, struct nn_err *err);
void vdsm_id_layers_free(struct vdsm_id_layers *m);
nn_status vdsm_id_layers_forward(nn_ctx *ctx, const struct vdsm_id_layers *m, struct nn_tensor *loc,
                                 struct nn_tensor *scale, struct nn_tensor **loc_out, struct nn_tensor **scale_out);
int vdsm_id_layers_params(const struct vdsm_id_layers *m, const char *prefix, struct vdsm_param *out, int cap);

nn_status vdsm_rnn_encoder_init(struct vdsm_rnn_encoder *m, int z_dim, int hidden, int layers, float dropout,
                                float slope, enum nn_device dev, struct nn_rng *rng, struct nn_err *err);
void vdsm_rnn_encoder_free(struct vdsm_rnn_encoder *m);
/* x [T, B, Z]; h0, c0 [2L, B, H] or NULL; training enables dropout (rng needed then) */
nn_status vdsm_rnn_encoder_forward(nn_ctx *ctx, struct vdsm_rnn_encoder *m, struct nn_tensor *x,
                                   struct nn_tensor *h0, struct nn_tensor *c0, bool training, struct nn_rng *rng,
                                   struct vdsm_rnn_encoder_out *out);
int vdsm_rnn_encoder_params(const struct vdsm_rnn_encoder *m, const char *prefix, struct vdsm_param *out, int cap);

nn_status vdsm_combiner_init(struct vdsm_combiner *m, int z_dim, int hidden, int dynamics_dim, float slope,
                             enum nn_device dev, struct nn_rng *rng, struct nn_err *err);
void vdsm_combiner_free(struct vdsm_combiner *m);
/* z_prev [..., Z], h_rnn [..., H], dz [..., D] -> loc, scale [..., Z] */
nn_status vdsm_combiner_forward(nn_ctx *ctx, const struct vdsm_combiner *m, struct nn_tensor *z_prev,
                                struct nn_tensor *h_rnn, struct nn_tensor *dz, struct nn_tensor **loc,
                                struct nn_tensor **scale);
int vdsm_combiner_params(const struct vdsm_combiner *m, const char *prefix, struct vdsm_param *out, int cap);

nn_status vdsm_transition_init(struct vdsm_transition *m, int z_dim, int dynamics_dim, int hidden,
                               enum nn_device dev, struct nn_rng *rng, struct nn_err *err);
void vdsm_transition_free(struct vdsm_transition *m);
/* z_prev [..., Z], dz [..., D] -> loc, scale [..., Z] */
nn_status vdsm_transition_forward(nn_ctx *ctx, const struct vdsm_transition *m, struct nn_tensor *z_prev,
                                  struct nn_tensor *dz, struct nn_tensor **loc, struct nn_tensor **scale);
int vdsm_transition_params(const struct vdsm_transition *m, const char *prefix, struct vdsm_param *out, int cap);

#endif
