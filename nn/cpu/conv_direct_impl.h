/* Direct convolution, stride 1, one weight group: the three passes without im2col, for
 * layers with few output channels (VDSM's encoder: 32 or 64). There im2col + GEMM is a thin
 * GEMM (32 or 64 rows) whose column matrix OpenBLAS packs once more, and the packing and
 * the im2col cost about as much as the product.
 *
 * Included by one file per vector width with these defined:
 *   SUFFIX           name suffix (avx2, avx512)
 *   VL               floats per vector
 *   VF, VLOAD(p), VSET1(x), VZERO(), VFMA(a, b, c) = a * b + c, VSTORE(p, v)
 *   VTRANSPOSE(src, lds, dst, ldd)  a VL x VL block: dst[j, i] = src[i, j]
 *   VHSUM(v)         the sum of v's lanes
 *   VSTREAM(p, v)    a store past the caches (p aligned to the vector)
 *   NI               output positions per forward tile of 2 VL channels (NI * 2 accumulators)
 *   KV_MAX           widest forward tile, in vectors of channels: 2, or 4 (NI / 2 positions)
 *
 * Forward and data are one correlation: out[o, p, q] = sum_{i, r, s} in_pad[i, p + r, q + s]
 * wt[i, r, s, o]. A tile is NI consecutive positions of an output row by KB = 2 VL output
 * channels (or NI / 2 positions by 4 VL, when KV_MAX allows and the channels divide): the
 * inputs of each tap are broadcast, the tap's weights are vector loads, and the accumulators
 * stay in registers across every input channel and tap. The tile's outputs are
 * channels-last; VL x VL register transposes put them back in [o, p, q] (with beta). The data
 * pass is the same correlation of dy, padded by R - 1 - pad, with the kernel flipped and its
 * two channel axes swapped.
 *
 * Forward + BlurPool: the frame's channels-last output is blurred in the workspace, vectors of
 * channels at a time, and only the pooled quarter is transposed out (VDSM's encoder: the
 * 63 x 63 first layer went from 35-46 to 10-12 ms for 160 frames).
 *
 * Filter: the same broadcasts the other way round, dw[c, r, s, o] accumulated over positions
 * with dy channels-last (see FN(filter)); kernels up to 4 wide.
 *
 * Threads: forward and data give each thread whole frames (each output written by one
 * thread); filter gives chunk j of frames to thread j % T and adds the threads' partial sums
 * in thread order, so the result depends on the thread count, never on timing. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/conv_direct.h"
#include "nn/cpu/cpu.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)
#define INLINE static inline __attribute__((always_inline))
#define STR_(x) #x
#define STR(x) STR_(x)

#define KB (2 * VL)
/* floats of frames per filter chunk: about 1 MiB, an L2's share */
#define FILTER_CHUNK_FLOATS ((int64_t)1 << 18)

static int64_t FN(min64)(int64_t a, int64_t b) { return a < b ? a : b; }

/* n floats on a cache line's boundary (whole vectors of dy then load without splits) */
static float *FN(alloc)(int64_t n) { return nn_cpu_alloc((size_t)n * sizeof(float)); }

/* [ch, h, w] -> [ch, h + 2 ph, w + 2 pw], zeros around */
static void FN(pad_frame)(const float *x, int64_t ch, int64_t h, int64_t w, int64_t ph, int64_t pw,
                          float *xp)
{
    int64_t wp = w + 2 * pw, hp = h + 2 * ph;
    for (int64_t c = 0; c < ch; c++, x += h * w, xp += hp * wp) {
        memset(xp, 0, (size_t)(ph * wp) * sizeof(float));
        for (int64_t i = 0; i < h; i++) {
            float *row = xp + (ph + i) * wp;
            memset(row, 0, (size_t)pw * sizeof(float));
            memcpy(row + pw, x + i * w, (size_t)w * sizeof(float));
            memset(row + pw + w, 0, (size_t)pw * sizeof(float));
        }
        memset(xp + (ph + h) * wp, 0, (size_t)(ph * wp) * sizeof(float));
    }
}

/* ---- the correlation (forward and data passes) */

struct FN(corr) {
    int64_t cin, h, w;   /* one input frame */
    int64_t cout, r, s;  /* output channels (a multiple of 2 VL), kernel */
    int64_t ph, pw;      /* zero padding */
    int64_t p, q;        /* output frame */
    int kv;              /* vectors of output channels per tile: 2, or 4 (KV_MAX) */
    const int64_t *ri, *ci; /* BlurPool's tap rows and columns (nn_cpu_blurpool_index) of the
                             * output frame, which is then blurred; NULL: not blurred */
};

static int64_t FN(round16)(int64_t n) { return (n + 15) / 16 * 16; }

/* ni output positions of one row by kv vectors of output channels, summed over every input
 * channel and tap. in: the padded input at the tile's first position, channel 0; wt: the
 * channel block's weights [cin, r, s, kv VL]; out: the tile's first position, positions ldo
 * floats apart. ni and kv are constants in each copy (ni * kv <= NI * 2 accumulators). */
INLINE void FN(corr_tile)(const int ni, const int kv, const float *in, int64_t plane, int64_t ld,
                          const struct FN(corr) *c, const float *wt, float *out, int64_t ldo)
{
    VF acc[NI][KV_MAX];
#pragma GCC unroll 16
    for (int j = 0; j < ni; j++)
#pragma GCC unroll 4
        for (int v = 0; v < kv; v++) acc[j][v] = VZERO();
    for (int64_t i = 0; i < c->cin; i++)
        for (int64_t r = 0; r < c->r; r++) {
            const float *row = in + i * plane + r * ld;
            for (int64_t s = 0; s < c->s; s++, wt += kv * VL) {
                VF wv[KV_MAX];
#pragma GCC unroll 4
                for (int v = 0; v < kv; v++) wv[v] = VLOAD(wt + v * VL);
#pragma GCC unroll 16
                for (int j = 0; j < ni; j++) {
                    VF b = VSET1(row[j + s]);
#pragma GCC unroll 4
                    for (int v = 0; v < kv; v++) acc[j][v] = VFMA(b, wv[v], acc[j][v]);
                }
            }
        }
#pragma GCC unroll 16
    for (int j = 0; j < ni; j++)
#pragma GCC unroll 4
        for (int v = 0; v < kv; v++) VSTORE(out + j * ldo + v * VL, acc[j][v]);
}

/* the tile for a run-time count of positions (at most NI * 2 / kv), each count its own copy */
static void FN(corr_tile_n)(int ni, const float *in, int64_t plane, int64_t ld, const struct FN(corr) *c,
                            const float *wt, float *out, int64_t ldo)
{
    switch (c->kv * 16 + ni) {
#define TILE_CASE(kv, n)                                                                        \
    case kv * 16 + n:                                                                           \
        if (n * kv <= NI * 2 && kv <= KV_MAX)                                                   \
            FN(corr_tile)(n * kv <= NI * 2 ? n : 1, kv <= KV_MAX ? kv : 2, in, plane, ld, c, wt, out, ldo); \
        break;
        TILE_CASE(2, 1) TILE_CASE(2, 2) TILE_CASE(2, 3) TILE_CASE(2, 4) TILE_CASE(2, 5) TILE_CASE(2, 6)
        TILE_CASE(2, 7) TILE_CASE(2, 8) TILE_CASE(2, 9) TILE_CASE(2, 10) TILE_CASE(2, 11) TILE_CASE(2, 12)
        TILE_CASE(4, 1) TILE_CASE(4, 2) TILE_CASE(4, 3) TILE_CASE(4, 4) TILE_CASE(4, 5) TILE_CASE(4, 6)
#undef TILE_CASE
    default: break;
    }
}

/* out [cout, pq] = beta out + tr(ocl [pq, cout]) (beta 0 overwrites); cout is whole vectors */
static void FN(untranspose)(const float *ocl, int64_t pq, int64_t cout, float *out, float beta)
{
    float blk[VL * VL];
    int64_t i0 = 0;
    for (; i0 + VL <= pq; i0 += VL)
        for (int64_t o = 0; o < cout; o += VL) {
            float *dst = out + o * pq + i0;
            if (beta == 0.0f) {
                VTRANSPOSE(ocl + i0 * cout + o, cout, dst, pq);
                continue;
            }
            VTRANSPOSE(ocl + i0 * cout + o, cout, blk, VL);
            for (int r = 0; r < VL; r++)
                VSTORE(dst + r * pq, VFMA(VSET1(beta), VLOAD(dst + r * pq), VLOAD(blk + r * VL)));
        }
    for (int64_t o = 0; o < cout && i0 < pq; o++) /* the last positions */
        for (int64_t i = i0; i < pq; i++)
            out[o * pq + i] = (beta == 0.0f ? 0.0f : beta * out[o * pq + i]) + ocl[i * cout + o];
}

/* BlurPool of a channels-last frame ocl [p, q, cout] (nn/cpu/blurpool.c's two passes, every
 * vector of channels at once): rows into hb [p, Wo, cout], then columns into ob [Ho, Wo, cout]
 * (which may be ocl: the first pass has read it all) */
static void FN(blur_frame)(const struct FN(corr) *c, const float *ocl, float *hb, float *ob)
{
    const float *t = nn_cpu_blurpool_taps;
    int64_t ho = nn_cpu_blurpool_size(c->p), wo = nn_cpu_blurpool_size(c->q), k = c->cout;
    VF t0 = VSET1(t[0]), t1 = VSET1(t[1]), t2 = VSET1(t[2]), t3 = VSET1(t[3]);
    for (int64_t r = 0; r < c->p; r++)
        for (int64_t j = 0; j < wo; j++) {
            const float *row = ocl + r * c->q * k, *x0 = row + c->ci[4 * j] * k, *x1 = row + c->ci[4 * j + 1] * k;
            const float *x2 = row + c->ci[4 * j + 2] * k, *x3 = row + c->ci[4 * j + 3] * k;
            float *h = hb + (r * wo + j) * k;
            for (int64_t o = 0; o < k; o += VL)
                VSTORE(h + o, VFMA(t3, VLOAD(x3 + o),
                                   VFMA(t2, VLOAD(x2 + o), VFMA(t1, VLOAD(x1 + o), VMUL(t0, VLOAD(x0 + o))))));
        }
    for (int64_t i = 0; i < ho; i++) {
        const float *r0 = hb + c->ri[4 * i] * wo * k, *r1 = hb + c->ri[4 * i + 1] * wo * k;
        const float *r2 = hb + c->ri[4 * i + 2] * wo * k, *r3 = hb + c->ri[4 * i + 3] * wo * k;
        float *out = ob + i * wo * k;
        for (int64_t o = 0; o < wo * k; o += VL)
            VSTORE(out + o, VFMA(t3, VLOAD(r3 + o),
                                 VFMA(t2, VLOAD(r2 + o), VFMA(t1, VLOAD(r1 + o), VMUL(t0, VLOAD(r0 + o))))));
    }
}

/* The output frame's size, and the workspace floats of one frame: the padded input, the
 * channels-last output and, when blurring, the row pass's buffer */
static int64_t FN(corr_out)(const struct FN(corr) *c)
{
    return c->ri ? nn_cpu_blurpool_size(c->p) * nn_cpu_blurpool_size(c->q) : c->p * c->q;
}

static int64_t FN(corr_ws)(const struct FN(corr) *c)
{
    int64_t n = FN(round16)(c->cin * (c->h + 2 * c->ph) * (c->w + 2 * c->pw)) + FN(round16)(c->p * c->q * c->cout);
    return c->ri ? n + c->p * nn_cpu_blurpool_size(c->q) * c->cout : n;
}

static void FN(corr_frame)(const struct FN(corr) *c, const float *x, const float *wt, float *y, float beta,
                           float *ws)
{
    int64_t hp = c->h + 2 * c->ph, wp = c->w + 2 * c->pw, plane = hp * wp, crs = c->cin * c->r * c->s;
    int64_t kb = c->kv * VL, ni_max = NI * 2 / c->kv;
    float *xp = ws, *ocl = ws + FN(round16)(c->cin * plane);
    FN(pad_frame)(x, c->cin, c->h, c->w, c->ph, c->pw, xp);
    for (int64_t p = 0; p < c->p; p++)
        for (int64_t q0 = 0; q0 < c->q; q0 += ni_max) {
            int ni = (int)FN(min64)(ni_max, c->q - q0);
            for (int64_t o = 0; o < c->cout; o += kb)
                FN(corr_tile_n)(ni, xp + p * wp + q0, plane, wp, c, wt + o * crs, ocl + (p * c->q + q0) * c->cout + o,
                                c->cout);
        }
    if (c->ri) FN(blur_frame)(c, ocl, ocl + FN(round16)(c->p * c->q * c->cout), ocl);
    FN(untranspose)(ocl, FN(corr_out)(c), c->cout, y, beta);
}

/* n frames; wt [cout / (kv VL), cin, r, s, kv VL] */
static void FN(corr_run)(const struct FN(corr) *c, int64_t n, const float *x, const float *wt, float *y,
                         float beta)
{
    int64_t xs = c->cin * c->h * c->w, ys = c->cout * FN(corr_out)(c), ws_n = FN(corr_ws)(c);
    int t = omp_get_max_threads();
    if (n < 2 || t < 2) {
        float *ws = FN(alloc)(ws_n);
        if (!ws) return; /* kernels cannot fail: the output stays as it was */
        for (int64_t f = 0; f < n; f++) FN(corr_frame)(c, x + f * xs, wt, y + f * ys, beta, ws);
        free(ws);
        return;
    }
#pragma omp parallel num_threads(t)
    {
        float *ws = FN(alloc)(ws_n);
#pragma omp for schedule(dynamic, 1)
        for (int64_t f = 0; f < n; f++)
            if (ws) FN(corr_frame)(c, x + f * xs, wt, y + f * ys, beta, ws);
        free(ws);
    }
}

/* the widest tile whose channel blocks divide cout */
static int FN(tile_kv)(int64_t cout) { return KV_MAX >= 4 && cout % (4 * VL) == 0 ? 4 : 2; }

/* the forward correlation, its output blurred when ri and ci are given; false (nothing
 * written) when the reordered weights find no memory */
static bool FN(forward_run)(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta,
                            const int64_t *ri, const int64_t *ci)
{
    int64_t crs = d->c * d->r * d->s;
    int kv = FN(tile_kv)(d->k), kb = kv * VL;
    float *wt = FN(alloc)(d->k * crs);
    if (!wt) return false;
    /* wt[k / kb, c, r, s, k % kb] = w[k, c, r, s] */
    for (int64_t k = 0; k < d->k; k++)
        for (int64_t i = 0; i < crs; i++) wt[(k / kb) * kb * crs + i * kb + k % kb] = w[k * crs + i];
    struct FN(corr) c = {d->c, d->h, d->w, d->k, d->r, d->s, d->pad_h, d->pad_w, d->p, d->q, kv, ri, ci};
    FN(corr_run)(&c, d->n, x, wt, y, beta);
    free(wt);
    return true;
}

static void FN(forward)(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta)
{
    (void)FN(forward_run)(d, x, w, y, beta, NULL, NULL);
}

/* y [N, K, Ho, Wo] = BlurPool(conv2d(x, w)): each frame's convolution is blurred while it is
 * channels-last in the thread's workspace (about a cache's worth), and only the pooled
 * quarter goes through the transpose and out to memory */
static bool FN(forward_blurpool)(const struct nn_conv_desc *d, const float *x, const float *w, float *y)
{
    int64_t *ri = nn_cpu_blurpool_index(d->p), *ci = nn_cpu_blurpool_index(d->q);
    bool ran = ri && ci && FN(forward_run)(d, x, w, y, 0.0f, ri, ci);
    free(ri);
    free(ci);
    return ran;
}

static void FN(data)(const struct nn_conv_desc *d, const float *dy, const float *w, float *dx, float beta)
{
    int64_t rs = d->r * d->s, krs = d->k * rs;
    int kv = FN(tile_kv)(d->c), kb = kv * VL;
    float *wt = FN(alloc)(d->c * krs);
    if (!wt) return;
    /* wt[ch / kb, k, r', s', ch % kb] = w[k, ch, R - 1 - r', S - 1 - s'] */
    for (int64_t k = 0; k < d->k; k++)
        for (int64_t ch = 0; ch < d->c; ch++)
            for (int64_t t = 0; t < rs; t++)
                wt[(ch / kb) * kb * krs + (k * rs + t) * kb + ch % kb] = w[(k * d->c + ch) * rs + rs - 1 - t];
    struct FN(corr) c = {d->k, d->p, d->q, d->c, d->r, d->s, d->r - 1 - d->pad_h, d->s - 1 - d->pad_w, d->h, d->w, kv,
                         NULL, NULL};
    FN(corr_run)(&c, d->n, dy, wt, dx, beta);
    free(wt);
}

/* ---- the filter pass */

/* frame [K, PQ] -> [PQ, K]; K is whole vectors */
static void FN(transpose_in)(const float *dy, int64_t k, int64_t pq, float *out)
{
    int64_t i0 = 0;
    for (; i0 + VL <= pq; i0 += VL)
        for (int64_t o = 0; o < k; o += VL) VTRANSPOSE(dy + o * pq + i0, pq, out + i0 * k + o, k);
    for (int64_t i = i0; i < pq; i++)
        for (int64_t o = 0; o < k; o++) out[i * k + o] = dy[o * pq + i];
}

struct FN(fgeom) {
    int64_t wp, plane;  /* padded width and plane of x */
    int64_t pq;         /* output positions per frame */
    int64_t xfs, dfs;   /* floats per frame of x_pad ([C, plane]) and of dy ([PQ, K]) */
    int64_t nbf;        /* frames per chunk */
    int rb;             /* kernel rows per tile */
};

/* Taps (r0 .. r0 + rb - 1, 0 .. s - 1) of input channel c by 2 VL output channels, summed over
 * the positions of nb frames into out [rb * s, 2 VL] (+=, rows of K floats). xp: frame 0's
 * channel c, row r0; dy: frame 0, position 0, the block's first channel. rb and s are constants
 * in each copy (rb * s * 2 <= NI * 2 accumulators). */
INLINE void FN(filter_tile)(const int rb, const int s, const float *xp, const float *dy, const struct nn_conv_desc *d,
                            const struct FN(fgeom) *g, int64_t nb, float *out)
{
    VF acc[NI][2];
#pragma GCC unroll 16
    for (int t = 0; t < rb * s; t++) acc[t][0] = acc[t][1] = VZERO();
    for (int64_t f = 0; f < nb; f++)
        for (int64_t p = 0; p < d->p; p++) {
            const float *row = xp + f * g->xfs + p * g->wp, *dp = dy + f * g->dfs + p * d->q * d->k;
            for (int64_t q = 0; q < d->q; q++, dp += d->k) {
                VF d0 = VLOAD(dp), d1 = VLOAD(dp + VL);
#pragma GCC unroll 16
                for (int r = 0; r < rb; r++)
#pragma GCC unroll 4
                    for (int c = 0; c < s; c++) {
                        VF b = VSET1(row[r * g->wp + q + c]);
                        acc[r * s + c][0] = VFMA(b, d0, acc[r * s + c][0]);
                        acc[r * s + c][1] = VFMA(b, d1, acc[r * s + c][1]);
                    }
            }
        }
#pragma GCC unroll 16
    for (int t = 0; t < rb * s; t++) {
        VSTORE(out + t * d->k, VLOAD(out + t * d->k) + acc[t][0]);
        VSTORE(out + t * d->k + VL, VLOAD(out + t * d->k + VL) + acc[t][1]);
    }
}

/* the tile for run-time rows and kernel width (s <= 4, rb * s <= NI) */
static void FN(filter_tile_n)(int rb, int s, const float *xp, const float *dy, const struct nn_conv_desc *d,
                              const struct FN(fgeom) *g, int64_t nb, float *out)
{
    switch (rb * 8 + s) {
#define FTILE(r, c)                                                                                 \
    case r * 8 + c:                                                                                 \
        if (r * c <= NI) FN(filter_tile)(r * c <= NI ? r : 1, c, xp, dy, d, g, nb, out);            \
        break;
        FTILE(1, 1) FTILE(1, 2) FTILE(1, 3) FTILE(1, 4) FTILE(2, 1) FTILE(2, 2) FTILE(2, 3) FTILE(2, 4)
        FTILE(3, 1) FTILE(3, 2) FTILE(3, 3) FTILE(3, 4) FTILE(4, 1) FTILE(4, 2) FTILE(4, 3) FTILE(4, 4)
        FTILE(5, 1) FTILE(5, 2) FTILE(6, 1) FTILE(6, 2) FTILE(7, 1) FTILE(8, 1) FTILE(9, 1)
        FTILE(10, 1) FTILE(11, 1) FTILE(12, 1)
#undef FTILE
    default: break;
    }
}

/* frames f0 .. f0 + nb - 1 into part [C, R, S, K] (+=) */
static void FN(filter_chunk)(const struct nn_conv_desc *d, const struct FN(fgeom) *g, const float *x,
                             const float *dy, int64_t f0, int64_t nb, float *ws, float *part)
{
    float *xp = ws, *dcl = ws + FN(round16)(g->nbf * g->xfs);
    int64_t chw = d->c * d->h * d->w;
    for (int64_t f = 0; f < nb; f++) {
        FN(pad_frame)(x + (f0 + f) * chw, d->c, d->h, d->w, d->pad_h, d->pad_w, xp + f * g->xfs);
        FN(transpose_in)(dy + (f0 + f) * d->k * g->pq, d->k, g->pq, dcl + f * g->dfs);
    }
    int64_t rs = d->r * d->s;
    for (int64_t kb = 0; kb < d->k; kb += 2 * VL)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t r0 = 0; r0 < d->r; r0 += g->rb) {
                int rb = (int)FN(min64)(g->rb, d->r - r0);
                FN(filter_tile_n)(rb, (int)d->s, xp + c * g->plane + r0 * g->wp, dcl + kb, d, g, nb,
                                  part + (c * rs + r0 * d->s) * d->k + kb);
            }
}

/* Filter, channels-last: dw[k, c, r, s] = sum over frames and positions (p, q) of
 * x_pad[c, p + r, q + s] dy[k, p, q]. dy is transposed to [PQ, K] per frame; a tile is rb
 * kernel rows of one input channel by 2 VL output channels: per position the two vectors of
 * dy times each tap's broadcast input, rb * S * 2 accumulators over all the positions of a
 * chunk of frames, added to the thread's partial [C, R, S, K] (no sums across lanes). */
static void FN(filter)(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw, float beta)
{
    struct FN(fgeom) g;
    int64_t hp = d->h + 2 * d->pad_h, kcrs = d->k * d->c * d->r * d->s, rs = d->r * d->s;
    g.wp = d->w + 2 * d->pad_w;
    g.plane = hp * g.wp;
    g.pq = d->p * d->q;
    g.xfs = d->c * g.plane;
    g.dfs = g.pq * d->k;
    g.nbf = FN(min64)(d->n, FILTER_CHUNK_FLOATS / (g.xfs + g.dfs));
    if (g.nbf < 1) g.nbf = 1;
    /* rows per tile: as many as the accumulators allow, evened out over R */
    int64_t rb_max = NI / d->s < 1 ? 1 : NI / d->s, tiles = (d->r + rb_max - 1) / rb_max;
    g.rb = (int)((d->r + tiles - 1) / tiles);
    int64_t chunks = (d->n + g.nbf - 1) / g.nbf;
    int t = (int)FN(min64)(omp_get_max_threads(), chunks);
    if (t < 1) t = 1;
    int64_t ws_n = FN(round16)(g.nbf * g.xfs) + g.nbf * g.dfs, part_n = FN(round16)(kcrs);
    float *part = FN(alloc)(t * part_n);
    if (!part) return;
    memset(part, 0, (size_t)(t * part_n) * sizeof(float));
    int failed = 0;
#pragma omp parallel num_threads(t) if (t > 1) reduction(| : failed)
    {
        int me = omp_get_thread_num();
        float *ws = FN(alloc)(ws_n);
        failed = ws == NULL;
        for (int64_t j = me; ws && j < chunks; j += t)
            FN(filter_chunk)(d, &g, x, dy, j * g.nbf, FN(min64)(g.nbf, d->n - j * g.nbf), ws, part + me * part_n);
        free(ws);
    }
    /* dw[k, c, r, s] = beta dw + the threads' part[c, r, s, k], in thread order */
    if (!failed)
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t i = 0; i < d->c * rs; i++) {
                float sum = beta == 0.0f ? 0.0f : beta * dw[k * d->c * rs + i];
                for (int u = 0; u < t; u++) sum += part[u * part_n + i * d->k + k];
                dw[k * d->c * rs + i] = sum;
            }
    free(part);
}

#include "nn/cpu/gemm_stream_impl.h"

const struct nn_cpu_direct CAT(nn_cpu_direct, SUFFIX) = {
    .name = STR(SUFFIX), .kb = KB, .max_s = 4, .forward = FN(forward), .forward_blurpool = FN(forward_blurpool),
    .data = FN(data), .filter = FN(filter),
    .gemm_wide = FN(gemm_wide), .gemm_deep = FN(gemm_deep), .gemm_narrow = FN(gemm_narrow),
    .gemm_narrow_t = FN(gemm_narrow_t)};
