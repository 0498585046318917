/* Elementwise CPU kernels: fill, strided copy/accumulate, broadcasting binary ops, unary ops
 * and their derivatives. N-d strided loops walk the outer dimensions with an odometer and run
 * the innermost dimension as a plain loop. */
#include <math.h>
#include <string.h>

#include "nn/cpu/cpu.h"
#include "nn/cpu/vmath.h"

void nn_cpu_fill(float *y, size_t n, float v)
{
    if (v == 0.0f && !signbit(v) && n <= NN_CPU_PAR_MIN) {
        memset(y, 0, n * sizeof *y);
        return;
    }
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for", for (size_t i = 0; i < n; i++) y[i] = v;);
}

/* Calls body(inner_len, a_off, b_off, c_off) for each innermost row of an N-d strided walk
 * over up to three operands (the body may read r_, the row index, and inner_, the row length:
 * a contiguous output's row starts at r_ * inner_); rows are split across threads when the
 * total is large. (Tried:
 * coalescing contiguous dimensions and cutting long rows into pieces for the threads; on this
 * shared 2-core machine the extra parallel regions made a VDSM step ~9% slower.) */
#define STRIDED_WALK(ndim, shape, sa, sb, sc, ...)                                          \
    do {                                                                                     \
        int nd_ = (ndim);                                                                    \
        int64_t inner_ = nd_ ? (shape)[nd_ - 1] : 1;                                         \
        int64_t rows_ = 1;                                                                   \
        for (int d_ = 0; d_ < nd_ - 1; d_++) rows_ *= (shape)[d_];                           \
        int64_t ia_ = nd_ ? (sa)[nd_ - 1] : 0, ib_ = nd_ ? (sb)[nd_ - 1] : 0;                \
        int64_t ic_ = nd_ ? (sc)[nd_ - 1] : 0;                                               \
        NN_CPU_PAR_FOR(rows_ * inner_ > NN_CPU_PAR_MIN && rows_ > 1, "omp parallel for",     \
        for (int64_t r_ = 0; r_ < rows_; r_++) {                                             \
            int64_t oa = 0, ob = 0, oc = 0, rem_ = r_;                                       \
            for (int d_ = nd_ - 2; d_ >= 0; d_--) {                                          \
                int64_t k_ = rem_ % (shape)[d_];                                             \
                rem_ /= (shape)[d_];                                                         \
                oa += k_ * (sa)[d_];                                                         \
                ob += k_ * (sb)[d_];                                                         \
                oc += k_ * (sc)[d_];                                                         \
            }                                                                                \
            int64_t n_ = inner_, sa1 = ia_, sb1 = ib_, sc1 = ic_;                            \
            __VA_ARGS__;                                                                     \
        });                                                                                  \
    } while (0)

/* dst[i * ldd + j] = src[j * lds + i] for a [rows, cols] dst: in 32 x 32 blocks, whose
 * source lines stay in L1 while the block is written. A row-by-row walk reads one line per
 * element: 3.5 ms for the LSTM's [2048, 512] weights against 0.9 ms blocked (2 threads). */
#define TRANSPOSE_BLOCK 32
static void transpose_2d(int64_t rows, int64_t cols, float *dst, int64_t ldd, const float *src, int64_t lds)
{
    NN_CPU_PAR_FOR(rows * cols > NN_CPU_PAR_MIN && rows > TRANSPOSE_BLOCK, "omp parallel for",
    for (int64_t i0 = 0; i0 < rows; i0 += TRANSPOSE_BLOCK) {
        int64_t i1 = i0 + TRANSPOSE_BLOCK < rows ? i0 + TRANSPOSE_BLOCK : rows;
        for (int64_t j0 = 0; j0 < cols; j0 += TRANSPOSE_BLOCK) {
            int64_t j1 = j0 + TRANSPOSE_BLOCK < cols ? j0 + TRANSPOSE_BLOCK : cols;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) dst[i * ldd + j] = src[j * lds + i];
        }
    });
}

void nn_cpu_copy_strided(int ndim, const int64_t *shape, float *dst, const int64_t *dst_stride,
                         const float *src, const int64_t *src_stride)
{
    if (ndim == 2 && dst_stride[1] == 1 && src_stride[0] == 1 && shape[0] >= TRANSPOSE_BLOCK &&
        shape[1] >= TRANSPOSE_BLOCK) {
        transpose_2d(shape[0], shape[1], dst, dst_stride[0], src, src_stride[1]);
        return;
    }
    STRIDED_WALK(ndim, shape, dst_stride, src_stride, src_stride, {
        (void)oc; (void)sc1;
        if (sa1 == 1 && sb1 == 1)
            memcpy(dst + oa, src + ob, (size_t)n_ * sizeof(float));
        else
            for (int64_t j = 0; j < n_; j++) dst[oa + j * sa1] = src[ob + j * sb1];
    });
}

void nn_cpu_accum_strided(int ndim, const int64_t *shape, float *dst, const int64_t *dst_stride,
                          const float *src, const int64_t *src_stride)
{
    /* Destination strides may be 0 (a broadcast dimension being reduced), so rows may alias:
     * run serially in that case. */
    int alias = 0;
    for (int d = 0; d < ndim; d++) alias |= (dst_stride[d] == 0 && shape[d] > 1);
    if (alias) {
        int64_t total = 1;
        for (int d = 0; d < ndim; d++) total *= shape[d];
        int64_t idx[8] = {0};
        for (int64_t i = 0; i < total; i++) {
            int64_t od = 0, os = 0;
            for (int d = 0; d < ndim; d++) {
                od += idx[d] * dst_stride[d];
                os += idx[d] * src_stride[d];
            }
            dst[od] += src[os];
            for (int d = ndim - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return;
    }
    STRIDED_WALK(ndim, shape, dst_stride, src_stride, src_stride, {
        (void)oc; (void)sc1;
        float *d_ = dst + oa;
        const float *s_ = src + ob;
        if (sa1 == 1 && sb1 == 1)
            for (int64_t j = 0; j < n_; j++) d_[j] += s_[j];
        else
            for (int64_t j = 0; j < n_; j++) d_[j * sa1] += s_[j * sb1];
    });
}

static inline float binop(int op, float a, float b)
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

void nn_cpu_binary(int op, int ndim, const int64_t *shape, float *y, const float *a,
                   const int64_t *sa, const float *b, const int64_t *sb)
{
    int64_t sy[8];
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        sy[d] = s;
        s *= shape[d];
    }
    STRIDED_WALK(ndim, shape, sa, sb, sy, {
        float *yr = y + oc;
        const float *ar = a + oa, *br = b + ob;
        (void)sc1;
        if (sa1 == 1 && sb1 == 1) {
            switch (op) {
            case NN_BIN_ADD: for (int64_t j = 0; j < n_; j++) yr[j] = ar[j] + br[j]; break;
            case NN_BIN_SUB: for (int64_t j = 0; j < n_; j++) yr[j] = ar[j] - br[j]; break;
            case NN_BIN_MUL: for (int64_t j = 0; j < n_; j++) yr[j] = ar[j] * br[j]; break;
            case NN_BIN_DIV: for (int64_t j = 0; j < n_; j++) yr[j] = ar[j] / br[j]; break;
            default: for (int64_t j = 0; j < n_; j++) yr[j] = binop(op, ar[j], br[j]);
            }
        } else {
            for (int64_t j = 0; j < n_; j++) yr[j] = binop(op, ar[j * sa1], br[j * sb1]);
        }
    });
}

/* ---- ternary */

#define HALF_LOG_2PI 0.91893853320467274178f

static inline float ternop(int op, float a, float b, float c)
{
    if (op == NN_TER_ADDCMUL) return a + b * c;
    if (op == NN_TER_BERNOULLI_LOGITS) return c * (a * b - nn_vsoftplusf(b));
    float z = (a - b) / c;
    return -0.5f * z * z - logf(c) - HALF_LOG_2PI;
}

/* The Bernoulli likelihood's common row (the frames' pixels): targets and logits contiguous, one
 * weight, only the logits' gradient wanted. Loops of their own, which GCC vectorises (the
 * strided per-element loop below made the fused op slower than the three ops it replaced). */
static bool bernoulli_row(int op, int64_t sa1, int64_t sb1, int64_t sc1)
{
    return op == NN_TER_BERNOULLI_LOGITS && sa1 == 1 && sb1 == 1 && sc1 == 0;
}

static void bernoulli_row_forward(int64_t n, const float *restrict x, const float *restrict l, float w,
                                  float *restrict y)
{
    for (int64_t j = 0; j < n; j++) y[j] = w * (x[j] * l[j] - nn_vsoftplusf(l[j]));
}

static void bernoulli_row_grad(int64_t n, const float *restrict g, const float *restrict x, const float *restrict l,
                               float w, float *restrict dl)
{
    for (int64_t j = 0; j < n; j++) dl[j] += g[j] * w * (x[j] - nn_vsigmoidf(l[j]));
}

void nn_cpu_ternary(int op, int ndim, const int64_t *shape, float *y, const float *a,
                    const int64_t *sa, const float *b, const int64_t *sb, const float *c,
                    const int64_t *sc)
{
    STRIDED_WALK(ndim, shape, sa, sb, sc, {
        float *yr = y + r_ * inner_;
        const float *ar = a + oa, *br = b + ob, *cr = c + oc;
        if (bernoulli_row(op, sa1, sb1, sc1))
            bernoulli_row_forward(n_, ar, br, cr[0], yr);
        else
            for (int64_t j = 0; j < n_; j++) yr[j] = ternop(op, ar[j * sa1], br[j * sb1], cr[j * sc1]);
    });
}

void nn_cpu_ternary_backward(int op, int ndim, const int64_t *shape, const float *dy,
                             const float *a, const int64_t *sa, const float *b, const int64_t *sb,
                             const float *c, const int64_t *sc, float *da, float *db, float *dc)
{
    STRIDED_WALK(ndim, shape, sa, sb, sc, {
        int64_t o = r_ * inner_;
        const float *ar = a + oa, *br = b + ob, *cr = c + oc;
        if (!da && !dc && bernoulli_row(op, sa1, sb1, sc1)) {
            bernoulli_row_grad(n_, dy + o, ar, br, cr[0], db + o);
            continue;
        }
        for (int64_t j = 0; j < n_; j++) {
            float g = dy[o + j], av = ar[j * sa1], bv = br[j * sb1], cv = cr[j * sc1];
            if (op == NN_TER_ADDCMUL) {
                if (da) da[o + j] += g;
                if (db) db[o + j] += g * cv;
                if (dc) dc[o + j] += g * bv;
            } else if (op == NN_TER_BERNOULLI_LOGITS) { /* d/da = c b, d/db = c (a - sigmoid(b)), d/dc = a b - softplus(b) */
                if (da) da[o + j] += g * cv * bv;
                if (db) db[o + j] += g * cv * (av - nn_vsigmoidf(bv));
                if (dc) dc[o + j] += g * (av * bv - nn_vsoftplusf(bv));
            } else { /* z = (a - b) / c: d/da = -z / c, d/db = z / c, d/dc = (z^2 - 1) / c */
                float z = (av - bv) / cv, zc = z / cv;
                if (da) da[o + j] += -g * zc;
                if (db) db[o + j] += g * zc;
                if (dc) dc[o + j] += g * (z * zc - 1.0f / cv);
            }
        }
    });
}

/* ---- unary */

static double digamma(double x)
{
    double r = 0.0;
    if (x <= 0.0 && floor(x) == x) return NAN;
    if (x < 0.0) /* reflection */
        return digamma(1.0 - x) - M_PI / tan(M_PI * x);
    while (x < 6.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    double f = 1.0 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

static double trigamma(double x)
{
    double r = 0.0;
    if (x <= 0.0 && floor(x) == x) return NAN;
    if (x < 0.0) {
        double s = M_PI / sin(M_PI * x);
        return -trigamma(1.0 - x) + s * s;
    }
    while (x < 6.0) {
        r += 1.0 / (x * x);
        x += 1.0;
    }
    double f = 1.0 / (x * x);
    return r + 1.0 / x + f / 2 +
           f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30))));
}

static inline float unop(int op, float x, float alpha)
{
    switch (op) {
    case NN_UN_NEG: return -x;
    case NN_UN_RELU: return x > 0 ? x : 0;
    case NN_UN_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case NN_UN_TANH: return nn_vtanhf(x);
    case NN_UN_SIGMOID: return nn_vsigmoidf(x);
    case NN_UN_SOFTPLUS: return nn_vsoftplusf(x);
    case NN_UN_EXP: return nn_vexpf(x);
    case NN_UN_LOG: return logf(x);
    case NN_UN_LOG1P: return nn_vlog1pf(x);
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
    case NN_UN_LOG_SIGMOID: return -nn_vsoftplusf(-x);
    case NN_UN_GE_SCALAR: return x >= alpha ? 1.0f : 0.0f;
    default: return NAN;
    }
}

/* derivative f'(x), given y = f(x) where that is cheaper */
static inline float unop_grad(int op, float x, float y, float alpha)
{
    switch (op) {
    case NN_UN_NEG: return -1.0f;
    case NN_UN_RELU: return x > 0 ? 1.0f : 0.0f;
    case NN_UN_LEAKY_RELU: return x > 0 ? 1.0f : alpha;
    case NN_UN_TANH: return 1.0f - y * y;
    case NN_UN_SIGMOID: return y * (1.0f - y);
    case NN_UN_SOFTPLUS: return nn_vsigmoidf(x);
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
    case NN_UN_LOG_SIGMOID: return nn_vsigmoidf(-x);
    case NN_UN_GE_SCALAR: return 0.0f;
    default: return NAN;
    }
}

/* One loop per common op (the switch hoisted out, so the loop vectorises), the rest through
 * unop/unop_grad; the results are the same expressions either way. */
#define UNARY_LOOP(expr) \
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for", for (size_t i = 0; i < n; i++) { float xi = x[i]; y[i] = (expr); })
/* dx = beta dx + dy f': one loop per case of beta (0: dx not read, 1: added to) */
#define UNARY_BACK_LOOP(expr)                                                                          \
    do {                                                                                               \
        if (beta == 0.0f)                                                                              \
            NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",                                     \
                           for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (expr););                    \
        else if (beta == 1.0f)                                                                         \
            NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",                                     \
                           for (size_t i = 0; i < n; i++) dx[i] += dy[i] * (expr););                   \
        else                                                                                           \
            NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",                                     \
                           for (size_t i = 0; i < n; i++) dx[i] = beta * dx[i] + dy[i] * (expr););     \
    } while (0)

void nn_cpu_unary(int op, size_t n, const float *x, float *y, float alpha)
{
    switch (op) {
    case NN_UN_LEAKY_RELU: UNARY_LOOP(xi > 0 ? xi : alpha * xi); break;
    case NN_UN_RELU: UNARY_LOOP(xi > 0 ? xi : 0); break;
    case NN_UN_MUL_SCALAR: UNARY_LOOP(xi * alpha); break;
    case NN_UN_ADD_SCALAR: UNARY_LOOP(xi + alpha); break;
    case NN_UN_NEG: UNARY_LOOP(-xi); break;
    case NN_UN_SQUARE: UNARY_LOOP(xi * xi); break;
    case NN_UN_EXP: UNARY_LOOP(nn_vexpf(xi)); break;
    case NN_UN_TANH: UNARY_LOOP(nn_vtanhf(xi)); break;
    case NN_UN_SIGMOID: UNARY_LOOP(nn_vsigmoidf(xi)); break;
    case NN_UN_SOFTPLUS: UNARY_LOOP(nn_vsoftplusf(xi)); break;
    default: UNARY_LOOP(unop(op, xi, alpha));
    }
}

void nn_cpu_unary_backward(int op, size_t n, const float *x, const float *y, const float *dy,
                           float *dx, float alpha, float beta)
{
    switch (op) {
    case NN_UN_LEAKY_RELU: UNARY_BACK_LOOP(x[i] > 0 ? 1.0f : alpha); break;
    case NN_UN_RELU: UNARY_BACK_LOOP(x[i] > 0 ? 1.0f : 0.0f); break;
    case NN_UN_MUL_SCALAR: UNARY_BACK_LOOP(alpha); break;
    case NN_UN_ADD_SCALAR: UNARY_BACK_LOOP(1.0f); break;
    case NN_UN_SOFTPLUS: UNARY_BACK_LOOP(nn_vsigmoidf(x[i])); break;
    default: UNARY_BACK_LOOP(unop_grad(op, x[i], y[i], alpha));
    }
}
