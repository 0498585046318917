/* nn/modules/linear.h: torch.nn.Linear: y = x W^T + b with W [out, in], b [out].
 *
 * Parameters are persistent tensors owned by the module (nn_linear_layer_free frees them),
 * initialised as PyTorch does (kaiming_uniform with a = sqrt(5), i.e. weight and bias
 * U(-1/sqrt(in), 1/sqrt(in))). Their names are "weight" and "bias"; a model that owns several
 * layers prefixes them where it registers them. Errors: init returns a status with detail in
 * err; forward returns NULL with the message on the context.
 *
 *   struct nn_linear_layer fc;
 *   if (nn_linear_layer_init(&fc, 256, 10, true, NN_DEV_CPU, &rng, &err)) return err.code;
 *   struct nn_tensor *y = nn_linear_layer_forward(ctx, &fc, x);   // x [..., 256] -> [..., 10]
 *   nn_linear_layer_free(&fc);
 */
#ifndef NN_MODULES_LINEAR_H
#define NN_MODULES_LINEAR_H

#include <stdbool.h>

#include "nn/rng.h"
#include "nn/tensor.h"

struct nn_linear_layer {
    int64_t in, out;
    struct nn_tensor *weight;   /* [out, in] */
    struct nn_tensor *bias;     /* [out], NULL without bias */
};

nn_status nn_linear_layer_init(struct nn_linear_layer *m, int64_t in, int64_t out, bool bias,
                               enum nn_device dev, struct nn_rng *rng, struct nn_err *err);
void nn_linear_layer_free(struct nn_linear_layer *m);
struct nn_tensor *nn_linear_layer_forward(nn_ctx *ctx, const struct nn_linear_layer *m,
                                          struct nn_tensor *x);
/* the parameters (weight, then bias if any) into out[0..]; returns how many */
int nn_linear_layer_params(const struct nn_linear_layer *m, struct nn_tensor **out);

#endif
