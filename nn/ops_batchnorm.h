/* nn/ops_batchnorm.h: batch normalisation (torch.nn.functional.batch_norm) composed from the
 * differentiable ops of nn/ops.h, so it runs, and differentiates, on every backend.
 *
 * Shapes: x [N, C] or [N, C, *] (e.g. [N, C, H, W]); weight, bias, running_mean, running_var [C].
 * Training: normalises with the batch mean and the biased batch variance over every dimension
 * but C, and, when running stats are given, updates them in place (no gradient) as PyTorch does:
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)   (unbiased)
 * Evaluation: normalises with running_mean and running_var.
 * y = (x - mean) / sqrt(var + eps) * weight + bias  (weight/bias may be NULL: no affine).
 *
 * Errors: NULL with a message on the context (shapes, a single value per channel in training,
 * missing running stats in evaluation).
 *
 *   struct nn_tensor *y = nn_batch_norm(ctx, x, w, b, rm, rv, true, 0.1f, 1e-5f);
 */
#ifndef NN_OPS_BATCHNORM_H
#define NN_OPS_BATCHNORM_H

#include <stdbool.h>

#include "nn/tensor.h"

struct nn_tensor *nn_batch_norm(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *weight,
                                struct nn_tensor *bias, struct nn_tensor *running_mean,
                                struct nn_tensor *running_var, bool training, float momentum,
                                float eps);

#endif
