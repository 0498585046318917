/* nn/ops.h: the differentiable ops. Each returns a new step tensor (or a view sharing its
 * input's data), records itself on the tape when an input requires grad, and returns NULL on
 * error (message on the context) or when given NULL. Dims may be negative (from the end).
 * Broadcasting follows NumPy/PyTorch rules.
 *
 *   struct nn_tensor *h = nn_tanh(ctx, nn_linear(ctx, x, w, b));   // x [B, in], w [out, in]
 *   struct nn_tensor *loss = nn_mean_all(ctx, nn_square(ctx, nn_sub(ctx, h, target)));
 *   nn_backward(ctx, loss);
 */
#ifndef NN_OPS_H
#define NN_OPS_H

#include "nn/rng.h"
#include "nn/tensor.h"

/* convolution family and BlurPool: nn/ops_conv.h; the LSTM layer: nn/modules/lstm.h */

/* ---- views and shape (views share data; backward maps the gradient back) */
struct nn_tensor *nn_reshape(nn_ctx *ctx, struct nn_tensor *x, int ndim, const int64_t *shape); /* one -1 allowed */
#define nn_reshape_v(ctx, x, ...) nn_reshape(ctx, x, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__})
struct nn_tensor *nn_permute(nn_ctx *ctx, struct nn_tensor *x, const int *perm);
struct nn_tensor *nn_transpose(nn_ctx *ctx, struct nn_tensor *x, int d0, int d1);
struct nn_tensor *nn_slice(nn_ctx *ctx, struct nn_tensor *x, int dim, int64_t start, int64_t end);
struct nn_tensor *nn_select(nn_ctx *ctx, struct nn_tensor *x, int dim, int64_t index); /* drops dim */
struct nn_tensor *nn_expand(nn_ctx *ctx, struct nn_tensor *x, int ndim, const int64_t *shape);
struct nn_tensor *nn_unsqueeze(nn_ctx *ctx, struct nn_tensor *x, int dim);
struct nn_tensor *nn_squeeze(nn_ctx *ctx, struct nn_tensor *x, int dim);
struct nn_tensor *nn_contiguous(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_detach(nn_ctx *ctx, struct nn_tensor *x); /* same data, no gradient */
struct nn_tensor *nn_concat(nn_ctx *ctx, struct nn_tensor *const *xs, int n, int dim);
struct nn_tensor *nn_stack(nn_ctx *ctx, struct nn_tensor *const *xs, int n, int dim);
/* idx holds integer indices as floats, same shape as the output except along dim */
struct nn_tensor *nn_gather(nn_ctx *ctx, struct nn_tensor *x, int dim, struct nn_tensor *idx);

/* ---- elementwise, broadcasting */
struct nn_tensor *nn_add(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b);
struct nn_tensor *nn_sub(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b);
struct nn_tensor *nn_mul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b);
struct nn_tensor *nn_div(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b);
/* Broadcast shape of a and b into out (returns ndim, or -1 if they do not broadcast); the
 * shapes form takes bare shapes (out may be one of them). */
int nn_broadcast_shape(const struct nn_tensor *a, const struct nn_tensor *b, int64_t *out);
int nn_broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out);
/* Fused three-operand ops (one pass, one tape node), broadcasting like the binary ops:
 * addcmul = a + b * c (torch.addcmul); normal_log_prob = log N(x; loc, scale), the Gaussian
 * log-density -((x - loc) / scale)^2 / 2 - log scale - log(2 pi) / 2;
 * bernoulli_logits_log_prob = weight (x logits - softplus(logits)), the Bernoulli
 * log-likelihood of targets x in [0, 1] (-binary_cross_entropy_with_logits(logits, x, weight,
 * reduction='none')); weight NULL: 1. */
struct nn_tensor *nn_addcmul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b, struct nn_tensor *c);
struct nn_tensor *nn_normal_log_prob(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *loc,
                                     struct nn_tensor *scale);
struct nn_tensor *nn_bernoulli_logits_log_prob(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *logits,
                                               struct nn_tensor *weight);

struct nn_tensor *nn_neg(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_relu(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_leaky_relu(nn_ctx *ctx, struct nn_tensor *x, float slope);
/* leaky_relu that writes its result over x when that is safe: x is the output of the op
 * recorded last, that op's backward does not read its output (convolutions, matmul), and
 * slope >= 0; otherwise the same as nn_leaky_relu. Either way x must not be used afterwards. */
struct nn_tensor *nn_leaky_relu_(nn_ctx *ctx, struct nn_tensor *x, float slope);
struct nn_tensor *nn_tanh(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_sigmoid(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_softplus(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_exp(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_expm1(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_log(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_log1p(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_log_sigmoid(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_sqrt(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_square(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_abs(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_reciprocal(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_lgamma(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_digamma(nn_ctx *ctx, struct nn_tensor *x);
struct nn_tensor *nn_add_scalar(nn_ctx *ctx, struct nn_tensor *x, float s);
struct nn_tensor *nn_mul_scalar(nn_ctx *ctx, struct nn_tensor *x, float s);
struct nn_tensor *nn_pow_scalar(nn_ctx *ctx, struct nn_tensor *x, float p);
struct nn_tensor *nn_clamp_min(nn_ctx *ctx, struct nn_tensor *x, float lo);
struct nn_tensor *nn_clamp_max(nn_ctx *ctx, struct nn_tensor *x, float hi);
struct nn_tensor *nn_clamp(nn_ctx *ctx, struct nn_tensor *x, float lo, float hi);
/* generic entry for the unary family: op is an enum nn_unop */
struct nn_tensor *nn_unary(nn_ctx *ctx, struct nn_tensor *x, int op, float alpha);

/* ---- reductions */
struct nn_tensor *nn_sum(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim);
struct nn_tensor *nn_mean(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim);
struct nn_tensor *nn_max(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim);
struct nn_tensor *nn_sum_all(nn_ctx *ctx, struct nn_tensor *x);   /* shape () */
struct nn_tensor *nn_mean_all(nn_ctx *ctx, struct nn_tensor *x);
/* sums over the rightmost n dims (n = 0 returns x) */
struct nn_tensor *nn_sum_rightmost(nn_ctx *ctx, struct nn_tensor *x, int n);
struct nn_tensor *nn_softmax(nn_ctx *ctx, struct nn_tensor *x, int dim);
struct nn_tensor *nn_log_softmax(nn_ctx *ctx, struct nn_tensor *x, int dim);
struct nn_tensor *nn_logsumexp(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim);

/* ---- linear algebra */
/* a [..., M, K] x b [..., K, N]; batch dims broadcast (2-D b shared across a batch). */
struct nn_tensor *nn_matmul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b);
/* x [..., in], w [out, in], b [out] or NULL: x w^T + b, as torch.nn.functional.linear */
struct nn_tensor *nn_linear(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w, struct nn_tensor *b);

#include "nn/ops_conv.h"

#endif
