/* torch.nn.BatchNorm{1,2}d (nn/modules/batchnorm.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/modules/batchnorm.h"
#include "nn/modules/init.h"
#include "nn/ops_batchnorm.h"

nn_status nn_batchnorm_init(struct nn_batchnorm *m, int64_t c, enum nn_device dev, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->c = c;
    m->momentum = 0.1f;
    m->eps = 1e-5f;
    const int64_t shape[1] = {c};
    m->weight = nn_tensor_new(dev, 1, shape, true, err);
    m->bias = nn_tensor_new(dev, 1, shape, true, err);
    m->running_mean = nn_tensor_new(dev, 1, shape, false, err);
    m->running_var = nn_tensor_new(dev, 1, shape, false, err);
    if (!m->weight || !m->bias || !m->running_mean || !m->running_var ||
        nn_init_constant(m->weight, 1.0f, err) || nn_init_constant(m->bias, 0.0f, err) ||
        nn_init_constant(m->running_mean, 0.0f, err) || nn_init_constant(m->running_var, 1.0f, err)) {
        nn_batchnorm_free(m);
        return err->code ? err->code : NN_OOM;
    }
    m->weight->name = "weight";
    m->bias->name = "bias";
    m->running_mean->name = "running_mean";
    m->running_var->name = "running_var";
    return NN_OK;
}

void nn_batchnorm_free(struct nn_batchnorm *m)
{
    nn_tensor_free(m->weight);
    nn_tensor_free(m->bias);
    nn_tensor_free(m->running_mean);
    nn_tensor_free(m->running_var);
    m->weight = m->bias = m->running_mean = m->running_var = NULL;
}

struct nn_tensor *nn_batchnorm_forward(nn_ctx *ctx, struct nn_batchnorm *m, struct nn_tensor *x,
                                       bool training)
{
    return nn_batch_norm(ctx, x, m->weight, m->bias, m->running_mean, m->running_var, training,
                         m->momentum, m->eps);
}

int nn_batchnorm_params(const struct nn_batchnorm *m, struct nn_tensor **out)
{
    out[0] = m->weight;
    out[1] = m->bias;
    return 2;
}

int nn_batchnorm_buffers(const struct nn_batchnorm *m, struct nn_tensor **out)
{
    out[0] = m->running_mean;
    out[1] = m->running_var;
    return 2;
}
