/* Convolution kernels on the CPU: im2col / col2im around OpenBLAS sgemm, plus the bias kernels.
 *
 * Frames are processed in chunks: a chunk's columns sit side by side in one [C*R*S, nb*P*Q]
 * matrix, so one GEMM covers nb frames. At VDSM's small spatial sizes (7x7, 4x4 outputs) a
 * GEMM per frame would be dominated by OpenBLAS re-packing the weights on every call. Large
 * outputs (>= NN_CONV_FRAME_PQ pixels) get one GEMM per frame instead, and a kernel covering
 * the whole unpadded input (1x1 output) skips im2col: it is a linear layer.
 *
 * Threads. Chunks are spread over OpenMP threads, each running single-threaded sgemm on its
 * own workspace. A problem of one chunk runs serially, its GEMMs cut between the threads by
 * nn_cpu_gemm_f32. OpenBLAS itself always runs on one thread (nn/cpu/gemm.c says why).
 * Workspace is bounded (WS_BUDGET floats per thread), which bounds the chunk size, not the
 * batch.
 */
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/conv_direct.h"
#include "nn/cpu/cpu.h"

/* floats of workspace per thread (columns + one chunk of outputs): 24 MiB over 2 threads,
 * below glibc's mmap threshold ceiling so the block is reused rather than re-faulted. */
#define WS_BUDGET ((int64_t)3 << 20)

/* From this many output pixels per frame, a frame's GEMM is wide enough on its own: one
 * frame per chunk then skips the gather/scatter between frame and chunk layouts, and its
 * columns stay in L2 between im2col and the GEMM. Overridable for tuning. */
#ifndef NN_CONV_FRAME_PQ
#define NN_CONV_FRAME_PQ 256
#endif

/* A tap's block of columns on the phased path (see im2col_phased): its phase plane's offset
 * in the workspace and the shift into it, and the rows [p0, p1) and columns [q0, q1) of its
 * P x Q block that lie inside the frame */
struct tap_block {
    int64_t plane, off, p0, p1, q0, q1;
};

/* Geometry shared by the three passes. */
struct conv_plan {
    const struct nn_conv_desc *d;
    int64_t crs, pq, chw, kpq, kcrs;
    int64_t nb;      /* frames per chunk */
    int64_t cpg;     /* chunks per weight group */
    int threads;     /* OpenMP threads used (1: serial, OpenBLAS threaded) */
    bool phased;     /* strided, the frame exactly stride x output: columns via phase planes */
    int64_t ws;      /* workspace floats per thread: columns, outputs, a frame channel's phases */
    int64_t *taps;   /* tap_table: [p0, p1) per kernel row r, then [q0, q1) per column s */
    struct tap_block *blocks; /* phased: tap (r, s)'s at [r S + s], in taps' allocation */
};

static int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* valid output range [q0, q1) for kernel tap s: 0 <= q*stride - pad + s < in */
static void tap_range(int64_t s, int64_t pad, int64_t stride, int64_t in, int64_t out,
                      int64_t *q0, int64_t *q1)
{
    *q0 = min64(out, ceil_div(pad - s, stride));
    *q1 = min64(out, ceil_div(in + pad - s, stride));
    if (*q1 < *q0) *q1 = *q0;
}

/* Valid output rows / columns of every kernel tap, computed once per call: at 4x4 outputs a
 * tap covers 16 pixels, and recomputing its bounds (two divisions each) would cost as much as
 * moving them. */
static int64_t *tap_table(const struct nn_conv_desc *d, bool phased)
{
    size_t blocks = phased ? (size_t)(d->r * d->s) * sizeof(struct tap_block) / sizeof(int64_t) : 0;
    int64_t *t = malloc(((size_t)(2 * (d->r + d->s)) + blocks) * sizeof *t);
    if (!t) return NULL;
    for (int64_t r = 0; r < d->r; r++)
        tap_range(r, d->pad_h, d->stride_h, d->h, d->p, &t[2 * r], &t[2 * r + 1]);
    for (int64_t s = 0; s < d->s; s++)
        tap_range(s, d->pad_w, d->stride_w, d->w, d->q, &t[2 * (d->r + s)], &t[2 * (d->r + s) + 1]);
    return t;
}

/* the phase f and shift o / stride rounded down of offset o = tap - pad */
static void tap_phase(int64_t o, int64_t stride, int64_t *f, int64_t *shift)
{
    *f = ((o % stride) + stride) % stride;
    *shift = (o - *f) / stride;
}

/* tap (r, s)'s block (see im2col_phased): r - pad_h = dr sh + fr, s - pad_w = ds sw + fs */
static struct tap_block tap_block(const struct conv_plan *pl, int64_t r, int64_t s)
{
    const struct nn_conv_desc *d = pl->d;
    int64_t fr, dr, fs, ds;
    tap_phase(r - d->pad_h, d->stride_h, &fr, &dr);
    tap_phase(s - d->pad_w, d->stride_w, &fs, &ds);
    const int64_t *pr = pl->taps + 2 * r, *qr = pl->taps + 2 * (d->r + s);
    return (struct tap_block){(fr * d->stride_w + fs) * pl->pq, dr * d->q + ds, pr[0], pr[1], qr[0], qr[1]};
}

/* false when the small tap table cannot be allocated (kernels have no error path; the
 * caller then leaves its output untouched, which a later NaN check will catch) */
static bool plan_init(struct conv_plan *pl, const struct nn_conv_desc *d)
{
    pl->d = d;
    pl->phased = (d->stride_h > 1 || d->stride_w > 1) && d->h == d->stride_h * d->p && d->w == d->stride_w * d->q;
    pl->taps = tap_table(d, pl->phased);
    pl->blocks = pl->phased && pl->taps ? (struct tap_block *)(pl->taps + 2 * (d->r + d->s)) : NULL;
    pl->crs = d->c * d->r * d->s;
    pl->pq = d->p * d->q;
    pl->chw = d->c * d->h * d->w;
    pl->kpq = d->k * pl->pq;
    pl->kcrs = d->k * pl->crs;
    int t = omp_get_max_threads();
    /* frames that fit the budget, then evened out so every thread gets whole rounds */
    int64_t per_frame = (pl->crs + d->k) * pl->pq;
    int64_t nb_max = max64(1, min64(d->n, WS_BUDGET / max64(1, per_frame)));
    if (pl->pq >= NN_CONV_FRAME_PQ) nb_max = 1;
    int64_t chunks = ceil_div(d->n, nb_max);
    if (d->g < t) /* one group: whole rounds of t chunks */
        chunks = min64(d->n, ceil_div(chunks, t) * t);
    pl->nb = max64(1, ceil_div(d->n, chunks));
    pl->cpg = ceil_div(d->n, pl->nb);
    pl->threads = (d->g * pl->cpg >= 2 && t > 1) ? t : 1;
    pl->ws = (pl->crs + d->k) * pl->nb * pl->pq + (pl->phased ? d->h * d->w : 0);
    for (int64_t r = 0; pl->blocks && r < d->r; r++)
        for (int64_t s = 0; s < d->s; s++) pl->blocks[r * d->s + s] = tap_block(pl, r, s);
    return pl->taps != NULL;
}

/* out [P, Q] = 0 outside rows [p0, p1) and, in those rows, outside columns [q0, q1): a tap's
 * columns where its input is padding */
static void zero_outside(const struct nn_conv_desc *d, int64_t p0, int64_t p1, int64_t q0, int64_t q1, float *out)
{
    int64_t Q = d->q;
    memset(out, 0, (size_t)(p0 * Q) * sizeof(float));
    memset(out + p1 * Q, 0, (size_t)((d->p - p1) * Q) * sizeof(float));
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t q = 0; q < q0; q++) out[p * Q + q] = 0.0f;
        for (int64_t q = q1; q < Q; q++) out[p * Q + q] = 0.0f;
    }
}

/* out[p*Q + q] = plane[p*sh - ph + r, q*sw - pw + s] (0 outside) for one kernel tap */
static void im2col_tap(const struct conv_plan *pl, const float *plane, int64_t r, int64_t s,
                       float *out)
{
    const struct nn_conv_desc *d = pl->d;
    const int64_t *pr = pl->taps + 2 * r, *qr = pl->taps + 2 * (d->r + s);
    int64_t p0 = pr[0], p1 = pr[1], q0 = qr[0], q1 = qr[1], Q = d->q, sw = d->stride_w;
    zero_outside(d, p0, p1, q0, q1, out);
    const float *xr = plane + (p0 * d->stride_h - d->pad_h + r) * d->w + q0 * sw - d->pad_w + s;
    for (int64_t p = p0; p < p1; p++, xr += d->stride_h * d->w) {
        float *o = out + p * Q;
        if (sw == 1)
            memcpy(o + q0, xr, (size_t)(q1 - q0) * sizeof(float));
        else if (sw == 2) /* a constant stride lets the compiler vectorise the gather */
            for (int64_t q = q0; q < q1; q++) o[q] = xr[(q - q0) * 2];
        else
            for (int64_t q = q0; q < q1; q++) o[q] = xr[(q - q0) * sw];
    }
}

/* the adjoint: plane[p*sh - ph + r, q*sw - pw + s] += in[p*Q + q] */
static void col2im_tap(const struct conv_plan *pl, const float *in, int64_t r, int64_t s,
                       float *plane)
{
    const struct nn_conv_desc *d = pl->d;
    const int64_t *pr = pl->taps + 2 * r, *qr = pl->taps + 2 * (d->r + s);
    int64_t p0 = pr[0], p1 = pr[1], q0 = qr[0], q1 = qr[1], sw = d->stride_w;
    float *xr = plane + (p0 * d->stride_h - d->pad_h + r) * d->w + q0 * sw - d->pad_w + s;
    for (int64_t p = p0; p < p1; p++, xr += d->stride_h * d->w) {
        const float *ir = in + p * d->q + q0;
        if (sw == 1)
            for (int64_t q = 0; q < q1 - q0; q++) xr[q] += ir[q];
        else if (sw == 2)
            for (int64_t q = 0; q < q1 - q0; q++) xr[q * 2] += ir[q];
        else
            for (int64_t q = 0; q < q1 - q0; q++) xr[q * sw] += ir[q];
    }
}

/* ---- strided convolutions whose frame is exactly stride x output (H = sh P, W = sw Q: the
 * decoder's 4x4 stride-2 layers seen from their adjoint) go through phase planes. Phase
 * (fr, fs) of a frame channel is the P x Q plane ph[i, j] = x[i sh + fr, j sw + fs]. Tap
 * (r, s), with r - pad_h = dr sh + fr and s - pad_w = ds sw + fs, reads ph(fr, fs)[p + dr,
 * q + ds]: both planes are P x Q, so its P x Q block of columns is one contiguous copy of the
 * phase plane at offset dr Q + ds, after which the positions outside the frame (whole rows, and
 * the one column per row that the offset wrapped in) are zeroed. col2im adds each block's
 * positions inside the frame (whole blocks for the taps whose columns all are) into zeroed
 * phase planes, which then interleave into the frame once. Per frame channel that is R S
 * block moves and one pass over the frame, where the per-tap path (im2col_tap, col2im_tap)
 * moves R S P rows of Q, strided. At Sprites' four strided decoder layers (20 sequences of 8
 * frames, one thread, /tmp harness, two runs): im2col 109-110 -> 70-75 ms, col2im 86-91 ->
 * 59-61 ms. */

/* ph[(fr sw + fs) P Q + i Q + j] = plane[(i sh + fr) W + j sw + fs] */
static void split_phases(const struct nn_conv_desc *d, const float *plane, float *ph)
{
    int64_t sh = d->stride_h, sw = d->stride_w, P = d->p, Q = d->q;
    for (int64_t y = 0; y < d->h; y++) {
        const float *row = plane + y * d->w;
        float *dst = ph + (y % sh) * sw * P * Q + (y / sh) * Q;
        if (sw == 2)
            for (int64_t j = 0; j < Q; j++) dst[j] = row[2 * j], dst[P * Q + j] = row[2 * j + 1];
        else
            for (int64_t fs = 0; fs < sw; fs++)
                for (int64_t j = 0; j < Q; j++) dst[fs * P * Q + j] = row[j * sw + fs];
    }
}

/* the adjoint with beta: plane[(i sh + fr) W + j sw + fs] = beta plane[...] + ph[...] */
static void merge_phases(const struct nn_conv_desc *d, const float *ph, float *plane, float beta)
{
    int64_t sh = d->stride_h, sw = d->stride_w, P = d->p, Q = d->q;
    for (int64_t y = 0; y < d->h; y++) {
        float *row = plane + y * d->w;
        const float *src = ph + (y % sh) * sw * P * Q + (y / sh) * Q;
        if (beta == 0.0f && sw == 2)
            for (int64_t j = 0; j < Q; j++) row[2 * j] = src[j], row[2 * j + 1] = src[P * Q + j];
        else
            for (int64_t fs = 0; fs < sw; fs++)
                for (int64_t j = 0; j < Q; j++) {
                    float *x = row + j * sw + fs;
                    *x = (beta == 0.0f ? 0.0f : beta * *x) + src[fs * P * Q + j];
                }
    }
}

/* the flat range [k0, k1) of the block's positions in a P x Q plane (empty: k1 <= k0) */
static void block_range(const struct conv_plan *pl, const struct tap_block *b, int64_t *k0, int64_t *k1)
{
    *k0 = b->p0 * pl->d->q + b->q0;
    *k1 = b->p1 > b->p0 ? (b->p1 - 1) * pl->d->q + b->q1 : *k0;
}

static void im2col_phased(const struct conv_plan *pl, const float *x, int64_t nb, int64_t c0, int64_t c1,
                          float *col, float *ph)
{
    const struct nn_conv_desc *d = pl->d;
    int64_t ld = nb * pl->pq, hw = d->h * d->w;
    for (int64_t c = c0; c < c1; c++)
        for (int64_t f = 0; f < nb; f++) {
            split_phases(d, x + f * pl->chw + c * hw, ph);
            for (int64_t r = 0; r < d->r; r++)
                for (int64_t s = 0; s < d->s; s++) {
                    const struct tap_block b = pl->blocks[r * d->s + s];
                    float *out = col + ((c * d->r + r) * d->s + s) * ld + f * pl->pq;
                    int64_t k0, k1;
                    block_range(pl, &b, &k0, &k1);
                    if (k1 > k0) memcpy(out + k0, ph + b.plane + k0 + b.off, (size_t)(k1 - k0) * sizeof(float));
                    zero_outside(d, b.p0, b.p1, b.q0, b.q1, out); /* after: the copy wrapped into some */
                }
        }
}

static void col2im_phased(const struct conv_plan *pl, const float *col, int64_t nb, float *dx, float beta,
                          float *ph)
{
    const struct nn_conv_desc *d = pl->d;
    int64_t ld = nb * pl->pq, hw = d->h * d->w, Q = d->q;
    for (int64_t c = 0; c < d->c; c++)
        for (int64_t f = 0; f < nb; f++) {
            memset(ph, 0, (size_t)hw * sizeof(float));
            for (int64_t r = 0; r < d->r; r++)
                for (int64_t s = 0; s < d->s; s++) {
                    const struct tap_block b = pl->blocks[r * d->s + s];
                    const float *in = col + ((c * d->r + r) * d->s + s) * ld + f * pl->pq;
                    float *t = ph + b.plane + b.off;
                    /* only the block's positions inside the frame: the GEMM's values at the
                     * others belong to no pixel */
                    if (b.q0 == 0 && b.q1 == Q)
                        for (int64_t k = b.p0 * Q; k < b.p1 * Q; k++) t[k] += in[k];
                    else
                        for (int64_t p = b.p0; p < b.p1; p++)
                            for (int64_t q = b.q0; q < b.q1; q++) t[p * Q + q] += in[p * Q + q];
                }
            merge_phases(d, ph, dx + f * pl->chw + c * hw, beta);
        }
}

/* the rows of channels [c0, c1) of col [C*R*S, nb*P*Q], from nb frames starting at x; ph:
 * the workspace's phase planes */
static void im2col_rows(const struct conv_plan *pl, const float *x, int64_t nb, int64_t c0, int64_t c1, float *col,
                        float *ph)
{
    const struct nn_conv_desc *d = pl->d;
    int64_t ld = nb * pl->pq, hw = d->h * d->w;
    if (pl->phased) {
        im2col_phased(pl, x, nb, c0, c1, col, ph);
        return;
    }
    for (int64_t c = c0; c < c1; c++)
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                float *row = col + ((c * d->r + r) * d->s + s) * ld;
                for (int64_t f = 0; f < nb; f++)
                    im2col_tap(pl, x + f * pl->chw + c * hw, r, s, row + f * pl->pq);
            }
}

static void im2col(const struct conv_plan *pl, const float *x, int64_t nb, float *col, float *ph)
{
    im2col_rows(pl, x, nb, 0, pl->d->c, col, ph);
}

/* dx frames = beta dx + col2im(col) (beta 0 overwrites); col as im2col lays it out */
static void col2im(const struct conv_plan *pl, const float *col, int64_t nb, float *dx, float beta, float *ph)
{
    const struct nn_conv_desc *d = pl->d;
    int64_t ld = nb * pl->pq, hw = d->h * d->w;
    if (pl->phased) {
        col2im_phased(pl, col, nb, dx, beta, ph);
        return;
    }
    size_t n = (size_t)(nb * pl->chw);
    if (beta == 0.0f)
        memset(dx, 0, n * sizeof(float));
    else if (beta != 1.0f)
        for (size_t i = 0; i < n; i++) dx[i] *= beta;
    /* col is read row by row; the nb planes of channel c stay in cache across its taps */
    for (int64_t c = 0; c < d->c; c++)
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                const float *row = col + ((c * d->r + r) * d->s + s) * ld;
                for (int64_t f = 0; f < nb; f++)
                    col2im_tap(pl, row + f * pl->pq, r, s, dx + f * pl->chw + c * hw);
            }
}

/* [nb, K, PQ] frames <-> [K, nb*PQ] chunk matrix; scatter applies beta to the frames */
static void gather_frames(const struct conv_plan *pl, const float *y, int64_t nb, float *m)
{
    int64_t ld = nb * pl->pq;
    for (int64_t f = 0; f < nb; f++)
        for (int64_t k = 0; k < pl->d->k; k++)
            memcpy(m + k * ld + f * pl->pq, y + f * pl->kpq + k * pl->pq,
                   (size_t)pl->pq * sizeof(float));
}

static void scatter_frames(const struct conv_plan *pl, const float *m, int64_t nb, float *y,
                           float beta)
{
    int64_t ld = nb * pl->pq;
    for (int64_t f = 0; f < nb; f++)
        for (int64_t k = 0; k < pl->d->k; k++) {
            const float *src = m + k * ld + f * pl->pq;
            float *dst = y + f * pl->kpq + k * pl->pq;
            if (beta == 0.0f)
                memcpy(dst, src, (size_t)pl->pq * sizeof(float));
            else
                for (int64_t i = 0; i < pl->pq; i++) dst[i] = beta * dst[i] + src[i];
        }
}

/* inside a parallel region on the calling thread; outside it, cut between the threads */
static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    nn_cpu_gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

/* ---- the three passes, one chunk (frames f0..f0+nb-1 of group g) at a time */

struct conv_args {
    const float *a, *b; /* forward: x, w; data: dy, w; filter: x (b unused) */
    float *out;         /* forward: y; data: dx */
    float beta;
    const float *fdy;   /* filter: dy, into dw with fbeta */
    float *fdw;
    float fbeta;
    bool forward_too;   /* filter chunks also run the forward pass of a, b, out, beta */
};

static void chunk_bounds(const struct conv_plan *pl, int64_t chunk, int64_t *g, int64_t *f0,
                         int64_t *nb)
{
    *g = chunk / pl->cpg;
    int64_t i0 = (chunk % pl->cpg) * pl->nb;
    *f0 = *g * pl->d->n + i0;
    *nb = min64(pl->nb, pl->d->n - i0);
}

/* y frames f0.. (+)= w_g x col, col holding im2col of those nb frames */
static void forward_gemm(const struct conv_plan *pl, const struct conv_args *a, int64_t g, int64_t f0,
                         int64_t nb, const float *col, float *tmp)
{
    const float *w = a->b + g * pl->kcrs;
    float *y = a->out + f0 * pl->kpq;
    if (nb == 1) {
        sgemm(0, 0, pl->d->k, pl->pq, pl->crs, w, pl->crs, col, pl->pq, a->beta, y, pl->pq);
        return;
    }
    sgemm(0, 0, pl->d->k, nb * pl->pq, pl->crs, w, pl->crs, col, nb * pl->pq, 0.0f, tmp,
          nb * pl->pq);
    scatter_frames(pl, tmp, nb, y, a->beta);
}

static void forward_chunk(const struct conv_plan *pl, const struct conv_args *a, int64_t chunk,
                          float *ws)
{
    int64_t g, f0, nb;
    chunk_bounds(pl, chunk, &g, &f0, &nb);
    float *col = ws, *tmp = ws + pl->crs * pl->nb * pl->pq, *ph = tmp + pl->d->k * pl->nb * pl->pq;
    im2col(pl, a->a + f0 * pl->chw, nb, col, ph);
    forward_gemm(pl, a, g, f0, nb, col, tmp);
}

static void data_chunk(const struct conv_plan *pl, const struct conv_args *a, int64_t chunk,
                       float *ws)
{
    int64_t g, f0, nb;
    chunk_bounds(pl, chunk, &g, &f0, &nb);
    float *col = ws, *tmp = ws + pl->crs * pl->nb * pl->pq, *ph = tmp + pl->d->k * pl->nb * pl->pq;
    const float *w = a->b + g * pl->kcrs;
    const float *dy = a->a + f0 * pl->kpq;
    float *dx = a->out + f0 * pl->chw;
    if (nb > 1) {
        gather_frames(pl, dy, nb, tmp);
        dy = tmp;
    }
    sgemm(1, 0, pl->crs, nb * pl->pq, pl->d->k, w, pl->crs, dy, nb * pl->pq, 0.0f, col,
          nb * pl->pq);
    col2im(pl, col, nb, dx, a->beta, ph);
}

/* dw (+)= dy_chunk [K, nb*PQ] x col^T; with forward_too, the chunk's forward output comes
 * from the same columns first */
static void filter_chunk(const struct conv_plan *pl, const struct conv_args *a, int64_t chunk,
                         float *ws, float *dw, float beta)
{
    int64_t g, f0, nb;
    chunk_bounds(pl, chunk, &g, &f0, &nb);
    float *col = ws, *tmp = ws + pl->crs * pl->nb * pl->pq, *ph = tmp + pl->d->k * pl->nb * pl->pq;
    const float *dy = a->fdy + f0 * pl->kpq;
    im2col(pl, a->a + f0 * pl->chw, nb, col, ph);
    if (a->forward_too) forward_gemm(pl, a, g, f0, nb, col, tmp);
    if (nb > 1) {
        gather_frames(pl, dy, nb, tmp);
        dy = tmp;
    }
    sgemm(0, 1, pl->d->k, pl->crs, nb * pl->pq, dy, nb * pl->pq, col, nb * pl->pq, beta, dw,
          pl->crs);
}

/* ---- drivers */

typedef void (*chunk_fn)(const struct conv_plan *, const struct conv_args *, int64_t, float *);

/* Runs every chunk once; chunks write disjoint frames, so any thread may take any chunk. */
static void run_chunks(const struct conv_plan *pl, const struct conv_args *a, chunk_fn fn)
{
    int64_t total = pl->d->g * pl->cpg;
    float *ws = malloc((size_t)(pl->ws * pl->threads) * sizeof(float));
    if (!ws) return; /* kernels cannot fail; sizes are bounded by WS_BUDGET */
    if (pl->threads == 1) {
        for (int64_t i = 0; i < total; i++) fn(pl, a, i, ws);
        free(ws);
        return;
    }
    nn_cpu_blas_single();
#pragma omp parallel num_threads(pl->threads)
    {
        float *mine = ws + (int64_t)omp_get_thread_num() * pl->ws;
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < total; i++) fn(pl, a, i, mine);
    }
    free(ws);
}

/* ---- a kernel that covers the whole unpadded input (1x1 output) is a linear layer: the
 * frames' data is already the column matrix, so each pass is one GEMM per group with no
 * im2col. VDSM's first decoder layer (1x1 -> 4x4 transposed) is this case. */

static bool is_dense(const struct nn_conv_desc *d)
{
    return d->p == 1 && d->q == 1 && d->pad_h == 0 && d->pad_w == 0 && d->r == d->h &&
           d->s == d->w;
}

enum { PASS_FORWARD, PASS_DATA, PASS_FILTER };

static void dense_group(const struct nn_conv_desc *d, int pass, const float *a, const float *b,
                        float *out, float beta, int64_t g)
{
    int64_t n = d->n, k = d->k, crs = d->c * d->r * d->s;
    const float *w = pass == PASS_FILTER ? NULL : b + g * k * crs;
    if (pass == PASS_FORWARD) /* y [n, K] = x [n, CRS] W^T */
        sgemm(0, 1, n, k, crs, a + g * n * crs, crs, w, crs, beta, out + g * n * k, k);
    else if (pass == PASS_DATA) /* dx [n, CRS] = dy [n, K] W */
        sgemm(0, 0, n, crs, k, a + g * n * k, k, w, crs, beta, out + g * n * crs, crs);
    else /* dw [K, CRS] = dy^T x */
        sgemm(1, 0, k, crs, n, b + g * n * k, k, a + g * n * crs, crs, beta, out + g * k * crs, crs);
}

/* many small groups: one group per thread, single-threaded GEMMs; else nn_cpu_gemm_f32's slices */
static void dense_run(const struct nn_conv_desc *d, int pass, const float *a, const float *b,
                      float *out, float beta)
{
    int t = omp_get_max_threads();
    if (d->g < 2 || t < 2) {
        for (int64_t g = 0; g < d->g; g++) dense_group(d, pass, a, b, out, beta, g);
        return;
    }
    nn_cpu_blas_single();
#pragma omp parallel for num_threads(t) schedule(static)
    for (int64_t g = 0; g < d->g; g++) dense_group(d, pass, a, b, out, beta, g);
}

/* ---- stride-1 convolutions with few output channels go to the direct kernels
 * (nn/cpu/conv_direct_impl.h): there im2col + GEMM is a thin GEMM whose packing and columns
 * cost as much as its multiply-adds. From DIRECT_MAX_CH output channels the GEMM's rows
 * amortise them. */
#define DIRECT_MAX_CH 128

/* the direct kernels for this pass, or NULL: stride 1, one group, output channels (K; the
 * data pass's are C) a multiple of the tile's and at most DIRECT_MAX_CH, and for the filter
 * pass a kernel at most max_s wide */
static const struct nn_cpu_direct *direct_for(const struct nn_conv_desc *d, int pass)
{
    const struct nn_cpu_direct *k = nn_cpu_direct();
    if (!k || d->g != 1 || d->stride_h != 1 || d->stride_w != 1 || d->n < 1) return NULL;
    int64_t out = pass == PASS_DATA ? d->c : d->k;
    if (out % k->kb || out > DIRECT_MAX_CH || (pass == PASS_FILTER && d->s > k->max_s)) return NULL;
    if (pass == PASS_DATA && (d->pad_h > d->r - 1 || d->pad_w > d->s - 1)) return NULL;
    return k;
}

void nn_cpu_conv2d_forward_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                           float beta)
{
    const struct nn_cpu_direct *k;
    struct conv_plan pl;
    struct conv_args a = {x, w, y, beta, NULL, NULL, 0.0f, false};
    if (is_dense(d)) {
        dense_run(d, PASS_FORWARD, x, w, y, beta);
        return;
    }
    if ((k = direct_for(d, PASS_FORWARD))) {
        k->forward(d, x, w, y, beta);
        return;
    }
    if (plan_init(&pl, d)) run_chunks(&pl, &a, forward_chunk);
    free(pl.taps);
}

bool nn_cpu_conv2d_blurpool_forward_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y)
{
    const struct nn_cpu_direct *k = direct_for(d, PASS_FORWARD);
    return k && d->p >= 3 && d->q >= 3 && k->forward_blurpool(d, x, w, y);
}

void nn_cpu_conv2d_backward_data_f32(const struct nn_conv_desc *d, const float *dy, const float *w,
                                 float *dx, float beta)
{
    const struct nn_cpu_direct *k;
    struct conv_plan pl;
    struct conv_args a = {dy, w, dx, beta, NULL, NULL, 0.0f, false};
    if (is_dense(d)) {
        dense_run(d, PASS_DATA, dy, w, dx, beta);
        return;
    }
    if ((k = direct_for(d, PASS_DATA))) {
        k->data(d, dy, w, dx, beta);
        return;
    }
    if (plan_init(&pl, d)) run_chunks(&pl, &a, data_chunk);
    free(pl.taps);
}

/* Whether dw is (part of) w itself, as when a transposed convolution's backward reuses the
 * buffer of its weights for their gradient: then every group's dw is summed privately and
 * written only once all of that group's forward work (which reads its w) is done (but see
 * filter_run: a group of one chunk writes straight into its w). */
static bool dw_is_w(const struct conv_plan *pl, const struct conv_args *a)
{
    if (!a->forward_too) return false;
    const float *w0 = a->b, *w1 = a->b + pl->d->g * pl->kcrs, *d0 = a->fdw, *d1 = a->fdw + pl->d->g * pl->kcrs;
    return d0 < w1 && w0 < d1;
}

/* dwg = beta * dwg + acc (beta 0 overwrites) */
static void add_scaled(float *dwg, float beta, const float *acc, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dwg[i] = (beta == 0.0f ? 0.0f : beta * dwg[i]) + acc[i];
}

/* Each group's chunks run in order on one thread, accumulating into that group's dw, or into
 * acc (private to the thread) when dw is w. */
static void filter_by_group(const struct conv_plan *pl, const struct conv_args *a, float *ws, float *acc,
                            int64_t g)
{
    float *dwg = a->fdw + g * pl->kcrs;
    for (int64_t j = 0; j < pl->cpg; j++)
        filter_chunk(pl, a, g * pl->cpg + j, ws, acc ? acc : dwg, j ? 1.0f : (acc ? 0.0f : a->fbeta));
    if (acc) add_scaled(dwg, a->fbeta, acc, pl->kcrs);
}

/* Fewer groups than threads (G = 1): the threads split a group's chunks, each summing into a
 * private dw (thread 0 into the output itself, unless dw is w), then the partial sums are
 * added up. */
static void filter_split(const struct conv_plan *pl, const struct conv_args *a, float *ws,
                         float *part, int64_t g, bool alias)
{
    float *dwg = a->fdw + g * pl->kcrs;
#pragma omp parallel num_threads(pl->threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        bool direct = t == 0 && !alias;
        float *acc = direct ? dwg : part + (int64_t)(alias ? t : t - 1) * pl->kcrs;
        float b0 = direct ? a->fbeta : 0.0f;
        int64_t done = 0;
        for (int64_t j = t; j < pl->cpg; j += nt, done++)
            filter_chunk(pl, a, g * pl->cpg + j, ws + (int64_t)t * pl->ws, acc, done ? 1.0f : b0);
        if (!done && b0 == 0.0f) memset(acc, 0, (size_t)pl->kcrs * sizeof(float));
        else if (!done && b0 != 1.0f)
            for (int64_t i = 0; i < pl->kcrs; i++) acc[i] *= b0;
#pragma omp barrier
#pragma omp for schedule(static)
        for (int64_t i = 0; i < pl->kcrs; i++) {
            float sum = alias ? (a->fbeta == 0.0f ? 0.0f : a->fbeta * dwg[i]) : dwg[i];
            for (int u = alias ? 0 : 1; u < nt; u++) sum += part[(int64_t)(alias ? u : u - 1) * pl->kcrs + i];
            dwg[i] = sum;
        }
    }
}

static void filter_run(const struct conv_plan *pl, const struct conv_args *a)
{
    const struct nn_conv_desc *d = pl->d;
    bool split = pl->threads > 1 && d->g < pl->threads, alias = dw_is_w(pl, a);
    /* A group in one chunk has read its weights (the forward GEMM) before its dw GEMM runs, so
     * when dw is exactly w, that GEMM writes into them: no private sum, and no copy of it (16
     * MB of traffic per sequence at Sprites' second decoder layer). */
    bool private_acc = alias && !(pl->cpg == 1 && a->fdw == a->b);
    size_t part_n = (size_t)((split ? (alias ? pl->threads : pl->threads - 1) : private_acc ? pl->threads : 0) * pl->kcrs);
    float *ws = malloc(((size_t)(pl->ws * pl->threads) + part_n) * sizeof(float));
    if (!ws) return;
    float *part = ws + pl->ws * pl->threads;
    nn_cpu_blas_single();
    if (split) {
        for (int64_t g = 0; g < d->g; g++) filter_split(pl, a, ws, part, g, alias);
    } else if (pl->threads > 1) {
#pragma omp parallel for num_threads(pl->threads) schedule(dynamic, 1)
        for (int64_t g = 0; g < d->g; g++) {
            int t = omp_get_thread_num();
            filter_by_group(pl, a, ws + (int64_t)t * pl->ws, private_acc ? part + (int64_t)t * pl->kcrs : NULL, g);
        }
    } else {
        for (int64_t g = 0; g < d->g; g++) filter_by_group(pl, a, ws, private_acc ? part : NULL, g);
    }
    free(ws);
}

void nn_cpu_conv2d_backward_filter_f32(const struct nn_conv_desc *d, const float *x, const float *dy,
                                   float *dw, float beta)
{
    const struct nn_cpu_direct *k;
    struct conv_plan pl;
    struct conv_args a = {x, NULL, NULL, 0.0f, dy, dw, beta, false};
    if (d->n == 0) { /* no frames: dw = beta * dw */
        int64_t n = d->g * d->k * d->c * d->r * d->s;
        for (int64_t i = 0; i < n; i++) dw[i] = beta == 0.0f ? 0.0f : beta * dw[i];
        return;
    }
    if (is_dense(d)) {
        dense_run(d, PASS_FILTER, x, dy, dw, beta);
        return;
    }
    if ((k = direct_for(d, PASS_FILTER))) {
        k->filter(d, x, dy, dw, beta);
        return;
    }
    if (plan_init(&pl, d)) filter_run(&pl, &a);
    free(pl.taps);
}

/* Both passes that read x as columns, from one im2col per chunk: a transposed convolution's
 * backward (its input's gradient is this forward, its weight's gradient this filter pass).
 * dw may be w itself (see dw_is_w). */
void nn_cpu_conv2d_forward_filter_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                                  float beta_y, const float *dy, float *dw, float beta_w)
{
    /* no columns to share; the direct kernels make none (forward reads all of w before the
     * filter pass writes dw) */
    if (d->n == 0 || is_dense(d) || direct_for(d, PASS_FORWARD) || direct_for(d, PASS_FILTER)) {
        nn_cpu_conv2d_forward_f32(d, x, w, y, beta_y);
        nn_cpu_conv2d_backward_filter_f32(d, x, dy, dw, beta_w);
        return;
    }
    struct conv_plan pl;
    struct conv_args a = {x, w, y, beta_y, dy, dw, beta_w, true};
    if (plan_init(&pl, d)) filter_run(&pl, &a);
    free(pl.taps);
}

int64_t nn_cpu_conv2d_backward_filter_cols(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw,
                                           float beta, nn_cpu_cols_gemm gemm)
{
    struct conv_plan pl = {0};
    if (d->n == 0 || !plan_init(&pl, d)) {
        free(pl.taps);
        return 0;
    }
    pl.nb = d->n; /* one chunk: every frame of a group */
    int64_t npq = d->n * pl.pq, hw = d->h * d->w;
    int t = omp_get_max_threads();
    size_t floats = (size_t)((pl.crs + d->k) * npq + (pl.phased ? t * hw : 0));
    float *col = nn_cpu_alloc(floats * sizeof(float)), *dyg = col + pl.crs * npq, *ph = dyg + d->k * npq;
    int64_t g = 0;
    if (col) {
        for (; g < d->g; g++) {
            const float *xg = x + g * d->n * pl.chw, *dyf = dy + g * d->n * pl.kpq;
            /* the channels' columns split between the threads; one of them first gathers dy */
#pragma omp parallel num_threads(t)
            {
                int i = omp_get_thread_num(), nt = omp_get_num_threads();
#pragma omp single nowait
                gather_frames(&pl, dyf, d->n, dyg);
                im2col_rows(&pl, xg, d->n, d->c * i / nt, d->c * (i + 1) / nt, col, ph + (pl.phased ? i * hw : 0));
            }
            if (!gemm(d->k, pl.crs, npq, dyg, col, dw + g * pl.kcrs, beta)) break;
        }
    }
    free(col);
    free(pl.taps);
    return g;
}

/* ---- bias */

void nn_cpu_bias_add(int64_t n, int64_t c, int64_t s, float *y, const float *bias)
{
    NN_CPU_PAR_FOR(n * c * s > NN_CPU_PAR_MIN, "omp parallel for",
    for (int64_t i = 0; i < n * c; i++) {
        float b = bias[i % c], *row = y + i * s;
        for (int64_t j = 0; j < s; j++) row[j] += b;
    });
}

/* sum of a row in 16 interleaved partial sums (vectorised; one running sum waits on each add) */
static float row_sum(const float *row, int64_t s)
{
    float lane[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= s; j += 16)
        for (int l = 0; l < 16; l++) lane[l] += row[j + l];
    float part = 0.0f;
    for (; j < s; j++) part += row[j];
    for (int l = 0; l < 16; l++) part += lane[l];
    return part;
}

void nn_cpu_bias_leaky(int64_t n, int64_t c, int64_t s, float *y, const float *bias, float slope)
{
    NN_CPU_PAR_FOR(n * c * s > NN_CPU_PAR_MIN, "omp parallel for",
    for (int64_t i = 0; i < n * c; i++) {
        float b = bias ? bias[i % c] : 0.0f, *row = y + i * s;
        for (int64_t j = 0; j < s; j++) {
            float v = row[j] + b;
            row[j] = v > 0 ? v : slope * v;
        }
    });
}

/* dy *= leaky'(y) over each row (still in L1 when row_sum adds it up, as bias_backward would) */
void nn_cpu_bias_leaky_backward(int64_t n, int64_t c, int64_t s, const float *y, float *dy, float slope, float *db)
{
    NN_CPU_PAR_FOR(n * c * s > NN_CPU_PAR_MIN && c > 1, "omp parallel for",
    for (int64_t k = 0; k < c; k++) {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *yr = y + (i * c + k) * s;
            float *g = dy + (i * c + k) * s;
            for (int64_t j = 0; j < s; j++) g[j] *= yr[j] > 0 ? 1.0f : slope;
            if (db) acc += row_sum(g, s);
        }
        if (db) db[k] += (float)acc;
    });
}

void nn_cpu_bias_backward(int64_t n, int64_t c, int64_t s, const float *dy, float *db)
{
    NN_CPU_PAR_FOR(n * c * s > NN_CPU_PAR_MIN && c > 1, "omp parallel for",
    for (int64_t k = 0; k < c; k++) {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i++) acc += row_sum(dy + (i * c + k) * s, s);
        db[k] += (float)acc;
    });
}
