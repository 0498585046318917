/* nn/ops_conv.h: convolution ops (NCHW, PyTorch semantics and weight layouts) and BlurPool.
 * Included by nn/ops.h; the same conventions hold: a new step tensor, NULL on error with a
 * message naming the op and the shapes, backward to every input that requires grad.
 *
 * Shape letters: N frames, C input channels, K output channels, H x W input, P x Q output,
 * R x S kernel, B sequences of T frames (N = B*T in the grouped op).
 *
 *   // encoder layer: conv 4x4 stride 1 pad 1, then BlurPool
 *   struct nn_tensor *h = nn_blurpool(ctx, nn_leaky_relu(ctx, nn_conv2d(ctx, x, w, b, 1, 1), 0.2f));
 *   // mixture-of-experts decoder layer: each sequence's frames use that sequence's weights
 *   struct nn_tensor *y = nn_conv_transpose2d_grouped(ctx, h, w_blend, b_blend, 2, 1);
 */
#ifndef NN_OPS_CONV_H
#define NN_OPS_CONV_H

#include "nn/tensor.h"

/* x [N, C, H, W], w [K, C, R, S], b [K] or NULL -> [N, K, P, Q],
 * P = (H + 2 pad - R) / stride + 1 (as torch.nn.functional.conv2d). */
struct nn_tensor *nn_conv2d(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                            struct nn_tensor *b, int stride, int pad);

/* x [N, C, H, W], w [C, K, R, S], b [K] or NULL -> [N, K, P, Q],
 * P = (H - 1) stride - 2 pad + R (torch.nn.functional.conv_transpose2d, output_padding 0). */
struct nn_tensor *nn_conv_transpose2d(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                                      struct nn_tensor *b, int stride, int pad);

/* Per-sequence weights: x [B*T, C, H, W] (sequence-major), w [B, C, K, R, S], b [B, K] or NULL
 * -> [B*T, K, P, Q]; frames of sequence i are convolved with w[i] and b[i]. */
struct nn_tensor *nn_conv_transpose2d_grouped(nn_ctx *ctx, struct nn_tensor *x,
                                              struct nn_tensor *w, struct nn_tensor *b,
                                              int stride, int pad);

/* Mixture-of-experts weights (CondConv): x [B*T, C, H, W] (sequence-major), mix [B, E],
 * experts ew [E, C, K, R, S], eb [E, K] or NULL -> [B*T, K, P, Q]: the frames of sequence i
 * through conv_transpose2d with weights sum_e mix[i, e] ew[e] and bias sum_e mix[i, e] eb[e].
 * The same values and gradients as nn_conv_transpose2d_grouped on the blended weights, but the
 * blended weights and their gradients are formed a chunk of sequences at a time (as many as
 * ctx->scratch_bytes holds, and at least min(B, E): each chunk streams every expert again) and
 * never kept. */
struct nn_tensor *nn_conv_transpose2d_mixture(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *mix,
                                              struct nn_tensor *ew, struct nn_tensor *eb, int stride,
                                              int pad);
/* nn_leaky_relu(nn_conv_transpose2d_mixture(...), slope) with slope >= 0, as one op: the bias and
 * the activation in one pass over the output, and in backward the activation's derivative and
 * the bias's gradient in one pass (over the output's gradient, in place). */
struct nn_tensor *nn_conv_transpose2d_mixture_leaky(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *mix,
                                                    struct nn_tensor *ew, struct nn_tensor *eb, int stride, int pad,
                                                    float slope);

/* antialiased-cnns BlurPool(C, filt_size=4, stride=2): x [N, C, H, W] (H, W >= 3)
 * -> [N, C, (H + 1) / 2, (W + 1) / 2]. */
struct nn_tensor *nn_blurpool(nn_ctx *ctx, struct nn_tensor *x);

/* nn_blurpool(nn_conv2d(x, w, b, 1, pad)) as one op (antialiased strided convolution): the
 * same values and gradients, but the full-resolution convolution output is never kept
 * (forward uses scratch for it; backward rebuilds its gradient). */
struct nn_tensor *nn_conv2d_blurpool(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                                     struct nn_tensor *b, int pad);

#endif
