/* Parameter initialisers: draw on the host, copy to the tensor's device. Initialisation runs
 * once per parameter, so a host buffer and a copy cost nothing that matters and keep one
 * definition for every backend. */
#include <math.h>
#include <stdlib.h>

#include "nn/modules/init.h"

float nn_init_gain(enum nn_gain g, float param)
{
    switch (g) {
    case NN_GAIN_RELU: return sqrtf(2.0f);
    case NN_GAIN_LEAKY_RELU: return sqrtf(2.0f / (1.0f + param * param));
    case NN_GAIN_TANH: return 5.0f / 3.0f;
    default: return 1.0f;
    }
}

nn_status nn_init_fans(const struct nn_tensor *t, int64_t *fan_in, int64_t *fan_out, struct nn_err *err)
{
    if (t->ndim < 2)
        return nn_err_set(err, NN_SHAPE, "init: fan in/out of a tensor with %d dims (need >= 2)", t->ndim);
    int64_t field = 1;
    for (int i = 2; i < t->ndim; i++) field *= t->shape[i];
    *fan_in = t->shape[1] * field;
    *fan_out = t->shape[0] * field;
    return NN_OK;
}

static float *host_buf(const struct nn_tensor *t, struct nn_err *err)
{
    size_t n = (size_t)nn_numel(t);
    float *buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) nn_err_set(err, NN_OOM, "init: no host memory for %zu values", n);
    return buf;
}

static nn_status upload(struct nn_tensor *t, float *buf, struct nn_err *err)
{
    nn_status s = nn_tensor_from_host(t, buf, err);
    free(buf);
    return s;
}

nn_status nn_init_uniform(struct nn_tensor *t, float lo, float hi, struct nn_rng *rng, struct nn_err *err)
{
    float *buf = host_buf(t, err);
    if (!buf) return err->code;
    nn_rng_uniform_host(rng, buf, (size_t)nn_numel(t), lo, hi);
    return upload(t, buf, err);
}

nn_status nn_init_normal(struct nn_tensor *t, float mean, float std, struct nn_rng *rng, struct nn_err *err)
{
    float *buf = host_buf(t, err);
    if (!buf) return err->code;
    nn_rng_normal_host(rng, buf, (size_t)nn_numel(t), mean, std);
    return upload(t, buf, err);
}

nn_status nn_init_constant(struct nn_tensor *t, float v, struct nn_err *err)
{
    float *buf = host_buf(t, err);
    if (!buf) return err->code;
    for (int64_t i = 0; i < nn_numel(t); i++) buf[i] = v;
    return upload(t, buf, err);
}

nn_status nn_init_kaiming_normal(struct nn_tensor *t, float a, enum nn_gain g, struct nn_rng *rng,
                                 struct nn_err *err)
{
    int64_t fi = 0, fo = 0;
    if (nn_init_fans(t, &fi, &fo, err)) return err->code;
    float std = nn_init_gain(g, a) / sqrtf((float)fi);
    return nn_init_normal(t, 0.0f, std, rng, err);
}

nn_status nn_init_kaiming_uniform(struct nn_tensor *t, float a, enum nn_gain g, struct nn_rng *rng,
                                  struct nn_err *err)
{
    int64_t fi = 0, fo = 0;
    if (nn_init_fans(t, &fi, &fo, err)) return err->code;
    float bound = nn_init_gain(g, a) * sqrtf(3.0f / (float)fi);
    return nn_init_uniform(t, -bound, bound, rng, err);
}

nn_status nn_init_xavier_uniform(struct nn_tensor *t, float gain, struct nn_rng *rng, struct nn_err *err)
{
    int64_t fi = 0, fo = 0;
    if (nn_init_fans(t, &fi, &fo, err)) return err->code;
    float bound = gain * sqrtf(6.0f / (float)(fi + fo));
    return nn_init_uniform(t, -bound, bound, rng, err);
}

nn_status nn_init_eye(struct nn_tensor *t, struct nn_err *err)
{
    char s[96];
    if (t->ndim != 2)
        return nn_err_set(err, NN_SHAPE, "init eye: tensor %s is not 2-D", nn_shape_str(t, s, sizeof s));
    float *buf = host_buf(t, err);
    if (!buf) return err->code;
    int64_t r = t->shape[0], c = t->shape[1];
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++) buf[i * c + j] = i == j ? 1.0f : 0.0f;
    return upload(t, buf, err);
}
