/* BlurPool (antialiased-cnns, filt_size 4, stride 2, reflect pad 1 before / 2 after) on
 * [P, H, W] planes; see nn/cpu/blurpool.c for the definition.
 *
 * Forward: one thread per output, the separable filter applied rows first as on the CPU.
 * Backward: one thread per input element gathers from the outputs whose taps read it (at most
 * three padded positions reflect onto one input index, each seen by at most two outputs), so
 * every dx element is written by one thread and no atomics are needed. */
#include "gpu/internal.h"

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__constant__ static const float taps[4] = {1.0f / 8, 3.0f / 8, 3.0f / 8, 1.0f / 8};

static int64_t out_size(int64_t n) { return (n + 3 - 4) / 2 + 1; }

__device__ static inline int64_t reflect(int64_t i, int64_t n)
{
    int64_t j = i - 1;
    if (j < 0) j = -j;
    if (j >= n) j = 2 * (n - 1) - j;
    return j;
}

__global__ void gpu_blurpool_forward_kernel(int64_t planes, int64_t h, int64_t w, int64_t ho,
                                            int64_t wo, const float *x, float *y)
{
    GRID_LOOP(t, planes * ho * wo) {
        int64_t j = t % wo, i = (t / wo) % ho, p = t / (ho * wo);
        const float *xp = x + p * h * w;
        int64_t c0 = reflect(2 * j, w), c1 = reflect(2 * j + 1, w), c2 = reflect(2 * j + 2, w),
                c3 = reflect(2 * j + 3, w);
        float acc = 0.0f;
        for (int a = 0; a < 4; a++) {
            const float *xr = xp + reflect(2 * i + a, h) * w;
            float row = taps[0] * xr[c0] + taps[1] * xr[c1] + taps[2] * xr[c2] + taps[3] * xr[c3];
            acc += taps[a] * row;
        }
        y[t] = acc;
    }
}

void gpu_blurpool_forward(int64_t planes, int64_t h, int64_t w, const float *x, float *y)
{
    int64_t ho = out_size(h), wo = out_size(w), n = planes * ho * wo;
    if (n <= 0) return;
    gpu_blurpool_forward_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(planes, h, w, ho, wo, x, y);
    GPU_LAUNCHED("blurpool_forward");
}

/* (output index, tap weight) pairs reading input index i along an axis of n (no outputs);
 * returns their count (at most 6) */
__device__ static int readers(int64_t i, int64_t n, int64_t no, int64_t *o, float *wt)
{
    int64_t cand[3] = {i + 1, 1 - i, 2 * n - 1 - i};
    int k = 0;
    for (int c = 0; c < 3; c++) {
        int64_t t = cand[c];
        if (t < 0 || t > n + 2 || reflect(t, n) != i) continue;
        if ((c >= 1 && t == cand[0]) || (c == 2 && t == cand[1])) continue; /* seen */
        for (int64_t q = t / 2 - 1; q <= t / 2; q++) {
            int64_t a = t - 2 * q;
            if (q < 0 || q >= no || a < 0 || a > 3) continue;
            o[k] = q;
            wt[k] = taps[a];
            k++;
        }
    }
    return k;
}

__global__ void gpu_blurpool_backward_kernel(int64_t planes, int64_t h, int64_t w, int64_t ho,
                                             int64_t wo, const float *dy, float *dx, float beta)
{
    GRID_LOOP(t, planes * h * w) {
        int64_t j = t % w, i = (t / w) % h, p = t / (h * w);
        int64_t ro[6], co[6];
        float rw[6], cw[6];
        int nr = readers(i, h, ho, ro, rw), nc = readers(j, w, wo, co, cw);
        const float *dp = dy + p * ho * wo;
        float acc = 0.0f;
        for (int a = 0; a < nr; a++) {
            float row = 0.0f;
            for (int b = 0; b < nc; b++) row += cw[b] * dp[ro[a] * wo + co[b]];
            acc += rw[a] * row;
        }
        dx[t] = beta == 0.0f ? acc : beta * dx[t] + acc;
    }
}

/* dx = beta dx + blurpool^T(dy) */
void gpu_blurpool_backward(int64_t planes, int64_t h, int64_t w, const float *dy, float *dx, float beta)
{
    int64_t ho = out_size(h), wo = out_size(w), n = planes * h * w;
    if (n <= 0) return;
    gpu_blurpool_backward_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(planes, h, w, ho, wo, dy, dx, beta);
    GPU_LAUNCHED("blurpool_backward");
}
