/* Conv2d / ConvTranspose2d modules: parameters and PyTorch's default initialisation around
 * the ops of nn/ops_conv.h. */
#include <math.h>
#include <string.h>

#include "nn/modules/conv.h"
#include "nn/modules/init.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"

/* weight (dims d0, d1, k, k) and optional bias (nb) with torch's reset_parameters */
static nn_status conv_params(struct nn_tensor **w, struct nn_tensor **b, enum nn_device dev,
                             int64_t d0, int64_t d1, int64_t nb, int kernel, bool bias,
                             struct nn_rng *rng, struct nn_err *err)
{
    *w = NULL;
    *b = NULL;
    if (d0 < 1 || d1 < 1 || kernel < 1)
        return nn_err_set(err, NN_SHAPE, "conv module: channels (%lld, %lld) and kernel %d must be positive",
                          (long long)d0, (long long)d1, kernel);
    *w = nn_tensor_new(dev, 4, (const int64_t[]){d0, d1, kernel, kernel}, true, err);
    if (!*w) return err->code;
    if (nn_init_kaiming_uniform(*w, sqrtf(5.0f), NN_GAIN_LEAKY_RELU, rng, err)) return err->code;
    if (!bias) return NN_OK;
    *b = nn_tensor_new(dev, 1, (const int64_t[]){nb}, true, err);
    if (!*b) return err->code;
    float bound = 1.0f / sqrtf((float)(d1 * kernel * kernel)); /* torch's fan_in: size(1) R S */
    return nn_init_uniform(*b, -bound, bound, rng, err);
}

static nn_status check_geom(int stride, int pad, struct nn_err *err)
{
    if (stride >= 1 && pad >= 0) return NN_OK;
    return nn_err_set(err, NN_INVALID, "conv module: stride %d, pad %d (need stride >= 1, pad >= 0)",
                      stride, pad);
}

nn_status nn_conv2d_module_init(struct nn_conv2d_module *m, enum nn_device dev, int64_t in_ch,
                                int64_t out_ch, int kernel, int stride, int pad, bool bias,
                                struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    if (check_geom(stride, pad, err)) return err->code;
    m->stride = stride;
    m->pad = pad;
    nn_status s = conv_params(&m->weight, &m->bias, dev, out_ch, in_ch, out_ch, kernel, bias, rng, err);
    if (s) nn_conv2d_module_free(m);
    return s;
}

void nn_conv2d_module_free(struct nn_conv2d_module *m)
{
    nn_tensor_free(m->weight);
    nn_tensor_free(m->bias);
    m->weight = m->bias = NULL;
}

struct nn_tensor *nn_conv2d_module_forward(nn_ctx *ctx, const struct nn_conv2d_module *m,
                                           struct nn_tensor *x)
{
    return nn_conv2d(ctx, x, m->weight, m->bias, m->stride, m->pad);
}

nn_status nn_conv_transpose2d_module_init(struct nn_conv_transpose2d_module *m, enum nn_device dev,
                                          int64_t in_ch, int64_t out_ch, int kernel, int stride,
                                          int pad, bool bias, struct nn_rng *rng,
                                          struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    if (check_geom(stride, pad, err)) return err->code;
    m->stride = stride;
    m->pad = pad;
    nn_status s = conv_params(&m->weight, &m->bias, dev, in_ch, out_ch, out_ch, kernel, bias, rng, err);
    if (s) nn_conv_transpose2d_module_free(m);
    return s;
}

void nn_conv_transpose2d_module_free(struct nn_conv_transpose2d_module *m)
{
    nn_tensor_free(m->weight);
    nn_tensor_free(m->bias);
    m->weight = m->bias = NULL;
}

struct nn_tensor *nn_conv_transpose2d_module_forward(nn_ctx *ctx,
                                                     const struct nn_conv_transpose2d_module *m,
                                                     struct nn_tensor *x)
{
    return nn_conv_transpose2d(ctx, x, m->weight, m->bias, m->stride, m->pad);
}
