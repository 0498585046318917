/* nn/modules/batchnorm.h: torch.nn.BatchNorm1d / BatchNorm2d as a module: affine weight (ones)
 * and bias (zeros), running_mean (zeros) and running_var (ones) buffers, momentum 0.1, eps 1e-5,
 * and a forward in training mode (batch statistics, running-stat update) or evaluation mode
 * (running statistics). The op underneath is nn_batch_norm (nn/ops_batchnorm.h); one module
 * serves both 1d ([N, C] or [N, C, L]) and 2d ([N, C, H, W]) inputs.
 *
 * Ownership: init allocates the four persistent tensors on dev (weight and bias require grad);
 * free releases them. Errors: init returns a status (detail in err); forward returns NULL with
 * the message on the context.
 *
 *   struct nn_batchnorm bn;
 *   if (nn_batchnorm_init(&bn, 64, NN_DEV_CPU, &err)) return err.code;
 *   struct nn_tensor *h = nn_batchnorm_forward(ctx, &bn, x, training);   // x [N, 64, H, W]
 *   nn_batchnorm_free(&bn);
 */
#ifndef NN_MODULES_BATCHNORM_H
#define NN_MODULES_BATCHNORM_H

#include <stdbool.h>

#include "nn/tensor.h"

struct nn_batchnorm {
    int64_t c;
    float momentum, eps;
    struct nn_tensor *weight;       /* [C] */
    struct nn_tensor *bias;         /* [C] */
    struct nn_tensor *running_mean; /* [C], no gradient */
    struct nn_tensor *running_var;  /* [C], no gradient */
};

nn_status nn_batchnorm_init(struct nn_batchnorm *m, int64_t c, enum nn_device dev, struct nn_err *err);
void nn_batchnorm_free(struct nn_batchnorm *m);
struct nn_tensor *nn_batchnorm_forward(nn_ctx *ctx, struct nn_batchnorm *m, struct nn_tensor *x,
                                       bool training);
/* trainable parameters (weight, bias) into out[0..1]; returns 2 */
int nn_batchnorm_params(const struct nn_batchnorm *m, struct nn_tensor **out);
/* buffers (running_mean, running_var) into out[0..1]; returns 2 (to save with the weights) */
int nn_batchnorm_buffers(const struct nn_batchnorm *m, struct nn_tensor **out);

#endif
