/* Adam update on one parameter block (see nn/optim.h for how Adam and ClippedAdam map onto
 * lr_t, bc1 and bc2). Moments are updated in place; the gradient is read-only, so a clamp
 * (ClippedAdam) does not change what a caller later reads from .grad. */
#include <math.h>

#include "nn/cpu/cpu.h"

void nn_cpu_adam_step(size_t n, float *p, const float *g, float *m, float *v,
                      const struct nn_adam_hparams *hp, float lr_t, float bc1, float bc2)
{
    const float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps, wd = hp->weight_decay;
    const float clip = hp->clip;
    const float step = lr_t / bc1;
    const float sqrt_bc2 = sqrtf(bc2);
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (clip > 0) gi = gi < -clip ? -clip : (gi > clip ? clip : gi);
        if (wd != 0) gi += wd * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) / sqrt_bc2 + eps);
    });
}
