/* gpu_bench: the device's measured ceilings (sgemm rate per precision, device copy bandwidth)
 * and the kernels at VDSM's shapes (20 sequences x 8 frames), timed with CUDA events on the
 * backend's stream after a warm-up; each figure is the median of several timed repeats.
 * Inputs are uniform random (never zeros, which can run faster than real data). */
#include <stdlib.h>
#include <string.h>

#include "gpu/internal.h"
#include "nn/bench.h"

#define FRAMES NN_BENCH_FRAMES
#define SEQS NN_BENCH_SEQS
#define REPEATS 7

struct bench_ctx {
    cudaEvent_t t0, t1;
    FILE *out;
    int failed;
};

typedef void (*bench_fn)(void *arg);

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* median milliseconds of one call of fn (calls per repeat sized to last ~2 ms) */
static double time_ms(struct bench_ctx *b, bench_fn fn, void *arg)
{
    float ms[REPEATS], first = 0;
    fn(arg); /* warm-up: module load, cuDNN algorithm choice, handle work */
    cudaEventRecord(b->t0, gpu__st.stream);
    fn(arg);
    cudaEventRecord(b->t1, gpu__st.stream);
    cudaEventSynchronize(b->t1);
    cudaEventElapsedTime(&first, b->t0, b->t1);
    int calls = first > 0 && first < 2.0f ? (int)(2.0f / first) + 1 : 1;
    if (calls > 200) calls = 200;
    for (int r = 0; r < REPEATS; r++) {
        cudaEventRecord(b->t0, gpu__st.stream);
        for (int c = 0; c < calls; c++) fn(arg);
        cudaEventRecord(b->t1, gpu__st.stream);
        cudaEventSynchronize(b->t1);
        cudaEventElapsedTime(&ms[r], b->t0, b->t1);
        ms[r] /= (float)calls;
    }
    struct nn_err err = {0};
    const struct nn_backend *be = nn_backend_get(NN_DEV_CUDA);
    if (be->sync(&err)) {
        fprintf(b->out, "  error: %s\n", err.msg);
        b->failed = 1;
        return -1;
    }
    qsort(ms, REPEATS, sizeof ms[0], cmp_float);
    return ms[REPEATS / 2];
}

static float *dev_random(size_t n, uint64_t seed)
{
    float *p = NULL;
    if (cudaMalloc((void **)&p, (n ? n : 1) * sizeof(float)) != cudaSuccess) return NULL;
    gpu_rng_uniform(n, seed, 0, p);
    return p;
}

/* ---- GEMM and copy ceilings */

struct gemm_arg { int64_t m, n, k, batch, stride_b; float *a, *b, *c; };

static void run_gemm(void *p)
{
    struct gemm_arg *g = p;
    gpu_gemm(0, 0, g->m, g->n, g->k, 1.0f, g->a, g->k, g->m * g->k, g->b, g->n, g->stride_b,
             0.0f, g->c, g->n, g->m * g->n, g->batch);
}

struct copy_arg { void *dst, *src; size_t bytes; };

static void run_copy(void *p)
{
    struct copy_arg *c = p;
    cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, gpu__st.stream);
}

static void bench_ceilings(struct bench_ctx *b)
{
    const int64_t n = 8192;
    struct gemm_arg g = {n, n, n, 1, 0, dev_random((size_t)(n * n), 1), dev_random((size_t)(n * n), 2),
                         dev_random((size_t)(n * n), 3)};
    if (g.a && g.b && g.c) {
        enum gpu_precision keep = gpu__st.precision;
        for (int p = GPU_PREC_FP32; p <= GPU_PREC_BF16; p++) {
            gpu_backend_set_precision((enum gpu_precision)p);
            double ms = time_ms(b, run_gemm, &g);
            fprintf(b->out, "sgemm %lldx%lldx%lld %-4s          %9.3f ms %9.1f TFLOP/s\n",
                    (long long)n, (long long)n, (long long)n, gpu_precision_name((enum gpu_precision)p),
                    ms, 2.0 * n * n * n / (ms * 1e-3) / 1e12);
        }
        gpu_backend_set_precision(keep);
    }
    cudaFree(g.a);
    cudaFree(g.b);
    cudaFree(g.c);
    struct copy_arg c = {NULL, NULL, (size_t)1 << 30};
    if (cudaMalloc(&c.dst, c.bytes) == cudaSuccess && cudaMalloc(&c.src, c.bytes) == cudaSuccess) {
        cudaMemsetAsync(c.src, 1, c.bytes, gpu__st.stream);
        double ms = time_ms(b, run_copy, &c);
        fprintf(b->out, "device copy 1 GiB (read + write)  %9.3f ms %9.1f GB/s\n", ms,
                2.0 * (double)c.bytes / (ms * 1e-3) / 1e9);
    }
    cudaFree(c.dst);
    cudaFree(c.src);
}

/* ---- convolutions at VDSM's shapes (as nn/bench/conv_bench.c) */

struct conv_arg { struct nn_conv_desc d; int pass; float *x, *w, *y; };

static void run_conv(void *p)
{
    struct conv_arg *a = p;
    if (a->pass == 0) gpu_conv2d_forward(&a->d, a->x, a->w, a->y, 0.0f);
    else if (a->pass == 1) gpu_conv2d_backward_data(&a->d, a->y, a->w, a->x, 0.0f);
    else gpu_conv2d_backward_filter(&a->d, a->x, a->y, a->w, 0.0f);
}

static void bench_convs(struct bench_ctx *b, int only_grouped, const char *label)
{
    /* for a transposed conv the op's forward is backward-data of its descriptor */
    static const char *pass_name[2][3] = {{"fwd", "bwd-in", "bwd-w"}, {"bwd-in", "fwd", "bwd-w"}};
    fprintf(b->out, "\nconvolutions, %d frames (%s%s)             ms    GFLOP/s\n", FRAMES,
            gpu_precision_name(gpu__st.precision), label);
    for (int i = 0; i < nn_bench_conv_ncases; i++) {
        const struct nn_bench_conv_case *cc = &nn_bench_conv_cases[i];
        if (only_grouped && !cc->grouped) continue;
        struct conv_arg a = {.d = nn_bench_conv_describe(cc)};
        const struct nn_conv_desc *d = &a.d;
        a.x = dev_random((size_t)(d->g * d->n * d->c * d->h * d->w), 10 + i);
        a.w = dev_random((size_t)(d->g * d->k * d->c * d->r * d->s), 20 + i);
        a.y = dev_random((size_t)(d->g * d->n * d->k * d->p * d->q), 30 + i);
        double flop = 2.0 * (double)(d->g * d->n * d->k * d->c * d->r * d->s * d->p * d->q);
        for (int pass = 0; a.x && a.w && a.y && pass < 3; pass++) {
            a.pass = pass;
            double ms = time_ms(b, run_conv, &a);
            fprintf(b->out, "  %-26s %-7s %9.4f %10.1f\n", cc->name, pass_name[cc->transposed][pass],
                    ms, flop / (ms * 1e-3) / 1e9);
        }
        cudaFree(a.x);
        cudaFree(a.w);
        cudaFree(a.y);
    }
}

/* ---- LSTM step, expert blend, BlurPool, Adam */

struct lstm_arg { int64_t b, in, h; float *x, *wih, *hprev, *whh, *gates, *cprev, *c, *hout, *dg; int pass; };

static void run_lstm(void *p)
{
    struct lstm_arg *l = p;
    if (l->pass == 0) { /* gates = x W_ih^T + h W_hh^T, then the cell */
        gpu_gemm(0, 1, l->b, 4 * l->h, l->in, 1.0f, l->x, l->in, 0, l->wih, l->in, 0, 0.0f, l->gates, 4 * l->h, 0, 1);
        gpu_gemm(0, 1, l->b, 4 * l->h, l->h, 1.0f, l->hprev, l->h, 0, l->whh, l->h, 0, 1.0f, l->gates, 4 * l->h, 0, 1);
        gpu_lstm_cell_forward(l->b, l->h, l->gates, l->cprev, l->c, l->hout);
    } else {
        gpu_lstm_cell_backward(l->b, l->h, l->gates, l->cprev, l->c, l->hout, l->c, l->dg, l->cprev);
        gpu_gemm(0, 0, l->b, l->h, 4 * l->h, 1.0f, l->dg, 4 * l->h, 0, l->whh, l->h, 0, 0.0f, l->hprev, l->h, 0, 1);
        gpu_gemm(1, 0, 4 * l->h, l->h, l->b, 1.0f, l->dg, 4 * l->h, 0, l->hprev, l->h, 0, 1.0f, l->whh, l->h, 0, 1);
    }
}

struct blur_arg { int64_t planes, hw; float *x, *y; int pass; };

static void run_blur(void *p)
{
    struct blur_arg *a = p;
    if (a->pass == 0) gpu_blurpool_forward(a->planes, a->hw, a->hw, a->x, a->y);
    else gpu_blurpool_backward(a->planes, a->hw, a->hw, a->y, a->x, 0.0f);
}

struct adam_arg { size_t n; float *p, *g, *m, *v; struct nn_adam_hparams hp; };

static void run_adam(void *p)
{
    struct adam_arg *a = p;
    gpu_adam_step(a->n, a->p, a->g, a->m, a->v, &a->hp, a->hp.lr, 0.1f, 0.001f);
}

static void bench_misc(struct bench_ctx *b)
{
    fprintf(b->out, "\nother kernels (%s)                         ms    rate\n", gpu_precision_name(gpu__st.precision));
    /* LSTM over per-frame pose z: 20 sequences, input 512, hidden 256 (one time step) */
    struct lstm_arg l = {.b = SEQS, .in = 512, .h = 256};
    l.x = dev_random((size_t)(l.b * l.in), 40);
    l.wih = dev_random((size_t)(4 * l.h * l.in), 41);
    l.hprev = dev_random((size_t)(l.b * l.h), 42);
    l.whh = dev_random((size_t)(4 * l.h * l.h), 43);
    l.gates = dev_random((size_t)(l.b * 4 * l.h), 44);
    l.cprev = dev_random((size_t)(l.b * l.h), 45);
    l.c = dev_random((size_t)(l.b * l.h), 46);
    l.hout = dev_random((size_t)(l.b * l.h), 47);
    l.dg = dev_random((size_t)(l.b * 4 * l.h), 48);
    double flop = 2.0 * l.b * 4 * l.h * (l.in + l.h);
    for (int pass = 0; pass < 2 && l.x && l.wih && l.hprev && l.whh && l.gates && l.cprev && l.c && l.hout && l.dg; pass++) {
        l.pass = pass;
        double ms = time_ms(b, run_lstm, &l);
        fprintf(b->out, "  lstm step B20 in512 H256 %-8s %9.4f %8.1f GFLOP/s\n", pass ? "bwd" : "fwd", ms,
                flop / (ms * 1e-3) / 1e9);
    }
    float *lp[] = {l.x, l.wih, l.hprev, l.whh, l.gates, l.cprev, l.c, l.hout, l.dg};
    for (size_t i = 0; i < sizeof lp / sizeof lp[0]; i++) cudaFree(lp[i]);

    /* expert blend: [B, E] x [E, P] mixture weights times every expert's decoder weights */
    struct gemm_arg g = {SEQS, 3200000, 15, 1, 0, NULL, NULL, NULL};
    g.a = dev_random((size_t)(g.m * g.k), 50);
    g.b = dev_random((size_t)(g.k * g.n), 51);
    g.c = dev_random((size_t)(g.m * g.n), 52);
    if (g.a && g.b && g.c) {
        double ms = time_ms(b, run_gemm, &g);
        double bytes = 4.0 * (double)(g.k * g.n + g.m * g.n);
        fprintf(b->out, "  expert blend [20,15]x[15,3.2M]  %9.4f %8.1f GB/s\n", ms, bytes / (ms * 1e-3) / 1e9);
    }
    cudaFree(g.a);
    cudaFree(g.b);
    cudaFree(g.c);

    /* BlurPool after the first encoder conv: 160 frames x 64 channels at 64x64 */
    struct blur_arg bl = {.planes = FRAMES * 64, .hw = 64};
    bl.x = dev_random((size_t)(bl.planes * 64 * 64), 60);
    bl.y = dev_random((size_t)(bl.planes * 32 * 32), 61);
    for (int pass = 0; pass < 2 && bl.x && bl.y; pass++) {
        bl.pass = pass;
        double ms = time_ms(b, run_blur, &bl);
        double bytes = 4.0 * (double)bl.planes * (64 * 64 * (pass ? 2 : 1) + 32 * 32);
        fprintf(b->out, "  blurpool 160x64x64x64 %-11s %9.4f %8.1f GB/s\n", pass ? "bwd" : "fwd", ms,
                bytes / (ms * 1e-3) / 1e9);
    }
    cudaFree(bl.x);
    cudaFree(bl.y);

    /* Adam over 134 M parameters (Sprites stage 1): reads p, g, m, v, writes p, m, v */
    struct adam_arg a = {134000000, NULL, NULL, NULL, NULL, {5e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, 10.0f}};
    a.p = dev_random(a.n, 70);
    a.g = dev_random(a.n, 71);
    a.m = dev_random(a.n, 72);
    a.v = dev_random(a.n, 73);
    if (a.p && a.g && a.m && a.v) {
        double ms = time_ms(b, run_adam, &a);
        fprintf(b->out, "  adam 134M params               %9.4f %8.1f GB/s\n", ms,
                7.0 * 4.0 * (double)a.n / (ms * 1e-3) / 1e9);
    }
    cudaFree(a.p);
    cudaFree(a.g);
    cudaFree(a.m);
    cudaFree(a.v);
}

double gpu_bench_sgemm_gflops(int n)
{
    struct nn_err err = {0};
    if (gpu_backend_init(gpu__st.ready ? gpu__st.device : 0, &err)) return -1;
    struct bench_ctx b = {.out = stderr};
    if (cudaEventCreate(&b.t0) != cudaSuccess || cudaEventCreate(&b.t1) != cudaSuccess) return -1;
    struct gemm_arg g = {n, n, n, 1, 0, dev_random((size_t)n * (size_t)n, 1), dev_random((size_t)n * (size_t)n, 2),
                         dev_random((size_t)n * (size_t)n, 3)};
    double ms = g.a && g.b && g.c ? time_ms(&b, run_gemm, &g) : -1;
    cudaFree(g.a);
    cudaFree(g.b);
    cudaFree(g.c);
    cudaEventDestroy(b.t0);
    cudaEventDestroy(b.t1);
    return ms > 0 ? 2.0 * n * n * (double)n / (ms * 1e-3) / 1e9 : -1;
}

int gpu_bench(FILE *out)
{
    struct nn_err err = {0};
    if (gpu_backend_init(gpu__st.ready ? gpu__st.device : 0, &err)) {
        fprintf(out, "gpu bench: %s\n", err.msg);
        return -1;
    }
    struct bench_ctx b = {.out = out};
    if (cudaEventCreate(&b.t0) != cudaSuccess || cudaEventCreate(&b.t1) != cudaSuccess) {
        fprintf(out, "gpu bench: cannot create CUDA events\n");
        return -1;
    }
    fprintf(out, "device: %s\n", gpu__st.name);
    bench_ceilings(&b);
    bench_convs(&b, 0, "");
    gpu__conv_set_group_loop(1); /* the per-group calls the grouped path replaces */
    bench_convs(&b, 1, ", one cuDNN call per weight group");
    gpu__conv_set_group_loop(0);
    bench_misc(&b);
    if (gpu__st.precision == GPU_PREC_FP32) { /* the tensor-core paths, for comparison */
        gpu_backend_set_precision(GPU_PREC_TF32);
        bench_convs(&b, 0, "");
        gpu_backend_set_precision(GPU_PREC_FP32);
    }
    cudaEventDestroy(b.t0);
    cudaEventDestroy(b.t1);
    return b.failed ? -1 : 0;
}
