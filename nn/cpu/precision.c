/* The CPU backend's precision: the GEMM and convolution kernels in fp32 or bf16.
 *
 * fp32 (the default) runs the fp32 kernels (nn/cpu/gemm.c, conv.c) directly: the same code
 * and the same numbers as before precisions existed.
 *
 * bf16 rounds each kernel's inputs to bfloat16 and accumulates in fp32 (nn/backend.h). Where
 * the CPU has bf16 instructions (AMX, AVX512-BF16), oneDNN computes it (nn/cpu/onednn.h; a
 * filter pass with few positions per weight group as columns and oneDNN's bf16 GEMM, below).
 * Elsewhere, and for a case oneDNN has no implementation of, the kernel rounds copies of its
 * inputs and runs the fp32 kernel on them: the same products (each exact in fp32), summed in
 * another order, and slower than fp32 by the rounding passes. precision_detail says which.
 * Products that bf16 does not speed up stay fp32 (streamed, bf16_pays below), and an operand
 * held across GEMMs (gemm_hold) is rounded once for all of them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "nn/cpu/cpu.h"
#include "nn/cpu/onednn.h"

static enum nn_precision precision = NN_PREC_FP32;

static void drop_holds(void);

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
    if (p != precision) drop_holds(); /* their copies are of the old precision */
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

/* ---- emulation: rounded copies in growable buffers, one per input */

static float *copies[2];
static size_t copy_n[2];

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

void nn_cpu_release_workspaces(void)
{
    for (int i = 0; i < 2; i++) {
        free(copies[i]);
        copies[i] = NULL;
        copy_n[i] = 0;
    }
    nn_onednn_release();
    drop_holds();
#ifdef __GLIBC__
    malloc_trim(0); /* glibc keeps freed mid-sized blocks in its heap; give them back */
#endif
}

/* ---- operands held across GEMMs (nn_backend.gemm_hold): rounded once, found by address */

#define HELD_MAX 4

static struct held {
    const float *p; /* NULL: a free slot */
    size_t n;
    void *copy;     /* bf16 (uint16_t) where oneDNN computes, else rounded floats */
    size_t cap;     /* bytes */
} held[HELD_MAX];

void nn_cpu_gemm_hold(const float *p, size_t n)
{
    if (precision != NN_PREC_BF16 || !p || !n) return;
    bool native = nn_onednn_bf16_native();
    size_t bytes = n * (native ? sizeof(uint16_t) : sizeof(float));
    for (int i = 0; i < HELD_MAX; i++) {
        struct held *h = &held[i];
        if (h->p) continue;
        if (bytes > h->cap) {
            free(h->copy);
            h->copy = nn_cpu_alloc(bytes);
            h->cap = h->copy ? bytes : 0;
            if (!h->copy) return; /* the GEMMs round the operand themselves */
        }
        if (native) nn_cpu_bf16_pack(p, h->copy, n);
        else nn_cpu_bf16_round(p, h->copy, n);
        h->p = p, h->n = n;
        return;
    }
}

void nn_cpu_gemm_unhold(const float *p)
{
    for (int i = 0; i < HELD_MAX; i++)
        if (held[i].p == p) held[i].p = NULL;
}

/* the held copy of x[0, n) (bf16 or rounded floats, as held), or NULL */
static const void *held_copy(const float *x, size_t n)
{
    for (int i = 0; i < HELD_MAX; i++) {
        const struct held *h = &held[i];
        if (h->p && x >= h->p && x + n <= h->p + h->n) {
            size_t off = (size_t)(x - h->p);
            return nn_onednn_bf16_native() ? (const void *)((const uint16_t *)h->copy + off)
                                           : (const void *)((const float *)h->copy + off);
        }
    }
    return NULL;
}

static void drop_holds(void)
{
    for (int i = 0; i < HELD_MAX; i++) {
        free(held[i].copy);
        memset(&held[i], 0, sizeof held[i]);
    }
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
        size_t na = span(batch, m, k, ta, lda, sa), nb = span(batch, k, n, tb, ldb, sb);
        const void *ha = held_copy(a, na), *hb = held_copy(b, nb);
        if (nn_onednn_bf16_native() && nn_onednn_gemm(true, ta, tb, m, n, k, alpha, a, ha, lda, sa, b, hb, ldb, sb,
                                                      beta, c, ldc, sc, batch))
            return;
        if (nn_onednn_bf16_native()) ha = hb = NULL; /* held as bf16: the emulation rounds its own */
        const float *ra = ha ? ha : rounded(0, a, na), *rb = hb ? hb : rounded(1, b, nb);
        if (ra && rb) a = ra, b = rb;
    }
    nn_cpu_gemm_f32(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

/* The emulation goes through the frames (one weight group) or the weight groups in chunks whose
 * inputs are at most `chunk` floats each, so that its rounded copies are a bounded working set
 * rather than copies of the largest activations (330-360 MiB more resident on Sprites and MUG). */
static int64_t chunk = (int64_t)1 << 22; /* 16 MiB per copy */

void nn_cpu_bf16_set_chunk(int64_t floats) { chunk = floats > 0 ? floats : (int64_t)1 << 22; }

static int64_t max3(int64_t a, int64_t b, int64_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

/* pass on inputs rounded whole (fp32 if out of memory for the copies) */
static void rounded_pass(enum nn_conv_pass pass, const struct nn_conv_desc *d, const float *in1, const float *in2,
                         float *out, float beta)
{
    size_t n1 = pass == NN_CONV_BACKWARD_DATA ? y_size(d) : x_size(d);
    size_t n2 = pass == NN_CONV_BACKWARD_FILTER ? y_size(d) : w_size(d);
    const float *r1 = rounded(0, in1, n1), *r2 = rounded(1, in2, n2);
    if (r1 && r2) in1 = r1, in2 = r2;
    if (pass == NN_CONV_FORWARD) nn_cpu_conv2d_forward_f32(d, in1, in2, out, beta);
    else if (pass == NN_CONV_BACKWARD_DATA) nn_cpu_conv2d_backward_data_f32(d, in1, in2, out, beta);
    else nn_cpu_conv2d_backward_filter_f32(d, in1, in2, out, beta);
}

static void emulate(enum nn_conv_pass pass, const struct nn_conv_desc *d, const float *in1, const float *in2,
                    float *out, float beta)
{
    int64_t fx = d->c * d->h * d->w, fy = d->k * d->p * d->q, fw = d->k * d->c * d->r * d->s;
    int64_t s1 = pass == NN_CONV_BACKWARD_DATA ? fy : fx, s2 = pass == NN_CONV_BACKWARD_FILTER ? fy : fw;
    int64_t so = pass == NN_CONV_FORWARD ? fy : pass == NN_CONV_BACKWARD_DATA ? fx : fw;
    struct nn_conv_desc sub = *d;
    if (d->g > 1) { /* whole groups: each a frame block and its own weights */
        int64_t per = max3(d->n * fx, d->n * fy, fw), step = chunk / per > 1 ? chunk / per : 1;
        for (int64_t g = 0; g < d->g; g += step) {
            sub.g = d->g - g < step ? d->g - g : step;
            int64_t f = g * d->n; /* frames before group g */
            rounded_pass(pass, &sub, in1 + f * s1, in2 + (pass == NN_CONV_BACKWARD_FILTER ? f : g) * s2,
                         out + (pass == NN_CONV_BACKWARD_FILTER ? g : f) * so, beta);
        }
        return;
    }
    /* one group: frames; the weights are one operand of every chunk (the forward and data
     * passes), and the filter pass sums its chunks into dw */
    int64_t per = pass == NN_CONV_BACKWARD_FILTER ? (fx > fy ? fx : fy) : s1;
    int64_t step = chunk / per > 1 ? chunk / per : 1;
    if (step >= d->n) {
        rounded_pass(pass, d, in1, in2, out, beta);
        return;
    }
    const float *rw = pass == NN_CONV_BACKWARD_FILTER ? NULL : rounded(1, in2, (size_t)fw);
    for (int64_t f = 0; f < d->n; f += step) {
        sub.n = d->n - f < step ? d->n - f : step;
        const float *a = in1 + f * s1, *ra = rounded(0, a, (size_t)(sub.n * s1));
        if (pass == NN_CONV_FORWARD)
            nn_cpu_conv2d_forward_f32(&sub, ra && rw ? ra : a, ra && rw ? rw : in2, out + f * so, beta);
        else if (pass == NN_CONV_BACKWARD_DATA)
            nn_cpu_conv2d_backward_data_f32(&sub, ra && rw ? ra : a, ra && rw ? rw : in2, out + f * so, beta);
        else {
            const float *b = in2 + f * s2, *rb = rounded(1, b, (size_t)(sub.n * s2));
            nn_cpu_conv2d_backward_filter_f32(&sub, ra && rb ? ra : a, ra && rb ? rb : b, out, f ? 1.0f : beta);
        }
    }
}

/* Convolutions with a side of fewer than 16 channels (VDSM's first and last layers, 3 channels)
 * or a 1x1 image (the layers between a vector and 4x4) stay fp32 in bf16: there bf16 loses on
 * every path measured. `vdsm bench --ops` on AVX512-BF16, GFLOP/s forward + both backward, fp32
 * kernels / oneDNN's bf16 / the fp32 kernels on rounded copies: enc1 213 / 151 / 164, enc5
 * 284 / 108 / 238, dec1 167 / 70 / 130, dec5 168 / 127 / 132, moe1 127 / 20 / 72, moe5
 * 180 / 136 / 130. Every other layer runs 1.2-1.9x faster in oneDNN's bf16 than in fp32. */
static bool bf16_pays(const struct nn_conv_desc *d)
{
    return d->c >= 16 && d->k >= 16 && d->h * d->w > 1 && d->p * d->q > 1;
}

/* dw = beta dw + dy [K, NPQ] x col [CRS, NPQ]^T in bf16 (nn_cpu_cols_gemm) */
static bool cols_gemm(int64_t k, int64_t crs, int64_t npq, const float *dy, const float *col, float *dw, float beta)
{
    return nn_onednn_gemm(true, 0, 1, k, crs, npq, 1.0f, dy, NULL, npq, 0, col, NULL, npq, 0, beta, dw, crs, 0, 1);
}

/* oneDNN's bf16 filter pass is slow where a weight group has few output positions to sum over
 * (its frames times P Q), as in the mixture decoder's per-sequence layers; there columns and one
 * bf16 GEMM per group, whose output is the group's weights, win. The filter pass of 20 groups
 * on Zen 5 (AVX512-BF16), 2 threads, oneDNN's convolution against the columns, ms: 128
 * positions (moe2, 8 frames) 64-65 against 26-31, 256 (moe2, 16 frames) 108-111 against 52-58,
 * 512 (moe3, 8 frames) 34-35 against 25, 1024 (moe3, 16 frames) 55 against 52-53, 2048 (moe4,
 * 8 frames) 27 against 30-31. */
static bool filter_by_cols(const struct nn_conv_desc *d) { return d->n * d->p * d->q <= 1024; }

/* the pass's operands from weight group g on */
struct pass_args {
    struct nn_conv_desc d;
    const float *in1, *in2;
    float *out;
};

static struct pass_args from_group(enum nn_conv_pass pass, const struct nn_conv_desc *d, int64_t g, const float *in1,
                                   const float *in2, float *out)
{
    struct pass_args r = {*d, NULL, NULL, NULL};
    r.d.g = d->g - g;
    int64_t ox = g * d->n * d->c * d->h * d->w, ow = g * d->k * d->c * d->r * d->s, oy = g * d->n * d->k * d->p * d->q;
    r.in1 = in1 + (pass == NN_CONV_BACKWARD_DATA ? oy : ox);
    r.in2 = in2 + (pass == NN_CONV_BACKWARD_FILTER ? oy : ow);
    r.out = out + (pass == NN_CONV_FORWARD ? oy : pass == NN_CONV_BACKWARD_DATA ? ox : ow);
    return r;
}

/* One pass in bf16: where the CPU has bf16 instructions, a filter pass of few output positions
 * per group as columns and a bf16 GEMM, the rest through oneDNN's convolution; the emulation
 * for whatever weight groups these did not compute. */
static void conv_pass(enum nn_conv_pass pass, const struct nn_conv_desc *d, const float *in1, const float *in2,
                      float *out, float beta)
{
    int64_t done = 0;
    if (nn_onednn_bf16_native()) {
        if (pass == NN_CONV_BACKWARD_FILTER && filter_by_cols(d))
            done = nn_cpu_conv2d_backward_filter_cols(d, in1, in2, out, beta, cols_gemm);
        if (done < d->g) {
            struct pass_args r = from_group(pass, d, done, in1, in2, out);
            done += nn_onednn_conv(pass, &r.d, true, r.in1, r.in2, r.out, beta);
        }
    }
    if (done == d->g) return;
    struct pass_args r = from_group(pass, d, done, in1, in2, out);
    emulate(pass, &r.d, r.in1, r.in2, r.out, beta);
}

static bool in_bf16(const struct nn_conv_desc *d) { return precision == NN_PREC_BF16 && d->n > 0 && bf16_pays(d); }

void nn_cpu_conv2d_forward(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta)
{
    if (in_bf16(d)) conv_pass(NN_CONV_FORWARD, d, x, w, y, beta);
    else nn_cpu_conv2d_forward_f32(d, x, w, y, beta);
}

void nn_cpu_conv2d_backward_data(const struct nn_conv_desc *d, const float *dy, const float *w, float *dx,
                                 float beta)
{
    if (in_bf16(d)) conv_pass(NN_CONV_BACKWARD_DATA, d, dy, w, dx, beta);
    else nn_cpu_conv2d_backward_data_f32(d, dy, w, dx, beta);
}

void nn_cpu_conv2d_backward_filter(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw,
                                   float beta)
{
    if (in_bf16(d)) conv_pass(NN_CONV_BACKWARD_FILTER, d, x, dy, dw, beta);
    else nn_cpu_conv2d_backward_filter_f32(d, x, dy, dw, beta);
}

/* the fused conv + BlurPool is an fp32 kernel: a convolution in bf16 runs the two kernels instead */
bool nn_cpu_conv2d_blurpool_forward(const struct nn_conv_desc *d, const float *x, const float *w, float *y)
{
    return !in_bf16(d) && nn_cpu_conv2d_blurpool_forward_f32(d, x, w, y);
}

/* dw may be w: the forward pass has read all of w (oneDNN) or its rounded copies are made
 * (emulation) before the filter pass writes dw */
void nn_cpu_conv2d_forward_filter(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                                  float beta_y, const float *dy, float *dw, float beta_w)
{
    if (in_bf16(d)) {
        conv_pass(NN_CONV_FORWARD, d, x, w, y, beta_y);
        conv_pass(NN_CONV_BACKWARD_FILTER, d, x, dy, dw, beta_w);
        return;
    }
    nn_cpu_conv2d_forward_filter_f32(d, x, w, y, beta_y, dy, dw, beta_w);
}
