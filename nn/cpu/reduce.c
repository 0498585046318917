/* Reductions, softmax and gather on the CPU, all over a [outer, n, inner] view of a
 * contiguous tensor (the reduced axis in the middle). */
#include <math.h>

#include "nn/cpu/cpu.h"

void nn_cpu_reduce(int op, int64_t outer, int64_t n, int64_t inner, const float *x, float *y,
                   int32_t *idx)
{
    NN_CPU_PAR_FOR(outer * n * inner > NN_CPU_PAR_MIN && outer > 1, "omp parallel for",
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * n * inner;
        float *yo = y + o * inner;
        if (op == NN_RED_SUM) {
            /* accumulate in double: sums over whole images are long */
            for (int64_t i = 0; i < inner; i++) {
                double s = 0;
                for (int64_t j = 0; j < n; j++) s += xo[j * inner + i];
                yo[i] = (float)s;
            }
        } else {
            for (int64_t i = 0; i < inner; i++) {
                float m = xo[i];
                int32_t a = 0;
                for (int64_t j = 1; j < n; j++)
                    if (xo[j * inner + i] > m || isnan(xo[j * inner + i])) {
                        m = xo[j * inner + i];
                        a = (int32_t)j;
                        if (isnan(m)) break;
                    }
                yo[i] = m;
                if (idx) idx[o * inner + i] = a;
            }
        }
    });
}

void nn_cpu_reduce_backward(int op, int64_t outer, int64_t n, int64_t inner, const float *dy,
                            const int32_t *idx, float *dx, float scale)
{
    NN_CPU_PAR_FOR(outer * n * inner > NN_CPU_PAR_MIN && outer > 1, "omp parallel for",
    for (int64_t o = 0; o < outer; o++) {
        float *dxo = dx + o * n * inner;
        const float *dyo = dy + o * inner;
        if (op == NN_RED_SUM) {
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < inner; i++) dxo[j * inner + i] += dyo[i] * scale;
        } else {
            for (int64_t i = 0; i < inner; i++) dxo[(int64_t)idx[o * inner + i] * inner + i] += dyo[i];
        }
    });
}

void nn_cpu_softmax(int use_log, int64_t outer, int64_t n, int64_t inner, const float *x, float *y)
{
    NN_CPU_PAR_FOR(outer * n * inner > NN_CPU_PAR_MIN, "omp parallel for collapse(2)",
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xo = x + o * n * inner + i;
            float *yo = y + o * n * inner + i;
            float m = -INFINITY;
            for (int64_t j = 0; j < n; j++) m = fmaxf(m, xo[j * inner]);
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += exp((double)(xo[j * inner] - m));
            if (use_log) {
                float ls = (float)log(s);
                for (int64_t j = 0; j < n; j++) yo[j * inner] = xo[j * inner] - m - ls;
            } else {
                for (int64_t j = 0; j < n; j++) yo[j * inner] = (float)(exp((double)(xo[j * inner] - m)) / s);
            }
        });
}

void nn_cpu_softmax_backward(int use_log, int64_t outer, int64_t n, int64_t inner, const float *y,
                             const float *dy, float *dx)
{
    NN_CPU_PAR_FOR(outer * n * inner > NN_CPU_PAR_MIN, "omp parallel for collapse(2)",
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            double s = 0;
            if (use_log) {
                /* y = log softmax: dx = dy - softmax * sum(dy) */
                for (int64_t j = 0; j < n; j++) s += dy[base + j * inner];
                for (int64_t j = 0; j < n; j++)
                    dx[base + j * inner] += dy[base + j * inner] - expf(y[base + j * inner]) * (float)s;
            } else {
                for (int64_t j = 0; j < n; j++) s += (double)dy[base + j * inner] * y[base + j * inner];
                for (int64_t j = 0; j < n; j++)
                    dx[base + j * inner] += y[base + j * inner] * (dy[base + j * inner] - (float)s);
            }
        });
}

void nn_cpu_gather(int64_t outer, int64_t n, int64_t m, int64_t inner, const float *x,
                   const float *idx, float *y)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < m; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t k = (int64_t)idx[(o * m + j) * inner + i];
                y[(o * m + j) * inner + i] = x[(o * n + k) * inner + i];
            }
}

void nn_cpu_gather_backward(int64_t outer, int64_t n, int64_t m, int64_t inner, const float *dy,
                            const float *idx, float *dx)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < m; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t k = (int64_t)idx[(o * m + j) * inner + i];
                dx[(o * n + k) * inner + i] += dy[(o * m + j) * inner + i];
            }
}

void nn_cpu_sumsq(size_t n, const float *x, double *out)
{
    double s = 0;
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for reduction(+ : s)",
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];);
    *out = s;
}

void nn_cpu_scale_inplace(size_t n, float *x, float s)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
    for (size_t i = 0; i < n; i++) x[i] *= s;);
}
