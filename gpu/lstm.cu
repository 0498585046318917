/* LSTM cell pointwise kernels (gate order i, f, g, o), one thread per (row, unit); the GEMMs
 * of a step run through gpu_gemm from nn/ops/lstm.c. Same formulas as nn/cpu/lstm.c. */
#include <math.h>

#include "gpu/internal.h"

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__device__ static inline float sigm(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* c_prev NULL: zero initial cell state */
__global__ void gpu_lstm_cell_forward_kernel(int64_t b, int64_t h, float *gates,
                                             const float *c_prev, float *c, float *hout)
{
    GRID_LOOP(t, b * h) {
        int64_t r = t / h, j = t % h;
        float *gi = gates + r * 4 * h + j;
        float i = sigm(gi[0]), f = sigm(gi[h]), g = tanhf(gi[2 * h]), o = sigm(gi[3 * h]);
        float cv = i * g + (c_prev ? f * c_prev[t] : 0.0f);
        gi[0] = i;
        gi[h] = f;
        gi[2 * h] = g;
        gi[3 * h] = o;
        c[t] = cv;
        hout[t] = o * tanhf(cv);
    }
}

void gpu_lstm_cell_forward(int64_t b, int64_t h, float *gates, const float *c_prev, float *c,
                           float *hout)
{
    if (b * h <= 0) return;
    gpu_lstm_cell_forward_kernel<<<gpu__blocks(b * h), GPU_THREADS, 0, gpu__st.stream>>>(b, h, gates, c_prev, c, hout);
    GPU_LAUNCHED("lstm_cell_forward");
}

/* dc, c_prev may be NULL (zero); dc_prev NULL: not wanted. dgates is overwritten. */
__global__ void gpu_lstm_cell_backward_kernel(int64_t b, int64_t h, const float *gates,
                                              const float *c_prev, const float *c,
                                              const float *dh, const float *dc, float *dgates,
                                              float *dc_prev)
{
    GRID_LOOP(t, b * h) {
        int64_t r = t / h, j = t % h;
        const float *a = gates + r * 4 * h + j;
        float *d = dgates + r * 4 * h + j;
        float i = a[0], f = a[h], g = a[2 * h], o = a[3 * h];
        float tc = tanhf(c[t]);
        float dct = dh[t] * o * (1.0f - tc * tc) + (dc ? dc[t] : 0.0f);
        float cpv = c_prev ? c_prev[t] : 0.0f;
        d[0] = dct * g * i * (1.0f - i);
        d[h] = dct * cpv * f * (1.0f - f);
        d[2 * h] = dct * i * (1.0f - g * g);
        d[3 * h] = dh[t] * tc * o * (1.0f - o);
        if (dc_prev) dc_prev[t] = dct * f;
    }
}

void gpu_lstm_cell_backward(int64_t b, int64_t h, const float *gates, const float *c_prev,
                            const float *c, const float *dh, const float *dc, float *dgates,
                            float *dc_prev)
{
    if (b * h <= 0) return;
    gpu_lstm_cell_backward_kernel<<<gpu__blocks(b * h), GPU_THREADS, 0, gpu__st.stream>>>(
        b, h, gates, c_prev, c, dh, dc, dgates, dc_prev);
    GPU_LAUNCHED("lstm_cell_backward");
}
