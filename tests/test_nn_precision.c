/* The CPU backend's precisions (nn/cpu/precision.c) and its oneDNN path (nn/cpu/onednn.c).
 *
 * - bf16 rounding against hand-worked values (ties to even, NaN, overflow);
 * - oneDNN's fp32 convolutions and matmuls against a double-precision loop, on VDSM's shapes
 *   and odd ones, with weight groups, strides, broadcast operands and beta: this checks the
 *   layouts and the accumulation that the bf16 path shares, on any CPU;
 * - the bf16 kernels (oneDNN where the CPU has bf16, else the emulation) against the exact
 *   result on bf16-rounded inputs (fp32 tolerance), against the fp32 result within the bf16
 *   bound, and different from fp32 (so bf16 is in effect); the shapes that stay fp32 in bf16
 *   equal to fp32;
 * - the filter pass as columns and a GEMM per weight group (bf16's path for few positions);
 * - operands held across GEMMs (gemm_hold), and an LSTM holding its recurrent weights;
 * - the autograd ops in bf16 (conv2d forward and both gradients, linear) against fp32;
 * - the precision setting: names, refusals, the fused kernel stepping aside. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu.h"
#include "nn/cpu/onednn.h"
#include "nn/modules/lstm.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"
#include "testutil.h"

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

Test(nn_precision, bf16_rounding_is_round_to_nearest_even)
{
    /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: even (1); 1 + 3 2^-8 is halfway between
     * 1 + 2^-7 and 1 + 2^-6: even (1 + 2^-6); just above the half rounds up */
    float x[] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.5f, INFINITY,
                 3.4028235e38f, NAN, 0.0f, -0.0f, 1e-40f};
    float want[] = {1.0f, 1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, -2.5f, INFINITY, INFINITY, NAN, 0.0f, -0.0f,
                    bits_to_float(0x00010000u)};
    int n = (int)(sizeof x / sizeof x[0]);
    float y[16];
    uint16_t h[16];
    nn_cpu_bf16_round(x, y, (size_t)n);
    nn_cpu_bf16_pack(x, h, (size_t)n);
    for (int i = 0; i < n; i++) {
        if (isnan(want[i])) {
            cr_assert(isnan(y[i]), "case %d: NaN stays NaN", i);
        } else {
            cr_assert(memcmp(&y[i], &want[i], 4) == 0, "case %d: %a rounds to %a, got %a", i, (double)x[i],
                      (double)want[i], (double)y[i]);
        }
        uint32_t u;
        memcpy(&u, &y[i], 4);
        cr_assert_eq(h[i], u >> 16, "case %d: packed bits", i);
    }
}

/* ---- references in double */

enum { FWD, DATA, FILTER };

struct conv_case {
    const char *name;
    struct nn_conv_desc d;
};

/* VDSM's layers in miniature (k4 s2 p1, the 4x4 pad-0 layer, the 1x1 input of the decoder),
 * grouped forms, and shapes off the usual path (odd sizes, 3x3, non-square) */
static const struct conv_case conv_cases[] = {
    {"k4 s2 p1", {.g = 1, .n = 3, .c = 5, .h = 8, .w = 8, .k = 6, .r = 4, .s = 4, .p = 4, .q = 4, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"k4 s1 p0 to 1x1", {.g = 1, .n = 4, .c = 8, .h = 4, .w = 4, .k = 16, .r = 4, .s = 4, .p = 1, .q = 1, .stride_h = 1, .stride_w = 1}},
    {"grouped k4 s2 p1", {.g = 3, .n = 2, .c = 4, .h = 8, .w = 8, .k = 5, .r = 4, .s = 4, .p = 4, .q = 4, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"grouped 1x1 input", {.g = 2, .n = 3, .c = 16, .h = 4, .w = 4, .k = 7, .r = 4, .s = 4, .p = 1, .q = 1, .stride_h = 1, .stride_w = 1}},
    {"k3 s1 p1 odd", {.g = 1, .n = 2, .c = 3, .h = 7, .w = 5, .k = 9, .r = 3, .s = 3, .p = 7, .q = 5, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1}},
    {"k4 s2 p1 16 channels", {.g = 1, .n = 2, .c = 16, .h = 16, .w = 16, .k = 32, .r = 4, .s = 4, .p = 8, .q = 8, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"grouped k4 s2 p1 16 channels", {.g = 3, .n = 2, .c = 16, .h = 8, .w = 8, .k = 17, .r = 4, .s = 4, .p = 4, .q = 4, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}},
    {"k3 s1 p1 odd 16 channels", {.g = 1, .n = 2, .c = 19, .h = 7, .w = 5, .k = 16, .r = 3, .s = 3, .p = 7, .q = 5, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1}},
    /* more than 1024 output positions to a filter pass: oneDNN's, not columns */
    {"k3 s1 p1 24x24 16 channels", {.g = 1, .n = 2, .c = 16, .h = 24, .w = 24, .k = 16, .r = 3, .s = 3, .p = 24, .q = 24, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1}},
};
#define N_CONV_CASES ((int)(sizeof conv_cases / sizeof conv_cases[0]))

struct conv_data {
    int64_t size[3]; /* y, x, w elements: the output of FWD, DATA, FILTER */
    float *x, *w, *dy, *got;
    double *ref, *mag;
};

static void conv_data_init(struct conv_data *c, const struct nn_conv_desc *d, uint64_t seed)
{
    const struct nn_conv_desc *e = d;
    c->size[FWD] = e->g * e->n * e->k * e->p * e->q;
    c->size[DATA] = e->g * e->n * e->c * e->h * e->w;
    c->size[FILTER] = e->g * e->k * e->c * e->r * e->s;
    int64_t most = c->size[0] > c->size[1] ? c->size[0] : c->size[1];
    most = most > c->size[2] ? most : c->size[2];
    c->x = malloc((size_t)c->size[DATA] * 4);
    c->w = malloc((size_t)c->size[FILTER] * 4);
    c->dy = malloc((size_t)c->size[FWD] * 4);
    c->got = malloc((size_t)most * 4);
    c->ref = malloc((size_t)most * sizeof(double));
    c->mag = malloc((size_t)most * sizeof(double));
    tu_fill_uniform(c->x, c->size[DATA], -1, 1, seed);
    tu_fill_uniform(c->w, c->size[FILTER], -1, 1, seed + 1);
    tu_fill_uniform(c->dy, c->size[FWD], -1, 1, seed + 2);
}

static void conv_data_free(struct conv_data *c)
{
    free(c->x), free(c->w), free(c->dy), free(c->got), free(c->ref), free(c->mag);
}

/* got (beta: onto 0.5) against ref within atol + rtol |ref| */
static void assert_near(const float *got, const double *ref, int64_t n, int beta, double rtol, double atol,
                        const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double want = ref[i] + (beta ? 0.5 : 0.0);
        cr_assert(fabs(got[i] - want) <= atol + rtol * fabs(want), "%s: element %ld is %.8g, want %.8g", what,
                  (long)i, (double)got[i], want);
    }
}

/* the same with the rounding of a long sum allowed for: 1e-6 of its magnitude (mag, the sum of
 * the terms' absolute values) more */
static void assert_near_sum(const float *got, const double *ref, const double *mag, int64_t n, int beta,
                            const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double want = ref[i] + (beta ? 0.5 : 0.0);
        cr_assert(fabs(got[i] - want) <= 1e-5 + 1e-5 * fabs(want) + 1e-6 * mag[i],
                  "%s: element %ld is %.8g, want %.8g (terms' magnitude %.3g)", what, (long)i, (double)got[i], want,
                  mag[i]);
    }
}

static void prefill(float *got, int64_t n, int beta)
{
    for (int64_t i = 0; i < n; i++) got[i] = beta ? 0.5f : NAN; /* beta 0 must not read */
}

Test(nn_precision, onednn_fp32_convolutions_match_a_double_loop)
{
    for (int ci = 0; ci < N_CONV_CASES; ci++) {
        const struct nn_conv_desc *d = &conv_cases[ci].d;
        struct conv_data c;
        conv_data_init(&c, d, 10 + (uint64_t)ci);
        for (int mode = 0; mode < 3; mode++) {
            tu_conv_reference(d, mode, c.x, c.w, c.dy, c.ref, c.mag);
            for (int beta = 0; beta < 2; beta++) {
                prefill(c.got, c.size[mode], beta);
                const float *in1 = mode == DATA ? c.dy : c.x, *in2 = mode == FILTER ? c.dy : c.w;
                char what[160];
                snprintf(what, sizeof what, "%s pass %d beta %d", conv_cases[ci].name, mode, beta);
                cr_assert_eq(nn_onednn_conv((enum nn_conv_pass)mode, d, false, in1, in2, c.got, (float)beta), d->g,
                             "%s: oneDNN has an fp32 implementation", what);
                assert_near_sum(c.got, c.ref, c.mag, c.size[mode], beta, what);
            }
        }
        conv_data_free(&c);
    }
}

/* ---- GEMM */

struct gemm_case {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc, sa, sb, sc, batch;
    float alpha, beta;
};

static const struct gemm_case gemm_cases[] = {
    {0, 0, 5, 7, 9, 9, 7, 7, 0, 0, 0, 1, 1.0f, 0.0f},
    {1, 0, 5, 7, 9, 5, 7, 7, 0, 0, 0, 1, 2.0f, 0.5f},
    {0, 1, 20, 64, 48, 50, 48, 70, 0, 0, 0, 1, 1.0f, 1.0f},
    {1, 1, 6, 4, 33, 8, 40, 4, 0, 0, 0, 1, 1.0f, 0.0f},
    {0, 0, 4, 6, 5, 5, 6, 6, 20, 30, 24, 3, 1.0f, 1.0f},  /* batched */
    {0, 1, 4, 6, 5, 5, 5, 6, 0, 30, 24, 3, 0.5f, 0.0f},   /* A shared by the batch */
    {1, 0, 3, 8, 4, 3, 8, 8, 12, 0, 24, 2, 1.0f, 0.25f},  /* B shared */
};
#define N_GEMM_CASES ((int)(sizeof gemm_cases / sizeof gemm_cases[0]))

static size_t gemm_span(int64_t batch, int64_t rows, int64_t cols, int trans, int64_t ld, int64_t stride)
{
    int64_t r = trans ? cols : rows, c = trans ? rows : cols;
    return (size_t)((stride ? (batch - 1) * stride : 0) + (r - 1) * ld + c);
}

/* ref = alpha op(A) op(B) + beta C0 (C0 = 0.5 everywhere), mag = |alpha| sum |products| */
static void gemm_reference(const struct gemm_case *g, const float *a, const float *b, double *ref, double *mag)
{
    for (int64_t t = 0; t < g->batch; t++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                double s = 0, m = 0;
                for (int64_t l = 0; l < g->k; l++) {
                    double av = a[t * g->sa + (g->ta ? l * g->lda + i : i * g->lda + l)];
                    double bv = b[t * g->sb + (g->tb ? j * g->ldb + l : l * g->ldb + j)];
                    s += av * bv, m += fabs(av * bv);
                }
                int64_t o = t * g->m * g->n + i * g->n + j;
                ref[o] = g->alpha * s + g->beta * 0.5;
                mag[o] = fabs(g->alpha) * m;
            }
}

/* runs the case into a C of the case's strides (its other elements must stay 7) and returns
 * the results packed [batch, m, n] */
typedef void (*gemm_fn)(const struct gemm_case *g, const float *a, const float *b, float *c);

static void run_gemm_case(const struct gemm_case *g, gemm_fn fn, const float *a, const float *b, float *out)
{
    size_t nc = gemm_span(g->batch, g->m, g->n, 0, g->ldc, g->sc);
    float *c = malloc(nc * 4);
    for (size_t i = 0; i < nc; i++) c[i] = 7.0f;
    for (int64_t t = 0; t < g->batch; t++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) c[t * g->sc + i * g->ldc + j] = g->beta != 0.0f ? 0.5f : NAN;
    fn(g, a, b, c);
    int64_t inside = 0;
    for (int64_t t = 0; t < g->batch; t++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++, inside++) out[t * g->m * g->n + i * g->n + j] = c[t * g->sc + i * g->ldc + j];
    size_t untouched = 0;
    for (size_t i = 0; i < nc; i++) untouched += c[i] == 7.0f;
    cr_assert_eq(untouched, nc - (size_t)inside, "the padding of C is not written");
    free(c);
}

static void onednn_fp32(const struct gemm_case *g, const float *a, const float *b, float *c)
{
    cr_assert(nn_onednn_gemm(false, g->ta, g->tb, g->m, g->n, g->k, g->alpha, a, NULL, g->lda, g->sa, b, NULL, g->ldb, g->sb,
                             g->beta, c, g->ldc, g->sc, g->batch),
              "oneDNN has an fp32 matmul");
}

static void backend_gemm(const struct gemm_case *g, const float *a, const float *b, float *c)
{
    nn_backend_get(NN_DEV_CPU)->gemm(g->ta, g->tb, g->m, g->n, g->k, g->alpha, a, g->lda, g->sa, b, g->ldb, g->sb,
                                     g->beta, c, g->ldc, g->sc, g->batch);
}

Test(nn_precision, onednn_fp32_matmuls_match_a_double_loop)
{
    for (int gi = 0; gi < N_GEMM_CASES; gi++) {
        const struct gemm_case *g = &gemm_cases[gi];
        size_t na = gemm_span(g->batch, g->m, g->k, g->ta, g->lda, g->sa);
        size_t nb = gemm_span(g->batch, g->k, g->n, g->tb, g->ldb, g->sb);
        size_t nout = (size_t)(g->batch * g->m * g->n);
        float *a = malloc(na * 4), *b = malloc(nb * 4), *got = malloc(nout * 4);
        double *ref = malloc(nout * 8), *mag = malloc(nout * 8);
        tu_fill_uniform(a, (int64_t)na, -1, 1, 100 + (uint64_t)gi);
        tu_fill_uniform(b, (int64_t)nb, -1, 1, 200 + (uint64_t)gi);
        gemm_reference(g, a, b, ref, mag);
        run_gemm_case(g, onednn_fp32, a, b, got);
        char what[64];
        snprintf(what, sizeof what, "gemm case %d", gi);
        assert_near(got, ref, (int64_t)nout, 0, 1e-5, 1e-5, what);
        free(a), free(b), free(got), free(ref), free(mag);
    }
}

/* ---- bf16 through the backend's kernels */

static void set_precision(enum nn_precision p)
{
    struct nn_err err = {0};
    cr_assert_eq(nn_backend_get(NN_DEV_CPU)->set_precision(p, &err), NN_OK, "%s", err.msg);
}

static float *rounded_copy(const float *x, int64_t n)
{
    float *y = malloc((size_t)n * 4);
    nn_cpu_bf16_round(x, y, (size_t)n);
    return y;
}

/* got against: the exact result on rounded inputs (fp32 accumulation tolerance); the exact
 * result on the inputs as given (bf16 keeps 8 significant bits: each input is rounded within
 * 2^-8 of itself, so each product within 2^-7 + 2^-16 of its magnitude, and the sum within
 * that of the sum of the magnitudes); and not all equal to the fp32 kernel's result, fp32 */
static void check_bf16(const float *got, const double *ref_rounded, const double *ref, const double *mag,
                       const float *fp32, int64_t n, int beta, const char *what)
{
    int differs = 0;
    for (int64_t i = 0; i < n; i++) {
        double b = beta ? 0.5 : 0.0;
        cr_assert(fabs(got[i] - (ref_rounded[i] + b)) <= 1e-5 + 1e-5 * mag[i], "%s: element %ld %.8g, on rounded inputs %.8g",
                  what, (long)i, (double)got[i], ref_rounded[i] + b);
        cr_assert(fabs(got[i] - (ref[i] + b)) <= (0x1p-7 + 0x1p-16) * mag[i] + 1e-5 * (1 + mag[i]), "%s: element %ld %.8g, fp32 %.8g beyond bf16's bound (products' magnitudes %.8g)",
                  what, (long)i, (double)got[i], ref[i] + b, mag[i]);
        differs += got[i] != fp32[i];
    }
    cr_assert(differs > 0, "%s: bf16 gave exactly the fp32 result everywhere", what);
}

/* nn/cpu/precision.c: a convolution with a side under 16 channels or a 1x1 image stays fp32 */
static bool bf16_pays(const struct nn_conv_desc *d)
{
    return d->c >= 16 && d->k >= 16 && d->h * d->w > 1 && d->p * d->q > 1;
}

static void bf16_convolutions(void)
{
    int in_bf16 = 0, in_fp32 = 0;
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    for (int ci = 0; ci < N_CONV_CASES; ci++) {
        const struct nn_conv_desc *d = &conv_cases[ci].d;
        struct conv_data c;
        conv_data_init(&c, d, 30 + (uint64_t)ci);
        float *rx = rounded_copy(c.x, c.size[DATA]), *rw = rounded_copy(c.w, c.size[FILTER]),
              *rdy = rounded_copy(c.dy, c.size[FWD]);
        int64_t most = c.size[0] > c.size[1] ? c.size[0] : c.size[1];
        most = most > c.size[2] ? most : c.size[2];
        double *ref_r = malloc((size_t)most * 8), *mag_r = malloc((size_t)most * 8);
        float *fp32 = malloc((size_t)most * 4);
        for (int mode = 0; mode < 3; mode++) {
            tu_conv_reference(d, mode, c.x, c.w, c.dy, c.ref, c.mag);
            tu_conv_reference(d, mode, rx, rw, rdy, ref_r, mag_r);
            for (int beta = 0; beta < 2; beta++) {
                char what[160];
                snprintf(what, sizeof what, "%s pass %d beta %d", conv_cases[ci].name, mode, beta);
                for (int p = 0; p < 2; p++) {
                    float *out = p ? c.got : fp32;
                    set_precision(p ? NN_PREC_BF16 : NN_PREC_FP32);
                    prefill(out, c.size[mode], beta);
                    if (mode == FWD) be->conv2d_forward(d, c.x, c.w, out, (float)beta);
                    else if (mode == DATA) be->conv2d_backward_data(d, c.dy, c.w, out, (float)beta);
                    else be->conv2d_backward_filter(d, c.x, c.dy, out, (float)beta);
                }
                set_precision(NN_PREC_FP32);
                if (bf16_pays(d)) check_bf16(c.got, ref_r, c.ref, c.mag, fp32, c.size[mode], beta, what);
                else cr_assert(!memcmp(c.got, fp32, (size_t)c.size[mode] * 4), "%s: stays fp32 in bf16", what);
            }
        }
        in_bf16 += bf16_pays(d), in_fp32 += !bf16_pays(d);
        /* forward and filter together, dw into w's own buffer (a transposed convolution's
         * backward): y from the rounded w as it was (or the w as it was, in fp32) */
        float *w2 = malloc((size_t)c.size[FILTER] * 4), *y = malloc((size_t)c.size[FWD] * 4);
        memcpy(w2, c.w, (size_t)c.size[FILTER] * 4);
        set_precision(NN_PREC_BF16);
        be->conv2d_forward_filter(d, c.x, w2, y, 0.0f, c.dy, w2, 0.0f);
        set_precision(NN_PREC_FP32);
        if (!bf16_pays(d)) {
            memcpy(rx, c.x, (size_t)c.size[DATA] * 4);
            memcpy(rw, c.w, (size_t)c.size[FILTER] * 4);
            memcpy(rdy, c.dy, (size_t)c.size[FWD] * 4);
        }
        tu_conv_reference(d, FWD, rx, rw, rdy, ref_r, mag_r);
        assert_near(y, ref_r, c.size[FWD], 0, 1e-5, 1e-4, "forward_filter: y");
        tu_conv_reference(d, FILTER, rx, rw, rdy, ref_r, mag_r);
        assert_near(w2, ref_r, c.size[FILTER], 0, 1e-5, 1e-4, "forward_filter: dw in w");
        free(w2), free(y), free(rx), free(rw), free(rdy), free(ref_r), free(mag_r), free(fp32);
        conv_data_free(&c);
    }
    cr_assert(in_bf16 >= 3 && in_fp32 >= 3, "both kinds of shape are checked");
}

/* in bf16, a convolution rounds its inputs where bf16 pays and is fp32 to the bit elsewhere */
Test(nn_precision, bf16_convolution_kernels_round_their_inputs) { bf16_convolutions(); }

/* the emulation in chunks of a few frames or groups (the filter pass summing its chunks) gives
 * the same bf16 result; on a CPU with bf16 instructions this runs oneDNN again */
Test(nn_precision, bf16_convolutions_in_small_chunks)
{
    nn_cpu_bf16_set_chunk(300);
    bf16_convolutions();
    nn_cpu_bf16_set_chunk(0);
}

/* the filter pass as columns and a product per weight group (nn_cpu_conv2d_backward_filter_cols),
 * here with the fp32 GEMM: against the double loop on every shape (strided ones through phase
 * planes, others tap by tap), with beta; a product that fails stops it at that group */
static int cols_calls, cols_fail_at = -1;

static bool cols_fp32(int64_t k, int64_t crs, int64_t npq, const float *dy, const float *col, float *dw, float beta)
{
    if (cols_calls++ == cols_fail_at) return false;
    nn_cpu_gemm_f32(0, 1, k, crs, npq, 1.0f, dy, npq, 0, col, npq, 0, beta, dw, crs, 0, 1);
    return true;
}

Test(nn_precision, filter_pass_as_columns_matches_a_double_loop)
{
    for (int ci = 0; ci < N_CONV_CASES; ci++) {
        const struct nn_conv_desc *d = &conv_cases[ci].d;
        struct conv_data c;
        conv_data_init(&c, d, 80 + (uint64_t)ci);
        tu_conv_reference(d, FILTER, c.x, c.w, c.dy, c.ref, c.mag);
        for (int beta = 0; beta < 2; beta++) {
            prefill(c.got, c.size[FILTER], beta);
            cols_calls = 0, cols_fail_at = -1;
            cr_assert_eq(nn_cpu_conv2d_backward_filter_cols(d, c.x, c.dy, c.got, (float)beta, cols_fp32), d->g);
            cr_assert_eq(cols_calls, d->g, "%s: one product per group", conv_cases[ci].name);
            assert_near_sum(c.got, c.ref, c.mag, c.size[FILTER], beta, conv_cases[ci].name);
        }
        if (d->g > 1) {
            prefill(c.got, c.size[FILTER], 0);
            cols_calls = 0, cols_fail_at = 1;
            cr_assert_eq(nn_cpu_conv2d_backward_filter_cols(d, c.x, c.dy, c.got, 0.0f, cols_fp32), 1);
            int64_t per = c.size[FILTER] / d->g;
            assert_near_sum(c.got, c.ref, c.mag, per, 0, conv_cases[ci].name);
            for (int64_t i = per; i < c.size[FILTER]; i++)
                cr_assert(isnan(c.got[i]), "%s: groups after the failed product untouched", conv_cases[ci].name);
        }
        conv_data_free(&c);
    }
    struct nn_conv_desc none = conv_cases[0].d;
    none.n = 0; /* no frames: no product, nothing written */
    float dw = NAN;
    cols_calls = 0, cols_fail_at = -1;
    cr_assert_eq(nn_cpu_conv2d_backward_filter_cols(&none, NULL, NULL, &dw, 0.0f, cols_fp32), 0);
    cr_assert(cols_calls == 0 && isnan(dw));
}

Test(nn_precision, bf16_gemm_kernel_rounds_its_inputs)
{
    for (int gi = 0; gi < N_GEMM_CASES; gi++) {
        const struct gemm_case *g = &gemm_cases[gi];
        size_t na = gemm_span(g->batch, g->m, g->k, g->ta, g->lda, g->sa);
        size_t nb = gemm_span(g->batch, g->k, g->n, g->tb, g->ldb, g->sb);
        size_t nout = (size_t)(g->batch * g->m * g->n);
        float *a = malloc(na * 4), *b = malloc(nb * 4), *got = malloc(nout * 4), *fp32 = malloc(nout * 4);
        double *ref = malloc(nout * 8), *mag = malloc(nout * 8), *ref_r = malloc(nout * 8), *mag_r = malloc(nout * 8);
        tu_fill_uniform(a, (int64_t)na, -1, 1, 300 + (uint64_t)gi);
        tu_fill_uniform(b, (int64_t)nb, -1, 1, 400 + (uint64_t)gi);
        float *ra = rounded_copy(a, (int64_t)na), *rb = rounded_copy(b, (int64_t)nb);
        gemm_reference(g, a, b, ref, mag);
        gemm_reference(g, ra, rb, ref_r, mag_r);
        run_gemm_case(g, backend_gemm, a, b, fp32);
        set_precision(NN_PREC_BF16);
        run_gemm_case(g, backend_gemm, a, b, got);
        set_precision(NN_PREC_FP32);
        /* the references include beta * 0.5 already */
        for (size_t i = 0; i < nout; i++) ref_r[i] -= g->beta * 0.5, ref[i] -= g->beta * 0.5;
        for (size_t i = 0; i < nout; i++) got[i] -= g->beta * 0.5f, fp32[i] -= g->beta * 0.5f;
        char what[64];
        snprintf(what, sizeof what, "bf16 gemm case %d", gi);
        check_bf16(got, ref_r, ref, mag, fp32, (int64_t)nout, 0, what);
        free(a), free(b), free(got), free(fp32), free(ref), free(mag), free(ref_r), free(mag_r), free(ra), free(rb);
    }
}

/* the expert blend's shape, [4, 8] x [8, 2^16]: memory-bound, it stays fp32 in bf16 */
Test(nn_precision, bf16_leaves_the_streamed_blend_in_fp32)
{
    int64_t m = 4, k = 8, n = (int64_t)1 << 16;
    float *a = malloc((size_t)(m * k) * 4), *b = malloc((size_t)(k * n) * 4);
    float *c32 = malloc((size_t)(m * n) * 4), *c16 = malloc((size_t)(m * n) * 4);
    tu_fill_uniform(a, m * k, -1, 1, 7);
    tu_fill_uniform(b, k * n, -1, 1, 8);
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    be->gemm(0, 0, m, n, k, 1.0f, a, k, 0, b, n, 0, 0.0f, c32, n, 0, 1);
    set_precision(NN_PREC_BF16);
    be->gemm(0, 0, m, n, k, 1.0f, a, k, 0, b, n, 0, 0.0f, c16, n, 0, 1);
    set_precision(NN_PREC_FP32);
    cr_assert(memcmp(c32, c16, (size_t)(m * n) * 4) == 0, "the blend is the fp32 product in bf16 too");
    free(a), free(b), free(c32), free(c16);
}

/* an operand held across GEMMs (an LSTM's recurrent weights): rounded once, each product the
 * same as without the hold, a part of it found too; after gemm_unhold a change to it counts */
Test(nn_precision, held_gemm_operands_give_the_same_products)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    cr_assert(be->gemm_hold && be->gemm_unhold);
    int64_t m = 20, n = 64, k = 48; /* a step's [B, H] x [4H, H]^T */
    float *a = malloc((size_t)(m * k) * 4), *w = malloc((size_t)(n * k) * 4);
    float *plain = malloc((size_t)(m * n) * 4), *held = malloc((size_t)(m * n) * 4);
    tu_fill_uniform(a, m * k, -1, 1, 81);
    tu_fill_uniform(w, n * k, -1, 1, 82);
    set_precision(NN_PREC_BF16);
    for (int part = 0; part < 2; part++) { /* the whole operand, then its last 40 rows */
        int64_t rows = part ? 40 : n;
        const float *b = w + (n - rows) * k;
        be->gemm(0, 1, m, rows, k, 1.0f, a, k, 0, b, k, 0, 0.0f, plain, rows, 0, 1);
        be->gemm_hold(w, (size_t)(n * k));
        for (int rep = 0; rep < 2; rep++) {
            be->gemm(0, 1, m, rows, k, 1.0f, a, k, 0, b, k, 0, 0.0f, held, rows, 0, 1);
            cr_assert(!memcmp(plain, held, (size_t)(m * rows) * 4), "part %d, product %d: as without the hold", part, rep);
        }
        be->gemm_unhold(w);
    }
    be->gemm(0, 1, m, n, k, 1.0f, a, k, 0, w, k, 0, 0.0f, plain, n, 0, 1);
    for (int64_t i = 0; i < n * k; i++) w[i] *= -2.0f;
    be->gemm(0, 1, m, n, k, 1.0f, a, k, 0, w, k, 0, 0.0f, held, n, 0, 1);
    for (int64_t i = 0; i < m * n; i++)
        cr_assert(held[i] == -2.0f * plain[i], "after the unhold the new values count: element %ld", (long)i);
    set_precision(NN_PREC_FP32);
    free(a), free(w), free(plain), free(held);
}

/* ---- the autograd ops in bf16 against fp32 */

static struct tu_array uniform_array(int ndim, const int64_t *shape, uint64_t seed)
{
    struct tu_array a = {.ndim = ndim, .numel = 1};
    for (int i = 0; i < ndim; i++) a.shape[i] = shape[i], a.numel *= shape[i];
    a.data = malloc((size_t)a.numel * 4);
    tu_fill_uniform(a.data, a.numel, -1, 1, seed);
    return a;
}

/* conv2d(x, w, b) -> leaky -> linear(v) -> sum, with every gradient, in precision p; returns
 * the loss and copies the gradients out */
static float conv_linear_step(enum nn_precision p, struct tu_array *in, float **grads)
{
    set_precision(p);
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = tu_tensor(ctx, &in[0], true), *w = tu_tensor(ctx, &in[1], true),
                     *b = tu_tensor(ctx, &in[2], true), *v = tu_tensor(ctx, &in[3], true);
    struct nn_tensor *y = nn_leaky_relu(ctx, nn_conv2d(ctx, x, w, b, 2, 1), 0.2f);
    struct nn_tensor *h = nn_linear(ctx, nn_reshape(ctx, y, 2, (int64_t[]){4, 8 * 4 * 4}), v, NULL);
    struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, h, h));
    cr_assert(loss, "%s", nn_ctx_message(ctx));
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
    float l;
    struct nn_err err = {0};
    cr_assert_eq(nn_tensor_to_host(loss, &l, &err), NN_OK, "%s", err.msg);
    struct nn_tensor *t[4] = {x, w, b, v};
    for (int i = 0; i < 4; i++) {
        grads[i] = malloc((size_t)in[i].numel * 4);
        cr_assert_eq(nn_tensor_grad_to_host(t[i], grads[i], &err), NN_OK, "%s", err.msg);
    }
    nn_ctx_free(ctx);
    set_precision(NN_PREC_FP32);
    return l;
}

Test(nn_precision, bf16_ops_and_their_gradients_stay_near_fp32)
{
    struct tu_array in[4] = {uniform_array(4, (int64_t[]){4, 3, 8, 8}, 1), uniform_array(4, (int64_t[]){8, 3, 4, 4}, 2),
                             uniform_array(1, (int64_t[]){8}, 3), uniform_array(2, (int64_t[]){6, 128}, 4)};
    float *g32[4], *g16[4];
    float l32 = conv_linear_step(NN_PREC_FP32, in, g32), l16 = conv_linear_step(NN_PREC_BF16, in, g16);
    cr_assert(l16 != l32, "bf16 is in effect");
    cr_assert(fabsf(l16 - l32) <= 0.02f * fabsf(l32), "loss bf16 %g, fp32 %g", (double)l16, (double)l32);
    const char *names[4] = {"x", "w", "b", "v"};
    for (int i = 0; i < 4; i++) {
        double num = 0, den = 0;
        for (int64_t j = 0; j < in[i].numel; j++) {
            num += (double)(g16[i][j] - g32[i][j]) * (g16[i][j] - g32[i][j]);
            den += (double)g32[i][j] * g32[i][j];
        }
        /* relative error of the gradient as a vector: a few bf16 roundings deep */
        cr_assert(sqrt(num / den) < 0.03, "grad %s: relative error %g", names[i], sqrt(num / den));
        free(g32[i]), free(g16[i]), free(in[i].data);
    }
}

/* a 2-layer bidirectional LSTM's output and every gradient, forward + backward in precision p
 * on backend be, into out (output then the parameters' gradients, n floats in all) */
static size_t lstm_run(const struct nn_backend *be, enum nn_precision p, float *out)
{
    set_precision(p);
    struct nn_lstm_config cfg = {.input_size = 24, .hidden_size = 32, .num_layers = 2, .bidirectional = true};
    struct nn_rng rng;
    nn_rng_seed(&rng, 5);
    struct nn_err err = {0};
    struct nn_lstm m;
    cr_assert_eq(nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err), NN_OK, "%s", err.msg);
    nn_ctx *ctx = tu_ctx();
    ctx->be = be;
    struct tu_array xa = uniform_array(3, (int64_t[]){6, 4, 24}, 9);
    struct nn_tensor *x = tu_tensor(ctx, &xa, true);
    struct nn_tensor *y = nn_lstm_forward(ctx, &m, x, NULL, NULL, true, &rng, NULL, NULL);
    struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, y));
    cr_assert(loss, "%s", nn_ctx_message(ctx));
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
    size_t n = (size_t)nn_numel(y);
    cr_assert_eq(nn_tensor_to_host(y, out, &err), NN_OK, "%s", err.msg);
    for (int k = 0; k < m.nparams; k++) {
        cr_assert_eq(nn_tensor_grad_to_host(m.params[k], out + n, &err), NN_OK, "%s", err.msg);
        n += (size_t)nn_numel(m.params[k]);
    }
    nn_ctx_free(ctx);
    nn_lstm_free(&m);
    free(xa.data);
    set_precision(NN_PREC_FP32);
    return n;
}

/* the LSTM holds its recurrent weights across the time steps: in bf16 the same numbers, to the
 * bit, as rounding them in every product, and near fp32 */
Test(nn_precision, bf16_lstm_with_held_weights)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    struct nn_backend unheld = *be;
    unheld.gemm_hold = NULL, unheld.gemm_unhold = NULL;
    size_t cap = 1 << 16;
    float *held = malloc(cap * 4), *plain = malloc(cap * 4), *fp32 = malloc(cap * 4);
    size_t n = lstm_run(be, NN_PREC_BF16, held);
    cr_assert(n <= cap);
    cr_assert_eq(lstm_run(&unheld, NN_PREC_BF16, plain), n);
    cr_assert(!memcmp(held, plain, n * 4), "the held weights give the products of the unheld ones");
    lstm_run(be, NN_PREC_FP32, fp32);
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (double)(held[i] - fp32[i]) * (held[i] - fp32[i]), den += (double)fp32[i] * fp32[i];
    cr_assert(num > 0 && sqrt(num / den) < 0.03, "bf16 against fp32: relative error %g", sqrt(num / den));
    free(held), free(plain), free(fp32);
}

/* ---- the setting */

Test(nn_precision, names_and_refusals)
{
    cr_assert_str_eq(nn_precision_name(NN_PREC_BF16), "bf16");
    cr_assert_eq(nn_precision_parse("tf32"), NN_PREC_TF32);
    cr_assert_eq(nn_precision_parse("fp16"), -1);
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    struct nn_err err = {0};
    cr_assert_eq(be->set_precision(NN_PREC_TF32, &err), NN_UNSUPPORTED);
    cr_assert(strstr(err.msg, "fp32 and bf16"), "the message says what the CPU offers: %s", err.msg);
    cr_assert_eq(be->precision(), NN_PREC_FP32, "a refusal leaves the precision as it was");
    set_precision(NN_PREC_BF16);
    cr_assert(strstr(be->precision_detail(), "bf16"), "%s", be->precision_detail());
    /* the fused fp32 kernel steps aside where the convolution runs in bf16 */
    struct nn_conv_desc d = {.g = 1, .n = 1, .c = 16, .h = 16, .w = 16, .k = 16, .r = 3, .s = 3, .p = 16, .q = 16,
                             .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    float *x = calloc(16 * 16 * 16, 4), *w = calloc(16 * 16 * 9, 4), *y = calloc(16 * 8 * 8, 4);
    cr_assert_not(be->conv2d_blurpool_forward(&d, x, w, y));
    set_precision(NN_PREC_FP32);
    cr_assert_str_eq(be->precision_detail(), "fp32 (OpenBLAS sgemm and vdsm's kernels)");
    free(x), free(w), free(y);
}

/* where the CPU has bf16 instructions, oneDNN's bf16 and the emulation compute the same
 * products: they agree to fp32 rounding */
Test(nn_precision, native_bf16_agrees_with_the_emulation)
{
    if (!nn_onednn_bf16_native()) cr_skip_test("this CPU (%s) has no bf16 instructions", nn_onednn_isa());
    for (int ci = 0; ci < N_CONV_CASES; ci++) {
        const struct nn_conv_desc *d = &conv_cases[ci].d;
        struct conv_data c;
        conv_data_init(&c, d, 50 + (uint64_t)ci);
        float *rx = rounded_copy(c.x, c.size[DATA]), *rw = rounded_copy(c.w, c.size[FILTER]);
        float *emu = malloc((size_t)c.size[FWD] * 4);
        cr_assert_eq(nn_onednn_conv(NN_CONV_FORWARD, d, true, c.x, c.w, c.got, 0.0f), d->g, "%s", conv_cases[ci].name);
        nn_cpu_conv2d_forward_f32(d, rx, rw, emu, 0.0f);
        for (int64_t i = 0; i < c.size[FWD]; i++)
            cr_assert(fabsf(c.got[i] - emu[i]) <= 1e-4f * (1.0f + fabsf(emu[i])), "%s: %ld", conv_cases[ci].name, (long)i);
        free(rx), free(rw), free(emu);
        conv_data_free(&c);
    }
}

/* between training stages the backend frees its cached primitives and buffers: the next call
 * rebuilds them and computes the same numbers, to the bit */
Test(nn_precision, released_workspaces_are_rebuilt_to_the_same_results)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    cr_assert(be->release_workspaces != NULL);
    const struct nn_conv_desc *d = &conv_cases[0].d;
    struct conv_data c;
    conv_data_init(&c, d, 70);
    const struct gemm_case *g = &gemm_cases[0];
    size_t na = gemm_span(g->batch, g->m, g->k, g->ta, g->lda, g->sa);
    size_t nb = gemm_span(g->batch, g->k, g->n, g->tb, g->ldb, g->sb);
    size_t nout = (size_t)(g->batch * g->m * g->n);
    float *a = malloc(na * 4), *b = malloc(nb * 4), *out[2], *y[2];
    tu_fill_uniform(a, (int64_t)na, -1, 1, 71);
    tu_fill_uniform(b, (int64_t)nb, -1, 1, 72);
    set_precision(NN_PREC_BF16);
    for (int i = 0; i < 2; i++) {
        out[i] = malloc(nout * 4);
        y[i] = malloc((size_t)c.size[FWD] * 4);
        run_gemm_case(g, backend_gemm, a, b, out[i]);
        be->conv2d_forward(d, c.x, c.w, y[i], 0.0f);
        be->release_workspaces();
    }
    set_precision(NN_PREC_FP32);
    cr_assert(!memcmp(out[0], out[1], nout * 4), "the GEMM changed after a release");
    cr_assert(!memcmp(y[0], y[1], (size_t)c.size[FWD] * 4), "the convolution changed after a release");
    for (int i = 0; i < 2; i++) free(out[i]), free(y[i]);
    free(a), free(b);
    conv_data_free(&c);
}
