/* Elementwise kernels: fill, strided copy / accumulate, broadcasting binary ops, unary ops and
 * their derivatives, in-place scale. One thread per element in grid-stride loops; N-d strided
 * operands are addressed by decomposing the linear index (shapes passed by value, so a launch
 * needs no device copy of them). The maths mirrors nn/cpu/elementwise.c line by line. */
#include <math.h>

#include "gpu/internal.h"

struct gpu_walk {
    int ndim;
    int64_t shape[GPU_MAX_DIMS];
    int64_t sa[GPU_MAX_DIMS], sb[GPU_MAX_DIMS];
};

static int walk_init(struct gpu_walk *w, int ndim, const int64_t *shape, const int64_t *sa,
                     const int64_t *sb, int64_t *total, const char *what)
{
    if (ndim < 0 || ndim > GPU_MAX_DIMS) {
        gpu__fail(NN_UNSUPPORTED, "%s: %d dimensions (at most %d)", what, ndim, GPU_MAX_DIMS);
        return 0;
    }
    w->ndim = ndim;
    *total = 1;
    for (int d = 0; d < ndim; d++) {
        w->shape[d] = shape[d];
        w->sa[d] = sa[d];
        w->sb[d] = sb ? sb[d] : 0;
        *total *= shape[d];
    }
    return *total > 0;
}

__device__ static inline void walk_offsets(const gpu_walk &w, int64_t i, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int d = w.ndim - 1; d >= 0; d--) {
        int64_t k = i % w.shape[d];
        i /= w.shape[d];
        a += k * w.sa[d];
        b += k * w.sb[d];
    }
    *oa = a;
    *ob = b;
}

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void gpu_fill_kernel(float *y, int64_t n, float v)
{
    GRID_LOOP(i, n) y[i] = v;
}

void gpu_fill(float *y, size_t n, float v)
{
    if (!n) return;
    gpu_fill_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>(y, (int64_t)n, v);
    GPU_LAUNCHED("fill");
}

__global__ void gpu_copy_strided_kernel(gpu_walk w, int64_t n, float *dst, const float *src)
{
    GRID_LOOP(i, n) {
        int64_t od, os;
        walk_offsets(w, i, &od, &os);
        dst[od] = src[os];
    }
}

void gpu_copy_strided(int ndim, const int64_t *shape, float *dst, const int64_t *dst_stride,
                      const float *src, const int64_t *src_stride)
{
    gpu_walk w;
    int64_t n;
    if (!walk_init(&w, ndim, shape, dst_stride, src_stride, &n, "copy_strided")) return;
    gpu_copy_strided_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(w, n, dst, src);
    GPU_LAUNCHED("copy_strided");
}

/* No aliasing: every destination element has one source, a plain += is race-free. */
__global__ void gpu_accum_strided_kernel(gpu_walk w, int64_t n, float *dst, const float *src)
{
    GRID_LOOP(i, n) {
        int64_t od, os;
        walk_offsets(w, i, &od, &os);
        dst[od] += src[os];
    }
}

/* Aliasing (destination stride 0 over a dimension of extent > 1): the walk is split into kept
 * dimensions (kw, one destination element each) and reduced ones (rw). Thread t sums a slice
 * of the reduced index space for kept element t % kept, then adds its partial sum atomically,
 * so contention is one atomic per slice rather than one per source element. */
__global__ void gpu_accum_reduce_kernel(gpu_walk kw, int64_t kept, gpu_walk rw, int64_t red,
                                        int64_t slices, float *dst, const float *src)
{
    GRID_LOOP(t, kept * slices) {
        int64_t k = t % kept, sl = t / kept;
        int64_t od, os;
        walk_offsets(kw, k, &od, &os);
        int64_t per = (red + slices - 1) / slices, r0 = sl * per;
        int64_t r1 = r0 + per < red ? r0 + per : red;
        float s = 0.0f;
        for (int64_t r = r0; r < r1; r++) {
            int64_t unused, o;
            walk_offsets(rw, r, &unused, &o);
            s += src[os + o];
        }
        if (r1 > r0) atomicAdd(dst + od, s);
    }
}

void gpu_accum_strided(int ndim, const int64_t *shape, float *dst, const int64_t *dst_stride,
                       const float *src, const int64_t *src_stride)
{
    gpu_walk w;
    int64_t n;
    if (!walk_init(&w, ndim, shape, dst_stride, src_stride, &n, "accum_strided")) return;
    gpu_walk kw = {}, rw = {};
    int64_t kept = 1, red = 1;
    for (int d = 0; d < ndim; d++) {
        gpu_walk *o = (dst_stride[d] == 0 && shape[d] > 1) ? &rw : &kw;
        o->shape[o->ndim] = shape[d];
        o->sa[o->ndim] = dst_stride[d];
        o->sb[o->ndim] = src_stride[d];
        o->ndim++;
        *(o == &rw ? &red : &kept) *= shape[d];
    }
    if (red == 1) {
        gpu_accum_strided_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(w, n, dst, src);
    } else {
        /* enough slices to fill the device, each at least ~32 elements long */
        int64_t want = (int64_t)gpu__st.sm_count * 2048 / kept;
        int64_t slices = want < 1 ? 1 : want;
        if (slices > (red + 31) / 32) slices = (red + 31) / 32;
        if (slices < 1) slices = 1;
        gpu_accum_reduce_kernel<<<gpu__blocks(kept * slices), GPU_THREADS, 0, gpu__st.stream>>>(
            kw, kept, rw, red, slices, dst, src);
    }
    GPU_LAUNCHED("accum_strided");
}

__device__ static inline float binop(int op, float a, float b)
{
    switch (op) {
    case NN_BIN_ADD: return a + b;
    case NN_BIN_SUB: return a - b;
    case NN_BIN_MUL: return a * b;
    case NN_BIN_DIV: return a / b;
    case NN_BIN_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

/* y is contiguous: walk b's strides in the second slot and y by the linear index */
__global__ void gpu_binary_kernel(int op, gpu_walk w, int64_t n, float *y, const float *a,
                                  const float *b)
{
    GRID_LOOP(i, n) {
        int64_t oa, ob;
        walk_offsets(w, i, &oa, &ob);
        y[i] = binop(op, a[oa], b[ob]);
    }
}

void gpu_binary(int op, int ndim, const int64_t *shape, float *y, const float *a,
                const int64_t *sa, const float *b, const int64_t *sb)
{
    gpu_walk w;
    int64_t n;
    if (!walk_init(&w, ndim, shape, sa, sb, &n, "binary")) return;
    gpu_binary_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(op, w, n, y, a, b);
    GPU_LAUNCHED("binary");
}

/* ---- ternary: a, b, c strided against the output shape; y and the gradients contiguous */

struct gpu_walk3 {
    int ndim;
    int64_t shape[GPU_MAX_DIMS];
    int64_t s[3][GPU_MAX_DIMS];
};

static int walk3_init(struct gpu_walk3 *w, int ndim, const int64_t *shape, const int64_t *sa,
                      const int64_t *sb, const int64_t *sc, int64_t *total)
{
    if (ndim < 0 || ndim > GPU_MAX_DIMS) {
        gpu__fail(NN_UNSUPPORTED, "ternary: %d dimensions (at most %d)", ndim, GPU_MAX_DIMS);
        return 0;
    }
    w->ndim = ndim;
    *total = 1;
    for (int d = 0; d < ndim; d++) {
        w->shape[d] = shape[d];
        w->s[0][d] = sa[d];
        w->s[1][d] = sb[d];
        w->s[2][d] = sc[d];
        *total *= shape[d];
    }
    return *total > 0;
}

__device__ static inline void walk3_offsets(const gpu_walk3 &w, int64_t i, int64_t *o)
{
    o[0] = o[1] = o[2] = 0;
    for (int d = w.ndim - 1; d >= 0; d--) {
        int64_t k = i % w.shape[d];
        i /= w.shape[d];
        o[0] += k * w.s[0][d];
        o[1] += k * w.s[1][d];
        o[2] += k * w.s[2][d];
    }
}

#define HALF_LOG_2PI 0.91893853320467274178f

/* softplus and sigmoid as the CPU computes them (the ternary Bernoulli kind and the unary ops) */
__device__ static inline float softplus(float x)
{
    return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

__device__ static inline float sigmoid(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

__global__ void gpu_ternary_kernel(int op, gpu_walk3 w, int64_t n, float *y, const float *a,
                                   const float *b, const float *c)
{
    GRID_LOOP(i, n) {
        int64_t o[3];
        walk3_offsets(w, i, o);
        float av = a[o[0]], bv = b[o[1]], cv = c[o[2]];
        if (op == NN_TER_ADDCMUL) {
            y[i] = av + bv * cv;
        } else if (op == NN_TER_BERNOULLI_LOGITS) {
            y[i] = cv * (av * bv - softplus(bv));
        } else {
            float z = (av - bv) / cv;
            y[i] = -0.5f * z * z - logf(cv) - HALF_LOG_2PI;
        }
    }
}

void gpu_ternary(int op, int ndim, const int64_t *shape, float *y, const float *a,
                 const int64_t *sa, const float *b, const int64_t *sb, const float *c,
                 const int64_t *sc)
{
    gpu_walk3 w;
    int64_t n;
    if (!walk3_init(&w, ndim, shape, sa, sb, sc, &n)) return;
    gpu_ternary_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(op, w, n, y, a, b, c);
    GPU_LAUNCHED("ternary");
}

__global__ void gpu_ternary_backward_kernel(int op, gpu_walk3 w, int64_t n, const float *dy,
                                            const float *a, const float *b, const float *c,
                                            float *da, float *db, float *dc)
{
    GRID_LOOP(i, n) {
        int64_t o[3];
        walk3_offsets(w, i, o);
        float g = dy[i], av = a[o[0]], bv = b[o[1]], cv = c[o[2]];
        if (op == NN_TER_ADDCMUL) {
            if (da) da[i] += g;
            if (db) db[i] += g * cv;
            if (dc) dc[i] += g * bv;
        } else if (op == NN_TER_BERNOULLI_LOGITS) {
            if (da) da[i] += g * cv * bv;
            if (db) db[i] += g * cv * (av - sigmoid(bv));
            if (dc) dc[i] += g * (av * bv - softplus(bv));
        } else {
            float z = (av - bv) / cv, zc = z / cv;
            if (da) da[i] += -g * zc;
            if (db) db[i] += g * zc;
            if (dc) dc[i] += g * (z * zc - 1.0f / cv);
        }
    }
}

void gpu_ternary_backward(int op, int ndim, const int64_t *shape, const float *dy, const float *a,
                          const int64_t *sa, const float *b, const int64_t *sb, const float *c,
                          const int64_t *sc, float *da, float *db, float *dc)
{
    gpu_walk3 w;
    int64_t n;
    if (!walk3_init(&w, ndim, shape, sa, sb, sc, &n)) return;
    gpu_ternary_backward_kernel<<<gpu__blocks(n), GPU_THREADS, 0, gpu__st.stream>>>(op, w, n, dy, a, b,
                                                                                  c, da, db, dc);
    GPU_LAUNCHED("ternary_backward");
}

/* ---- unary: the same formulas as the CPU (float maths; digamma / trigamma in double) */

__device__ static double digamma(double x)
{
    double r = 0.0;
    if (x <= 0.0 && floor(x) == x) return nan("");
    if (x < 0.0) { /* reflection, without recursion */
        r = -M_PI / tan(M_PI * x);
        x = 1.0 - x;
    }
    while (x < 6.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    double f = 1.0 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

__device__ static double trigamma(double x)
{
    double r = 0.0, sign = 1.0;
    if (x <= 0.0 && floor(x) == x) return nan("");
    if (x < 0.0) { /* trigamma(x) = -trigamma(1 - x) + (pi / sin(pi x))^2 */
        double s = M_PI / sin(M_PI * x);
        r = s * s;
        sign = -1.0;
        x = 1.0 - x;
    }
    double t = 0.0;
    while (x < 6.0) {
        t += 1.0 / (x * x);
        x += 1.0;
    }
    double f = 1.0 / (x * x);
    t += 1.0 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30))));
    return r + sign * t;
}

__device__ static inline float unop(int op, float x, float alpha)
{
    switch (op) {
    case NN_UN_NEG: return -x;
    case NN_UN_RELU: return x > 0 ? x : 0;
    case NN_UN_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case NN_UN_TANH: return tanhf(x);
    case NN_UN_SIGMOID: return sigmoid(x);
    case NN_UN_SOFTPLUS: return softplus(x);
    case NN_UN_EXP: return expf(x);
    case NN_UN_LOG: return logf(x);
    case NN_UN_LOG1P: return log1pf(x);
    case NN_UN_SQRT: return sqrtf(x);
    case NN_UN_SQUARE: return x * x;
    case NN_UN_ABS: return fabsf(x);
    case NN_UN_ADD_SCALAR: return x + alpha;
    case NN_UN_MUL_SCALAR: return x * alpha;
    case NN_UN_POW_SCALAR: return powf(x, alpha);
    case NN_UN_LGAMMA: return (float)lgamma((double)x);
    case NN_UN_DIGAMMA: return (float)digamma((double)x);
    case NN_UN_RECIPROCAL: return 1.0f / x;
    case NN_UN_CLAMP_MIN: return x < alpha ? alpha : x;
    case NN_UN_CLAMP_MAX: return x > alpha ? alpha : x;
    case NN_UN_EXPM1: return expm1f(x);
    case NN_UN_LOG_SIGMOID: return x < 0 ? x - log1pf(expf(x)) : -log1pf(expf(-x));
    case NN_UN_GE_SCALAR: return x >= alpha ? 1.0f : 0.0f;
    default: return nanf("");
    }
}

__device__ static inline float unop_grad(int op, float x, float y, float alpha)
{
    switch (op) {
    case NN_UN_NEG: return -1.0f;
    case NN_UN_RELU: return x > 0 ? 1.0f : 0.0f;
    case NN_UN_LEAKY_RELU: return x > 0 ? 1.0f : alpha;
    case NN_UN_TANH: return 1.0f - y * y;
    case NN_UN_SIGMOID: return y * (1.0f - y);
    case NN_UN_SOFTPLUS: return sigmoid(x);
    case NN_UN_EXP: return y;
    case NN_UN_LOG: return 1.0f / x;
    case NN_UN_LOG1P: return 1.0f / (1.0f + x);
    case NN_UN_SQRT: return 0.5f / y;
    case NN_UN_SQUARE: return 2.0f * x;
    case NN_UN_ABS: return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
    case NN_UN_ADD_SCALAR: return 1.0f;
    case NN_UN_MUL_SCALAR: return alpha;
    case NN_UN_POW_SCALAR: return alpha * powf(x, alpha - 1.0f);
    case NN_UN_LGAMMA: return (float)digamma((double)x);
    case NN_UN_DIGAMMA: return (float)trigamma((double)x);
    case NN_UN_RECIPROCAL: return -y * y;
    case NN_UN_CLAMP_MIN: return x >= alpha ? 1.0f : 0.0f;
    case NN_UN_CLAMP_MAX: return x <= alpha ? 1.0f : 0.0f;
    case NN_UN_EXPM1: return y + 1.0f;
    case NN_UN_LOG_SIGMOID: return 1.0f - sigmoid(x);
    case NN_UN_GE_SCALAR: return 0.0f;
    default: return nanf("");
    }
}

__global__ void gpu_unary_kernel(int op, int64_t n, const float *x, float *y, float alpha)
{
    GRID_LOOP(i, n) y[i] = unop(op, x[i], alpha);
}

void gpu_unary(int op, size_t n, const float *x, float *y, float alpha)
{
    if (!n) return;
    gpu_unary_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>(op, (int64_t)n, x, y, alpha);
    GPU_LAUNCHED("unary");
}

__global__ void gpu_unary_backward_kernel(int op, int64_t n, const float *x, const float *y,
                                          const float *dy, float *dx, float alpha, float beta)
{
    GRID_LOOP(i, n) dx[i] = (beta == 0.0f ? 0.0f : beta * dx[i]) + dy[i] * unop_grad(op, x[i], y[i], alpha);
}

void gpu_unary_backward(int op, size_t n, const float *x, const float *y, const float *dy,
                        float *dx, float alpha, float beta)
{
    if (!n) return;
    gpu_unary_backward_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>(
        op, (int64_t)n, x, y, dy, dx, alpha, beta);
    GPU_LAUNCHED("unary_backward");
}

__global__ void gpu_scale_inplace_kernel(int64_t n, float *x, float s)
{
    GRID_LOOP(i, n) x[i] *= s;
}

void gpu_scale_inplace(size_t n, float *x, float s)
{
    if (!n) return;
    gpu_scale_inplace_kernel<<<gpu__blocks((int64_t)n), GPU_THREADS, 0, gpu__st.stream>>>((int64_t)n, x, s);
    GPU_LAUNCHED("scale_inplace");
}
