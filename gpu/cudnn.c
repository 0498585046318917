/* Every cuDNN call of the project: the handle, and convolution forward / backward data /
 * backward filter for struct nn_conv_desc (kept in one file so that a move to cuDNN's graph
 * API touches one place).
 *
 * Weight groups (G > 1: frames g*N .. g*N+N-1 use weight g) run as G calls on offset pointers;
 * nn's [G*N, C, H, W] layout cannot be folded into cuDNN's channel groups.
 *
 * Descriptors and algorithm choices are cached per geometry and precision. Algorithms come
 * from cuDNN's heuristics (no trial runs, no allocation), in its order of preference, skipping
 * those that need more than the workspace made at init; an algorithm that refuses the
 * geometry (NOT_SUPPORTED) at run time is dropped for the next one. FP32 sets CUDNN_FMA_MATH
 * so that no TF32 tensor-core path can be picked; TF32 / BF16 allow tensor-op math. */
#include <cudnn.h>
#include <string.h>

#include "gpu/internal.h"

#define CACHE_SIZE 64
#define MAX_ALGOS 8

enum { DIR_FWD, DIR_BWD_DATA, DIR_BWD_FILTER, DIR_COUNT };

struct conv_entry {
    int used;
    int grouped;             /* one grouped call over [N, G*C, H, W]; else per-group calls */
    struct nn_conv_desc key; /* g ignored unless grouped */
    size_t ws_bytes;         /* workspace left to cuDNN after the transposed copies */
    enum gpu_precision precision;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    int algo[DIR_COUNT][MAX_ALGOS];
    int nalgo[DIR_COUNT];   /* -1: not queried yet */
    int cur[DIR_COUNT];     /* index of the algorithm in use */
};

static struct conv_entry cache[CACHE_SIZE];
static int cache_next;
static int group_loop; /* force per-group calls (benchmark comparison) */

void gpu__conv_set_group_loop(int on)
{
    group_loop = on;
}

static const char *dir_name[DIR_COUNT] = {"conv2d_forward", "conv2d_backward_data",
                                          "conv2d_backward_filter"};

nn_status gpu__cudnn_init(struct nn_err *err)
{
    cudnnHandle_t h;
    cudnnStatus_t s = cudnnCreate(&h);
    if (s == CUDNN_STATUS_SUCCESS) {
        gpu__st.cudnn = h;
        s = cudnnSetStream(h, gpu__st.stream);
    }
    if (s != CUDNN_STATUS_SUCCESS)
        return nn_err_set(err, NN_CUDNN, "gpu: cuDNN set-up: %s", cudnnGetErrorString(s));
    return NN_OK;
}

static void entry_free(struct conv_entry *e)
{
    if (!e->used) return;
    cudnnDestroyTensorDescriptor(e->xd);
    cudnnDestroyTensorDescriptor(e->yd);
    cudnnDestroyFilterDescriptor(e->wd);
    cudnnDestroyConvolutionDescriptor(e->cd);
    memset(e, 0, sizeof *e);
}

void gpu__conv_cache_clear(void)
{
    for (int i = 0; i < CACHE_SIZE; i++) entry_free(&cache[i]);
    cache_next = 0;
}

void gpu__cudnn_free(void)
{
    gpu__conv_cache_clear();
    if (gpu__st.cudnn) cudnnDestroy((cudnnHandle_t)gpu__st.cudnn);
    gpu__st.cudnn = NULL;
}

static int same_key(const struct nn_conv_desc *a, const struct nn_conv_desc *b, int grouped)
{
    return (!grouped || a->g == b->g) && a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k &&
           a->r == b->r && a->s == b->s && a->p == b->p && a->q == b->q &&
           a->stride_h == b->stride_h && a->stride_w == b->stride_w && a->pad_h == b->pad_h &&
           a->pad_w == b->pad_w;
}

static void describe(const struct nn_conv_desc *d, const char *op, cudnnStatus_t s)
{
    gpu__fail(NN_CUDNN, "%s: x (%lld,%lld,%lld,%lld) w (%lld,%lld,%lld,%lld,%lld) stride %lld pad %lld -> (%lld,%lld): %s",
              op, (long long)(d->g * d->n), (long long)d->c, (long long)d->h, (long long)d->w,
              (long long)d->g, (long long)d->k, (long long)d->c, (long long)d->r, (long long)d->s,
              (long long)d->stride_h, (long long)d->pad_h, (long long)d->p, (long long)d->q,
              cudnnGetErrorString(s));
}

/* floats of the two transposed copies (x role, y role) a grouped call needs */
static size_t group_copy_floats(const struct nn_conv_desc *d)
{
    return (size_t)(d->g * d->n * (d->c * d->h * d->w + d->k * d->p * d->q));
}

static cudnnStatus_t entry_init(struct conv_entry *e, const struct nn_conv_desc *d, int grouped)
{
    cudnnStatus_t s;
    e->used = 1; /* so that entry_free releases what was made, even on failure */
    e->grouped = grouped;
    e->key = *d;
    e->ws_bytes = GPU_CONV_WORKSPACE;
    if (grouped) /* copies first, 256-byte aligned; cuDNN gets the rest */
        e->ws_bytes -= (group_copy_floats(d) * sizeof(float) + 1024) / 256 * 256;
    int64_t gc = grouped ? d->g : 1;
    e->precision = gpu__st.precision;
    for (int i = 0; i < DIR_COUNT; i++) e->nalgo[i] = -1;
    if ((s = cudnnCreateTensorDescriptor(&e->xd)) || (s = cudnnCreateTensorDescriptor(&e->yd)) ||
        (s = cudnnCreateFilterDescriptor(&e->wd)) || (s = cudnnCreateConvolutionDescriptor(&e->cd)))
        return s;
    cudnnMathType_t math = gpu__st.precision == GPU_PREC_FP32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
    if ((s = cudnnSetTensor4dDescriptor(e->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)d->n,
                                        (int)(gc * d->c), (int)d->h, (int)d->w)) ||
        (s = cudnnSetTensor4dDescriptor(e->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)d->n,
                                        (int)(gc * d->k), (int)d->p, (int)d->q)) ||
        (s = cudnnSetFilter4dDescriptor(e->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                        (int)(gc * d->k), (int)d->c, (int)d->r, (int)d->s)) ||
        (s = cudnnSetConvolution2dDescriptor(e->cd, (int)d->pad_h, (int)d->pad_w, (int)d->stride_h,
                                             (int)d->stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT)) ||
        (s = cudnnSetConvolutionMathType(e->cd, math)) ||
        (s = cudnnSetConvolutionGroupCount(e->cd, (int)gc)))
        return s;
    int n, c, h, w; /* the geometry must be what cuDNN derives, else it computes something else */
    if ((s = cudnnGetConvolution2dForwardOutputDim(e->cd, e->xd, e->wd, &n, &c, &h, &w))) return s;
    if (h != d->p || w != d->q) return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

static struct conv_entry *lookup(const struct nn_conv_desc *d, int grouped, const char *op)
{
    for (int i = 0; i < CACHE_SIZE; i++)
        if (cache[i].used && cache[i].grouped == grouped && cache[i].precision == gpu__st.precision &&
            same_key(&cache[i].key, d, grouped))
            return &cache[i];
    struct conv_entry *e = &cache[cache_next];
    cache_next = (cache_next + 1) % CACHE_SIZE;
    entry_free(e);
    cudnnStatus_t s = entry_init(e, d, grouped);
    if (s != CUDNN_STATUS_SUCCESS) {
        describe(d, op, s);
        entry_free(e);
        return NULL;
    }
    return e;
}

/* heuristic candidates that fit the workspace, best first */
static cudnnStatus_t query_algos(struct conv_entry *e, int dir)
{
    cudnnHandle_t h = (cudnnHandle_t)gpu__st.cudnn;
    int got = 0, n = 0;
    cudnnStatus_t s;
    if (dir == DIR_FWD) {
        cudnnConvolutionFwdAlgoPerf_t p[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        s = cudnnGetConvolutionForwardAlgorithm_v7(h, e->xd, e->wd, e->cd, e->yd,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, p);
        for (int i = 0; !s && i < got && n < MAX_ALGOS; i++)
            if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= e->ws_bytes)
                e->algo[dir][n++] = (int)p[i].algo;
    } else if (dir == DIR_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t p[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        s = cudnnGetConvolutionBackwardDataAlgorithm_v7(h, e->wd, e->yd, e->cd, e->xd,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, p);
        for (int i = 0; !s && i < got && n < MAX_ALGOS; i++)
            if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= e->ws_bytes)
                e->algo[dir][n++] = (int)p[i].algo;
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        s = cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, e->xd, e->yd, e->cd, e->wd,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, p);
        for (int i = 0; !s && i < got && n < MAX_ALGOS; i++)
            if (p[i].status == CUDNN_STATUS_SUCCESS && p[i].memory <= e->ws_bytes)
                e->algo[dir][n++] = (int)p[i].algo;
    }
    if (s) return s;
    e->nalgo[dir] = n;
    e->cur[dir] = 0;
    return n ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;
}

/* One group's pass with algorithm algo. a, b: inputs; o: output (in the direction's roles). */
static cudnnStatus_t run_one(struct conv_entry *e, int dir, int algo, const float *a,
                             const float *b, float *o, float beta)
{
    cudnnHandle_t h = (cudnnHandle_t)gpu__st.cudnn;
    const float one = 1.0f;
    size_t wsz = e->ws_bytes;
    void *ws = (char *)gpu__st.conv_ws + (GPU_CONV_WORKSPACE - wsz);
    switch (dir) {
    case DIR_FWD: /* a = x, b = w, o = y */
        return cudnnConvolutionForward(h, &one, e->xd, a, e->wd, b, e->cd,
                                       (cudnnConvolutionFwdAlgo_t)algo, ws, wsz, &beta, e->yd, o);
    case DIR_BWD_DATA: /* a = dy, b = w, o = dx */
        return cudnnConvolutionBackwardData(h, &one, e->wd, b, e->yd, a, e->cd,
                                            (cudnnConvolutionBwdDataAlgo_t)algo, ws, wsz, &beta,
                                            e->xd, o);
    default: /* a = x, b = dy, o = dw */
        return cudnnConvolutionBackwardFilter(h, &one, e->xd, a, e->yd, b, e->cd,
                                              (cudnnConvolutionBwdFilterAlgo_t)algo, ws, wsz,
                                              &beta, e->wd, o);
    }
}

/* Tries the cached algorithms in order until one accepts the geometry. */
static cudnnStatus_t run_algos(struct conv_entry *e, int dir, const float *a, const float *b,
                               float *o, float beta)
{
    cudnnStatus_t s = CUDNN_STATUS_NOT_SUPPORTED;
    while (e->cur[dir] < e->nalgo[dir]) {
        s = run_one(e, dir, e->algo[dir][e->cur[dir]], a, b, o, beta);
        if (s != CUDNN_STATUS_NOT_SUPPORTED) break;
        e->cur[dir]++; /* refused before any work was queued: try the next one */
    }
    return s;
}

/* [G, N, F] <-> [N, G, F] (to_ng: the first to the second) */
static void regroup(float *dst, const float *src, int64_t g, int64_t n, int64_t f, int to_ng)
{
    if (to_ng) {
        const int64_t shape[3] = {n, g, f}, ds[3] = {g * f, f, 1}, ss[3] = {f, n * f, 1};
        gpu_copy_strided(3, shape, dst, ds, src, ss);
    } else {
        const int64_t shape[3] = {g, n, f}, ds[3] = {n * f, f, 1}, ss[3] = {f, g * f, 1};
        gpu_copy_strided(3, shape, dst, ds, src, ss);
    }
}

/* One grouped call: the direction's inputs ([G, N, ...] activations) are regrouped into the
 * workspace, the activation output is computed there and regrouped back into `out`
 * (the filter gradient needs no regrouping). */
static void run_grouped(struct conv_entry *e, const struct nn_conv_desc *d, int dir,
                        const float *x, const float *w_or_dy, float *out, float beta)
{
    int64_t fx = d->c * d->h * d->w, fy = d->k * d->p * d->q;
    float *tx = (float *)gpu__st.conv_ws, *ty = tx + d->g * d->n * fx;
    cudnnStatus_t s;
    if (dir == DIR_FWD) { /* x, w -> y */
        regroup(tx, x, d->g, d->n, fx, 1);
        if (beta != 0.0f) regroup(ty, out, d->g, d->n, fy, 1);
        if ((s = run_algos(e, dir, tx, w_or_dy, ty, beta))) goto fail;
        regroup(out, ty, d->g, d->n, fy, 0);
    } else if (dir == DIR_BWD_DATA) { /* dy (in x), w -> dx */
        regroup(ty, x, d->g, d->n, fy, 1);
        if (beta != 0.0f) regroup(tx, out, d->g, d->n, fx, 1);
        if ((s = run_algos(e, dir, ty, w_or_dy, tx, beta))) goto fail;
        regroup(out, tx, d->g, d->n, fx, 0);
    } else { /* x, dy -> dw, already in cuDNN's grouped layout */
        regroup(tx, x, d->g, d->n, fx, 1);
        regroup(ty, w_or_dy, d->g, d->n, fy, 1);
        if ((s = run_algos(e, dir, tx, ty, out, beta))) goto fail;
    }
    return;
fail:
    describe(d, dir_name[dir], s);
}

/* Runs the G groups: one grouped call when the copies fit, else G calls on offset pointers
 * (a/b/o advance by their per-group sizes). */
static void run(const struct nn_conv_desc *d, int dir, const float *a, int64_t a_step,
                const float *b, int64_t b_step, float *o, int64_t o_step, float beta)
{
    if (d->g <= 0 || d->n <= 0) return;
    int grouped = d->g > 1 && !group_loop &&
                  group_copy_floats(d) * sizeof(float) <= GPU_CONV_WORKSPACE / 2;
    struct conv_entry *e = lookup(d, grouped, dir_name[dir]);
    if (!e) return;
    cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
    if (e->nalgo[dir] < 0 && (s = query_algos(e, dir))) {
        describe(d, dir_name[dir], s);
        return;
    }
    if (grouped) {
        run_grouped(e, d, dir, a, b, o, beta);
        return;
    }
    for (int64_t g = 0; g < d->g; g++)
        if ((s = run_algos(e, dir, a + g * a_step, b + g * b_step, o + g * o_step, beta))) {
            describe(d, dir_name[dir], s);
            return;
        }
}

void gpu_conv2d_forward(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                        float beta)
{
    run(d, DIR_FWD, x, d->n * d->c * d->h * d->w, w, d->k * d->c * d->r * d->s, y,
        d->n * d->k * d->p * d->q, beta);
}

void gpu_conv2d_backward_data(const struct nn_conv_desc *d, const float *dy, const float *w,
                              float *dx, float beta)
{
    run(d, DIR_BWD_DATA, dy, d->n * d->k * d->p * d->q, w, d->k * d->c * d->r * d->s, dx,
        d->n * d->c * d->h * d->w, beta);
}

void gpu_conv2d_backward_filter(const struct nn_conv_desc *d, const float *x, const float *dy,
                                float *dw, float beta)
{
    run(d, DIR_BWD_FILTER, x, d->n * d->c * d->h * d->w, dy, d->n * d->k * d->p * d->q, dw,
        d->k * d->c * d->r * d->s, beta);
}

/* cuDNN has no fused form: the two passes, each with its own algorithm */
void gpu_conv2d_forward_filter(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                               float beta_y, const float *dy, float *dw, float beta_w)
{
    gpu_conv2d_forward(d, x, w, y, beta_y);
    gpu_conv2d_backward_filter(d, x, dy, dw, beta_w);
}
