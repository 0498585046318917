/* nn/modules/lstm.h: torch.nn.LSTM in C: multi-layer, bidirectional, dropout between layers,
 * gate order i, f, g, o, and PyTorch's parameter names, shapes and order, so a PyTorch
 * state_dict loads unchanged.
 *
 * Shapes: T time, B batch, I input size, H hidden size, L layers, D directions (1 or 2).
 *   input  [T, B, I]  (batch_first: [B, T, I])
 *   output [T, B, D*H] (batch_first: [B, T, D*H]); h0, c0, h_n, c_n [L*D, B, H]
 *
 * Ownership: nn_lstm_init allocates persistent parameters (weight_ih_l{k}[_reverse] [4H, in],
 * weight_hh_l{k}[_reverse] [4H, H], bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse] [4H]),
 * initialised like PyTorch with U(-1/sqrt(H), 1/sqrt(H)); nn_lstm_free frees them. Outputs of
 * nn_lstm_forward are step tensors of the context.
 *
 * Errors: init returns a status (detail in err); forward returns NULL with the message on the
 * context (shape mismatches name the op and the shapes), never aborts.
 *
 *   struct nn_lstm m;
 *   struct nn_lstm_config cfg = {.input_size = 30, .hidden_size = 512, .num_layers = 3,
 *                                .bidirectional = true};
 *   if (nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err)) return err.code;
 *   struct nn_tensor *hn, *cn, *y = nn_lstm_forward(ctx, &m, x, NULL, NULL, true, &rng, &hn, &cn);
 *   nn_lstm_free(&m);
 *
 * Performance: each layer is one autograd node (both directions) whose backward runs BPTT
 * with GEMMs and the fused cell kernels (nn/ops/lstm.c).
 */
#ifndef NN_MODULES_LSTM_H
#define NN_MODULES_LSTM_H

#include <stdbool.h>

#include "nn/rng.h"
#include "nn/tensor.h"

/* Zero-initialised fields give torch.nn.LSTM's defaults (1 layer, bias, no dropout). */
struct nn_lstm_config {
    int64_t input_size, hidden_size;
    int num_layers;      /* 0 means 1 */
    bool no_bias;        /* torch's bias=False */
    bool batch_first;
    bool bidirectional;
    float dropout;       /* on every layer's output but the last, training only */
};

enum nn_lstm_param_kind { NN_LSTM_W_IH, NN_LSTM_W_HH, NN_LSTM_B_IH, NN_LSTM_B_HH };

#define NN_LSTM_NAME_LEN 40

struct nn_lstm {
    struct nn_lstm_config cfg;
    int ndir;                     /* D */
    int nparams;                  /* L * D * (bias ? 4 : 2) */
    struct nn_tensor **params;    /* PyTorch order: per layer, per direction: w_ih, w_hh[, b_ih, b_hh] */
    char (*names)[NN_LSTM_NAME_LEN]; /* "weight_ih_l0", "bias_hh_l2_reverse", ... */
};

nn_status nn_lstm_init(struct nn_lstm *m, const struct nn_lstm_config *cfg, enum nn_device dev,
                       struct nn_rng *rng, struct nn_err *err);
void nn_lstm_free(struct nn_lstm *m);
/* One parameter (NULL for a bias of a bias-free LSTM or an index out of range). */
struct nn_tensor *nn_lstm_param(const struct nn_lstm *m, int layer, int dir, enum nn_lstm_param_kind k);

/* h0, c0 may be NULL (zeros). training enables dropout (rng then required when dropout > 0).
 * h_n, c_n may be NULL when not wanted. Returns the output. */
struct nn_tensor *nn_lstm_forward(nn_ctx *ctx, struct nn_lstm *m, struct nn_tensor *x,
                                  struct nn_tensor *h0, struct nn_tensor *c0, bool training,
                                  struct nn_rng *rng, struct nn_tensor **h_n, struct nn_tensor **c_n);

/* ---- the op under the module: one layer, one or two directions, one autograd node */
struct nn_lstm_layer_params {
    int ndir;                     /* 1 or 2; direction 1 runs from t = T-1 down to 0 */
    struct nn_tensor *w_ih[2];    /* [4H, I] */
    struct nn_tensor *w_hh[2];    /* [4H, H] */
    struct nn_tensor *b_ih[2];    /* [4H] or NULL */
    struct nn_tensor *b_hh[2];    /* [4H] or NULL */
};

/* x [T, B, I]; h0, c0 [D, B, H] or NULL. Returns output [T, B, D*H]; h_n, c_n [D, B, H]
 * (either pointer may be NULL). */
struct nn_tensor *nn_lstm_layer(nn_ctx *ctx, struct nn_tensor *x, const struct nn_lstm_layer_params *p,
                                struct nn_tensor *h0, struct nn_tensor *c0, struct nn_tensor **h_n,
                                struct nn_tensor **c_n);

#endif
