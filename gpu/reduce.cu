/* Reductions over the middle axis of [outer, n, inner], softmax, gather, sum of squares and the
 * bias kernels. Sums accumulate in double as the CPU does (sums over whole images are long).
 *
 * A reduction runs one thread per output when there are enough outputs to fill the device
 * (adjacent threads read adjacent `inner` elements, so loads coalesce); otherwise one block
 * per output, its threads striding along n and combining through shared memory. */
#include <math.h>

#include "gpu/internal.h"

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* outputs below which a reduction uses a block per output */
#define FEW_OUTPUTS 4096

/* (value, index) max with the CPU's tie rules: first maximum wins, a NaN wins over numbers and
 * the first NaN over later ones */
__device__ static inline void max_pick(float *m, int32_t *a, float v, int32_t j)
{
    bool vn = isnan(v), mn = isnan(*m);
    bool take = (vn && !mn) || (vn && mn && j < *a) || (!vn && !mn && (v > *m || (v == *m && j < *a)));
    if (take) {
        *m = v;
        *a = j;
    }
}

__global__ void gpu_reduce_kernel(int op, int64_t outer, int64_t n, int64_t inner, const float *x,
                                  float *y, int32_t *idx)
{
    GRID_LOOP(t, outer * inner) {
        int64_t o = t / inner, i = t % inner;
        const float *xo = x + o * n * inner + i;
        if (op == NN_RED_SUM) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += xo[j * inner];
            y[t] = (float)s;
        } else {
            float m = xo[0];
            int32_t a = 0;
            for (int64_t j = 1; j < n; j++)
                if (xo[j * inner] > m || isnan(xo[j * inner])) {
                    m = xo[j * inner];
                    a = (int32_t)j;
                    if (isnan(m)) break;
                }
            y[t] = m;
            if (idx) idx[t] = a;
        }
    }
}

/* one block per output (o, i) */
__global__ void gpu_reduce_block_kernel(int op, int64_t n, int64_t inner, const float *x,
                                        float *y, int32_t *idx)
{
    __shared__ double ssum[GPU_THREADS];
    __shared__ float smax[GPU_THREADS];
    __shared__ int32_t sarg[GPU_THREADS];
    int64_t t = blockIdx.x, o = t / inner, i = t % inner;
    const float *xo = x + o * n * inner + i;
    double s = 0;
    float m = -INFINITY;
    int32_t a = INT32_MAX;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        if (op == NN_RED_SUM) s += xo[j * inner];
        else max_pick(&m, &a, xo[j * inner], (int32_t)j);
    }
    ssum[threadIdx.x] = s;
    smax[threadIdx.x] = m;
    sarg[threadIdx.x] = a;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) {
            if (op == NN_RED_SUM) {
                ssum[threadIdx.x] += ssum[threadIdx.x + w];
            } else {
                float mm = smax[threadIdx.x];
                int32_t aa = sarg[threadIdx.x];
                if (sarg[threadIdx.x + w] != INT32_MAX) max_pick(&mm, &aa, smax[threadIdx.x + w], sarg[threadIdx.x + w]);
                smax[threadIdx.x] = mm;
                sarg[threadIdx.x] = aa;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (op == NN_RED_SUM) {
            y[t] = (float)ssum[0];
        } else {
            y[t] = smax[0];
            if (idx) idx[t] = sarg[0];
        }
    }
}

void gpu_reduce(int op, int64_t outer, int64_t n, int64_t inner, const float *x, float *y,
                int32_t *idx)
{
    int64_t outs = outer * inner;
    if (outs <= 0) return;
    if (n <= 0) { /* an empty sum is 0; an empty max is undefined, as on the CPU callers check */
        gpu_fill(y, (size_t)outs, 0.0f);
        return;
    }
    if (outs < FEW_OUTPUTS && n >= 64 && outs <= INT32_MAX)
        gpu_reduce_block_kernel<<<(unsigned)outs, GPU_THREADS, 0, gpu__st.stream>>>(op, n, inner, x, y, idx);
    else
        gpu_reduce_kernel<<<gpu__blocks(outs), GPU_THREADS, 0, gpu__st.stream>>>(op, outer, n, inner, x, y, idx);
    GPU_LAUNCHED("reduce");
}

/* Each dx element has at most one source for max (the argmax of its (o, i) column, distinct
 * per column), and exactly one for sum, so plain += is race-free in both. */
__global__ void gpu_reduce_backward_sum_kernel(int64_t outer, int64_t n, int64_t inner,
                                               const float *dy, float *dx, float scale)
{
    GRID_LOOP(t, outer * n * inner) {
        int64_t i = t % inner, o = t / (n * inner);
        dx[t] += dy[o * inner + i] * scale;
    }
}

__global__ void gpu_reduce_backward_max_kernel(int64_t outer, int64_t n, int64_t inner,
                                               const float *dy, const int32_t *idx, float *dx)
{
    GRID_LOOP(t, outer * inner) {
        int64_t o = t / inner, i = t % inner;
        dx[(o * n + idx[t]) * inner + i] += dy[t];
    }
}

void gpu_reduce_backward(int op, int64_t outer, int64_t n, int64_t inner, const float *dy,
                         const int32_t *idx, float *dx, float scale)
{
    if (outer * n * inner <= 0) return;
    if (op == NN_RED_SUM)
        gpu_reduce_backward_sum_kernel<<<gpu__blocks(outer * n * inner), GPU_THREADS, 0, gpu__st.stream>>>(
            outer, n, inner, dy, dx, scale);
    else
        gpu_reduce_backward_max_kernel<<<gpu__blocks(outer * inner), GPU_THREADS, 0, gpu__st.stream>>>(
            outer, n, inner, dy, idx, dx);
    GPU_LAUNCHED("reduce_backward");
}

/* softmax: one thread per (o, i) row; VDSM's softmaxes are over a few to a few hundred
 * entries, so a row fits one thread's loop and adjacent threads read adjacent columns */
__global__ void gpu_softmax_kernel(int use_log, int64_t outer, int64_t n, int64_t inner,
                                   const float *x, float *y)
{
    GRID_LOOP(t, outer * inner) {
        int64_t o = t / inner, i = t % inner;
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
    }
}

void gpu_softmax(int use_log, int64_t outer, int64_t n, int64_t inner, const float *x, float *y)
{
    if (outer * n * inner <= 0) return;
    gpu_softmax_kernel<<<gpu__blocks(outer * inner), GPU_THREADS, 0, gpu__st.stream>>>(use_log, outer, n, inner, x, y);
    GPU_LAUNCHED("softmax");
}

__global__ void gpu_softmax_backward_kernel(int use_log, int64_t outer, int64_t n, int64_t inner,
                                            const float *y, const float *dy, float *dx)
{
    GRID_LOOP(t, outer * inner) {
        int64_t o = t / inner, i = t % inner, base = o * n * inner + i;
        double s = 0;
        if (use_log) {
            for (int64_t j = 0; j < n; j++) s += dy[base + j * inner];
            for (int64_t j = 0; j < n; j++)
                dx[base + j * inner] += dy[base + j * inner] - expf(y[base + j * inner]) * (float)s;
        } else {
            for (int64_t j = 0; j < n; j++) s += (double)dy[base + j * inner] * y[base + j * inner];
            for (int64_t j = 0; j < n; j++)
                dx[base + j * inner] += y[base + j * inner] * (dy[base + j * inner] - (float)s);
        }
    }
}

void gpu_softmax_backward(int use_log, int64_t outer, int64_t n, int64_t inner, const float *y,
                          const float *dy, float *dx)
{
    if (outer * n * inner <= 0) return;
    gpu_softmax_backward_kernel<<<gpu__blocks(outer * inner), GPU_THREADS, 0, gpu__st.stream>>>(
        use_log, outer, n, inner, y, dy, dx);
    GPU_LAUNCHED("softmax_backward");
}

__global__ void gpu_gather_kernel(int64_t outer, int64_t n, int64_t m, int64_t inner,
                                  const float *x, const float *idx, float *y)
{
    GRID_LOOP(t, outer * m * inner) {
        int64_t i = t % inner, o = t / (m * inner);
        int64_t k = (int64_t)idx[t];
        y[t] = x[(o * n + k) * inner + i];
    }
}

void gpu_gather(int64_t outer, int64_t n, int64_t m, int64_t inner, const float *x,
                const float *idx, float *y)
{
    if (outer * m * inner <= 0) return;
    gpu_gather_kernel<<<gpu__blocks(outer * m * inner), GPU_THREADS, 0, gpu__st.stream>>>(outer, n, m, inner, x, idx, y);
    GPU_LAUNCHED("gather");
}

/* several outputs may gather the same source: atomics */
__global__ void gpu_gather_backward_kernel(int64_t outer, int64_t n, int64_t m, int64_t inner,
                                           const float *dy, const float *idx, float *dx)
{
    GRID_LOOP(t, outer * m * inner) {
        int64_t i = t % inner, o = t / (m * inner);
        int64_t k = (int64_t)idx[t];
        atomicAdd(dx + (o * n + k) * inner + i, dy[t]);
    }
}

void gpu_gather_backward(int64_t outer, int64_t n, int64_t m, int64_t inner, const float *dy,
                         const float *idx, float *dx)
{
    if (outer * m * inner <= 0) return;
    gpu_gather_backward_kernel<<<gpu__blocks(outer * m * inner), GPU_THREADS, 0, gpu__st.stream>>>(
        outer, n, m, inner, dy, idx, dx);
    GPU_LAUNCHED("gather_backward");
}

/* block sum of a double, result in thread 0 */
__device__ static double block_sum(double v)
{
    __shared__ double sh[GPU_THREADS];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    return sh[0];
}

__global__ void gpu_sumsq_kernel(int64_t n, const float *x, double *out)
{
    double s = 0;
    GRID_LOOP(i, n) s += (double)x[i] * x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) atomicAdd(out, s);
}

/* The interface wants the sum on the host, so this one kernel waits and copies back into the
 * scratch word made at init (no allocation). */
void gpu_sumsq(size_t n, const float *x, double *out)
{
    double h = 0;
    if (!gpu__cuda_ok(cudaMemsetAsync(gpu__st.scratch, 0, sizeof(double), gpu__st.stream), "sumsq"))
        return;
    if (n) {
        gpu_sumsq_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>((int64_t)n, x, gpu__st.scratch);
        if (!GPU_LAUNCHED("sumsq")) return;
    }
    if (gpu__cuda_ok(cudaMemcpyAsync(&h, gpu__st.scratch, sizeof h, cudaMemcpyDeviceToHost, gpu__st.stream), "sumsq") &&
        gpu__cuda_ok(cudaStreamSynchronize(gpu__st.stream), "sumsq (sync)"))
        *out = h;
}

__global__ void gpu_bias_add_kernel(int64_t n, int64_t c, int64_t s, float *y, const float *bias)
{
    GRID_LOOP(t, n * c * s) y[t] += bias[(t / s) % c];
}

void gpu_bias_add(int64_t n, int64_t c, int64_t s, float *y, const float *bias)
{
    if (n * c * s <= 0) return;
    gpu_bias_add_kernel<<<gpu__blocks(n * c * s), GPU_THREADS, 0, gpu__st.stream>>>(n, c, s, y, bias);
    GPU_LAUNCHED("bias_add");
}

/* one block per channel: sums n * s values, no atomics */
__global__ void gpu_bias_backward_kernel(int64_t n, int64_t c, int64_t s, const float *dy, float *db)
{
    int64_t ch = blockIdx.x;
    double acc = 0;
    for (int64_t t = threadIdx.x; t < n * s; t += blockDim.x) {
        int64_t b = t / s, k = t % s;
        acc += dy[(b * c + ch) * s + k];
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) db[ch] += (float)acc;
}

__global__ void gpu_bias_leaky_kernel(int64_t n, int64_t c, int64_t s, float *y, const float *bias, float slope)
{
    GRID_LOOP(t, n * c * s) {
        float v = y[t] + (bias ? bias[(t / s) % c] : 0.0f);
        y[t] = v > 0 ? v : slope * v;
    }
}

void gpu_bias_leaky(int64_t n, int64_t c, int64_t s, float *y, const float *bias, float slope)
{
    if (n * c * s <= 0) return;
    gpu_bias_leaky_kernel<<<gpu__blocks(n * c * s), GPU_THREADS, 0, gpu__st.stream>>>(n, c, s, y, bias, slope);
    GPU_LAUNCHED("bias_leaky");
}

/* one block per channel, as bias_backward; dy rewritten in place */
__global__ void gpu_bias_leaky_backward_kernel(int64_t n, int64_t c, int64_t s, const float *y, float *dy,
                                               float slope, float *db)
{
    int64_t ch = blockIdx.x;
    double acc = 0;
    for (int64_t t = threadIdx.x; t < n * s; t += blockDim.x) {
        int64_t i = ((t / s) * c + ch) * s + t % s;
        float g = dy[i] * (y[i] > 0 ? 1.0f : slope);
        dy[i] = g;
        acc += g;
    }
    acc = block_sum(acc);
    if (db && threadIdx.x == 0) db[ch] += (float)acc;
}

void gpu_bias_leaky_backward(int64_t n, int64_t c, int64_t s, const float *y, float *dy, float slope, float *db)
{
    if (c <= 0 || n * s <= 0) return;
    if (c > INT32_MAX) {
        gpu__fail(NN_UNSUPPORTED, "bias_leaky_backward: %lld channels", (long long)c);
        return;
    }
    gpu_bias_leaky_backward_kernel<<<(unsigned)c, GPU_THREADS, 0, gpu__st.stream>>>(n, c, s, y, dy, slope, db);
    GPU_LAUNCHED("bias_leaky_backward");
}

void gpu_bias_backward(int64_t n, int64_t c, int64_t s, const float *dy, float *db)
{
    if (c <= 0 || n * s <= 0) return;
    if (c > INT32_MAX) {
        gpu__fail(NN_UNSUPPORTED, "bias_backward: %lld channels", (long long)c);
        return;
    }
    gpu_bias_backward_kernel<<<(unsigned)c, GPU_THREADS, 0, gpu__st.stream>>>(n, c, s, dy, db);
    GPU_LAUNCHED("bias_backward");
}
