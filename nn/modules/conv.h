/* nn/modules/conv.h: torch.nn.Conv2d and torch.nn.ConvTranspose2d as modules: persistent
 * parameters in PyTorch's layouts, PyTorch's default initialisation, and a forward function.
 *
 * Shapes: N frames, C input channels, K output channels, R x S kernel.
 *   Conv2d          weight [K, C, R, S], bias [K]
 *   ConvTranspose2d weight [C, K, R, S], bias [K]
 * Initialisation (torch's reset_parameters): weight ~ kaiming_uniform(a = sqrt(5)), i.e.
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with torch's fan_in = size(1) * R * S (for a transposed
 * convolution that is K*R*S), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight drawn first.
 *
 * Ownership: init allocates the parameters (requires_grad) on dev; free releases them. Errors:
 * init returns a status with the detail in err; forward returns NULL with the message on ctx.
 *
 *   struct nn_conv2d_module c1;
 *   if (nn_conv2d_module_init(&c1, NN_DEV_CPU, 3, 64, 4, 1, 1, true, &rng, &err)) return err.code;
 *   struct nn_tensor *h = nn_conv2d_module_forward(ctx, &c1, x);   // x [N, 3, H, W]
 *   nn_conv2d_module_free(&c1);
 */
#ifndef NN_MODULES_CONV_H
#define NN_MODULES_CONV_H

#include <stdbool.h>

#include "nn/rng.h"
#include "nn/tensor.h"

struct nn_conv2d_module {
    struct nn_tensor *weight; /* [K, C, R, S] */
    struct nn_tensor *bias;   /* [K], NULL without bias */
    int stride, pad;
};

struct nn_conv_transpose2d_module {
    struct nn_tensor *weight; /* [C, K, R, S] */
    struct nn_tensor *bias;   /* [K], NULL without bias */
    int stride, pad;
};

nn_status nn_conv2d_module_init(struct nn_conv2d_module *m, enum nn_device dev, int64_t in_ch,
                                int64_t out_ch, int kernel, int stride, int pad, bool bias,
                                struct nn_rng *rng, struct nn_err *err);
void nn_conv2d_module_free(struct nn_conv2d_module *m);
struct nn_tensor *nn_conv2d_module_forward(nn_ctx *ctx, const struct nn_conv2d_module *m,
                                           struct nn_tensor *x);

nn_status nn_conv_transpose2d_module_init(struct nn_conv_transpose2d_module *m, enum nn_device dev,
                                          int64_t in_ch, int64_t out_ch, int kernel, int stride,
                                          int pad, bool bias, struct nn_rng *rng,
                                          struct nn_err *err);
void nn_conv_transpose2d_module_free(struct nn_conv_transpose2d_module *m);
struct nn_tensor *nn_conv_transpose2d_module_forward(nn_ctx *ctx,
                                                     const struct nn_conv_transpose2d_module *m,
                                                     struct nn_tensor *x);

#endif
