/* The CPU backend's precision: the GEMM and convolution kernels in fp32 or bf16.
 *
 * fp32 (the default) runs the fp32 kernels (nn/cpu/gemm.c, conv.c) directly: the same code
 * and the same numbers as before precisions existed.
 *
 * bf16 rounds each kernel's inputs to bfloat16 and accumulates in fp32 (nn/backend.h). Where
 * the CPU has bf16 instructions (AMX, AVX512-BF16), oneDNN computes it (nn/cpu/onednn.h).
 * Elsewhere, and for a case oneDNN has no implementation of, the kernel rounds copies of its
 * inputs and runs the fp32 kernel on them: the same products (each exact in fp32), summed in
 * another order, and slower than fp32 by the rounding passes. precision_detail says which. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu.h"
#include "nn/cpu/onednn.h"

static enum nn_precision precision = NN_PREC_FP32;

static const char *const names[NN_PREC_COUNT] = {"fp32", "tf32", "bf16"};

const char *nn_precision_name(enum nn_precision p) { return (unsigned)p < NN_PREC_COUNT ? names[p] : "?"; }

int nn_precision_parse(const char *s)
{
    for (int i = 0; s && i < NN_PREC_COUNT; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

enum nn_precision nn_cpu_precision(void) { return precision; }

nn_status nn_cpu_set_precision(enum nn_precision p, struct nn_err *err)
{
    if (p != NN_PREC_FP32 && p != NN_PREC_BF16)
        return nn_err_set(err, NN_UNSUPPORTED, "precision %s: the CPU offers fp32 and bf16", nn_precision_name(p));
    precision = p;
    return NN_OK;
}

const char *nn_cpu_precision_detail(void)
{
    static char buf[128];
    if (precision == NN_PREC_FP32) return "fp32 (OpenBLAS sgemm and vdsm's kernels)";
    if (!nn_onednn_bf16_native()) return "bf16, emulated by rounding the inputs for the fp32 kernels";
    snprintf(buf, sizeof buf, "bf16 on %s (oneDNN %s), fp32 accumulation", nn_onednn_isa(), nn_onednn_version());
    return buf;
}

/* ---- rounding */

static inline uint32_t bf16_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & 0xffff0000u; /* NaN stays (quiet) NaN */
    return (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
}

void nn_cpu_bf16_round(const float *x, float *y, size_t n)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for", for (size_t i = 0; i < n; i++) {
        uint32_t u = bf16_bits(x[i]);
        memcpy(&y[i], &u, sizeof u);
    });
}

void nn_cpu_bf16_pack(const float *x, uint16_t *h, size_t n)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
                   for (size_t i = 0; i < n; i++) h[i] = (uint16_t)(bf16_bits(x[i]) >> 16););
}

/* ---- emulation: rounded copies in growable buffers, one per input */

static float *copies[3];
static size_t copy_n[3];

/* x rounded into copy slot i, or NULL when out of memory */
static const float *rounded(int i, const float *x, size_t n)
{
    if (n > copy_n[i]) {
        free(copies[i]);
        copies[i] = nn_cpu_alloc(n * sizeof(float));
        copy_n[i] = copies[i] ? n : 0;
        if (!copies[i]) return NULL;
    }
    nn_cpu_bf16_round(x, copies[i], n);
    return copies[i];
}

static size_t span(int64_t batch, int64_t rows, int64_t cols, int trans, int64_t ld, int64_t stride)
{
    int64_t r = trans ? cols : rows, c = trans ? rows : cols;
    return (size_t)((stride ? (batch - 1) * stride : 0) + (r - 1) * ld + c);
}

static size_t x_size(const struct nn_conv_desc *d) { return (size_t)(d->g * d->n * d->c * d->h * d->w); }
static size_t w_size(const struct nn_conv_desc *d) { return (size_t)(d->g * d->k * d->c * d->r * d->s); }
static size_t y_size(const struct nn_conv_desc *d) { return (size_t)(d->g * d->n * d->k * d->p * d->q); }

/* Out of memory for a copy, the kernel computes in fp32: a run is not stopped for it. */

/* Products with two sides of at most 64 and a third of at least 2^16 (the mixture decoder's
 * expert blend, [B, E] x [E, 2.1 M], and its gradients) stay fp32 in bf16: each reads its long
 * operand once at a few multiply-adds per element, so bf16 arithmetic would save nothing, while
 * rounding that operand would be one more pass over it and a copy as large (a Sprites stage-1
 * step's resident set 3300 -> 3061 MiB without it). */
static bool streamed(int64_t m, int64_t n, int64_t k)
{
    int thin = (m <= 64) + (n <= 64) + (k <= 64);
    int64_t longest = m > n ? (m > k ? m : k) : (n > k ? n : k);
    return thin >= 2 && longest >= ((int64_t)1 << 16);
}

void nn_cpu_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 int64_t sa, const float *b, int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                 int64_t batch)
{
    if (precision == NN_PREC_BF16 && m > 0 && n > 0 && k > 0 && batch > 0 && !streamed(m, n, k)) {
        if (nn_onednn_bf16_native() &&
            nn_onednn_gemm(true, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch))
            return;
        const float *ra = rounded(0, a, span(batch, m, k, ta, lda, sa));
        const float *rb = rounded(1, b, span(batch, k, n, tb, ldb, sb));
        if (ra && rb) a = ra, b = rb;
    }
    nn_cpu_gemm_f32(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

/* the part of a descriptor from weight group g on, and the offsets of its arrays */
static struct nn_conv_desc groups_from(const struct nn_conv_desc *d, int64_t g, int64_t *ox, int64_t *ow, int64_t *oy)
{
    struct nn_conv_desc r = *d;
    r.g = d->g - g;
    *ox = g * d->n * d->c * d->h * d->w;
    *ow = g * d->k * d->c * d->r * d->s;
    *oy = g * d->n * d->k * d->p * d->q;
    return r;
}

/* One pass in bf16: oneDNN where the CPU has bf16 instructions, the emulation for whatever
 * weight groups it did not compute. */
static void conv_pass(enum nn_conv_pass pass, const struct nn_conv_desc *d, const float *in1, const float *in2,
                      float *out, float beta)
{
    int64_t done = nn_onednn_bf16_native() ? nn_onednn_conv(pass, d, true, in1, in2, out, beta) : 0;
    if (done == d->g) return;
    int64_t ox, ow, oy;
    struct nn_conv_desc r = groups_from(d, done, &ox, &ow, &oy);
    if (pass == NN_CONV_FORWARD) {
        const float *x = in1 + ox, *w = in2 + ow, *rx = rounded(0, x, x_size(&r)), *rw = rounded(1, w, w_size(&r));
        nn_cpu_conv2d_forward_f32(&r, rx && rw ? rx : x, rx && rw ? rw : w, out + oy, beta);
    } else if (pass == NN_CONV_BACKWARD_DATA) {
        const float *dy = in1 + oy, *w = in2 + ow, *rdy = rounded(0, dy, y_size(&r)), *rw = rounded(1, w, w_size(&r));
        nn_cpu_conv2d_backward_data_f32(&r, rdy && rw ? rdy : dy, rdy && rw ? rw : w, out + ox, beta);
    } else {
        const float *x = in1 + ox, *dy = in2 + oy, *rx = rounded(0, x, x_size(&r)), *rdy = rounded(1, dy, y_size(&r));
        nn_cpu_conv2d_backward_filter_f32(&r, rx && rdy ? rx : x, rx && rdy ? rdy : dy, out + ow, beta);
    }
}

void nn_cpu_conv2d_forward(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta)
{
    if (precision == NN_PREC_BF16 && d->n > 0) conv_pass(NN_CONV_FORWARD, d, x, w, y, beta);
    else nn_cpu_conv2d_forward_f32(d, x, w, y, beta);
}

void nn_cpu_conv2d_backward_data(const struct nn_conv_desc *d, const float *dy, const float *w, float *dx,
                                 float beta)
{
    if (precision == NN_PREC_BF16 && d->n > 0) conv_pass(NN_CONV_BACKWARD_DATA, d, dy, w, dx, beta);
    else nn_cpu_conv2d_backward_data_f32(d, dy, w, dx, beta);
}

void nn_cpu_conv2d_backward_filter(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw,
                                   float beta)
{
    if (precision == NN_PREC_BF16 && d->n > 0) conv_pass(NN_CONV_BACKWARD_FILTER, d, x, dy, dw, beta);
    else nn_cpu_conv2d_backward_filter_f32(d, x, dy, dw, beta);
}

/* dw may be w. With oneDNN: the forward pass has read all of w before the filter pass writes
 * dw. Emulated: both passes from one set of rounded copies, w's among them, by the fp32 kernel
 * that shares its columns between them. */
void nn_cpu_conv2d_forward_filter(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                                  float beta_y, const float *dy, float *dw, float beta_w)
{
    if (precision == NN_PREC_BF16 && d->n > 0) {
        if (nn_onednn_bf16_native()) {
            conv_pass(NN_CONV_FORWARD, d, x, w, y, beta_y);
            conv_pass(NN_CONV_BACKWARD_FILTER, d, x, dy, dw, beta_w);
            return;
        }
        const float *rx = rounded(0, x, x_size(d)), *rw = rounded(1, w, w_size(d)), *rdy = rounded(2, dy, y_size(d));
        if (rx && rw && rdy) x = rx, w = rw, dy = rdy;
    }
    nn_cpu_conv2d_forward_filter_f32(d, x, w, y, beta_y, dy, dw, beta_w);
}
