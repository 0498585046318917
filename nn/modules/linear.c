/* torch.nn.Linear: parameters with PyTorch's default initialisation, forward through nn_linear. */
#include <math.h>
#include <string.h>

#include "nn/modules/init.h"
#include "nn/modules/linear.h"
#include "nn/ops.h"

nn_status nn_linear_layer_init(struct nn_linear_layer *m, int64_t in, int64_t out, bool bias,
                               enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    if (in < 1 || out < 1)
        return nn_err_set(err, NN_INVALID, "linear: in %lld, out %lld (both must be >= 1)",
                          (long long)in, (long long)out);
    m->in = in;
    m->out = out;
    m->weight = nn_tensor_new(dev, 2, (int64_t[]){out, in}, true, err);
    if (!m->weight) return err->code;
    m->weight->name = "weight";
    /* kaiming_uniform(a = sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)), torch's reset_parameters */
    if (nn_init_kaiming_uniform(m->weight, sqrtf(5.0f), NN_GAIN_LEAKY_RELU, rng, err)) goto fail;
    if (bias) {
        m->bias = nn_tensor_new(dev, 1, (int64_t[]){out}, true, err);
        if (!m->bias) goto fail;
        m->bias->name = "bias";
        float bound = 1.0f / sqrtf((float)in);
        if (nn_init_uniform(m->bias, -bound, bound, rng, err)) goto fail;
    }
    return NN_OK;
fail:
    nn_linear_layer_free(m);
    return err->code;
}

void nn_linear_layer_free(struct nn_linear_layer *m)
{
    nn_tensor_free(m->weight);
    nn_tensor_free(m->bias);
    m->weight = m->bias = NULL;
}

struct nn_tensor *nn_linear_layer_forward(nn_ctx *ctx, const struct nn_linear_layer *m, struct nn_tensor *x)
{
    return nn_linear(ctx, x, m->weight, m->bias);
}

int nn_linear_layer_params(const struct nn_linear_layer *m, struct nn_tensor **out)
{
    int n = 0;
    out[n++] = m->weight;
    if (m->bias) out[n++] = m->bias;
    return n;
}
