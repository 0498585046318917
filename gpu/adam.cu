/* Adam / ClippedAdam on one parameter block (see nn/optim.h); one thread per element, the
 * hyper-parameters passed by value. Same arithmetic as nn/cpu/adam.c. */
#include <math.h>

#include "gpu/internal.h"

__global__ void gpu_adam_step_kernel(int64_t n, float *p, const float *g, float *m, float *v,
                                     struct nn_adam_hparams hp, float step, float sqrt_bc2)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i];
        if (hp.clip > 0) gi = gi < -hp.clip ? -hp.clip : (gi > hp.clip ? hp.clip : gi);
        if (hp.weight_decay != 0) gi += hp.weight_decay * p[i];
        float mi = hp.beta1 * m[i] + (1.0f - hp.beta1) * gi;
        float vi = hp.beta2 * v[i] + (1.0f - hp.beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) / sqrt_bc2 + hp.eps);
    }
}

void gpu_adam_step(size_t n, float *p, const float *g, float *m, float *v,
                   const struct nn_adam_hparams *hp, float lr_t, float bc1, float bc2)
{
    if (!n) return;
    gpu_adam_step_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>(
        (int64_t)n, p, g, m, v, *hp, lr_t / bc1, sqrtf(bc2));
    GPU_LAUNCHED("adam_step");
}
