/* Convolution benchmark at VDSM's shapes (see nn/bench.h). Times the CPU kernels directly,
 * so the figures are the kernels' own, without autograd bookkeeping. The machine may be
 * shared, so each case is also compared with an sgemm (1024^3, best of 5) timed just before
 * and just after it (the larger of the two): "%ref" is the fraction of that rate, a ratio
 * taken under the same load. For a transposed
 * convolution, "fwd" is conv2d_backward_data, "bwd-in" conv2d_forward and "bwd-w"
 * conv2d_backward_filter of the descriptor whose x is the op's output. */
#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "nn/backend.h"
#include "nn/bench.h"
#include "nn/blas.h"
#include "nn/cpu/cpu.h"
#include "nn/cpu/onednn.h"


const struct nn_bench_conv_case nn_bench_conv_cases[] = {
    {"enc1 conv 3->32 @64", 0, 0, 3, 32, 64, 1, 1},
    {"enc2 conv 32->32 @32", 0, 0, 32, 32, 32, 1, 1},
    {"enc3 conv 32->64 @16", 0, 0, 32, 64, 16, 1, 1},
    {"enc4 conv 64->64 @8", 0, 0, 64, 64, 8, 1, 1},
    {"enc5 conv 64->256 @4", 0, 0, 64, 256, 4, 1, 0},
    {"dec1 convT 45->512 @1", 1, 0, 45, 512, 1, 1, 0},
    {"dec1 convT 70->512 @1", 1, 0, 70, 512, 1, 1, 0},
    {"dec2 convT 512->256 @4", 1, 0, 512, 256, 4, 2, 1},
    {"dec3 convT 256->128 @8", 1, 0, 256, 128, 8, 2, 1},
    {"dec4 convT 128->64 @16", 1, 0, 128, 64, 16, 2, 1},
    {"dec5 convT 64->3 @32", 1, 0, 64, 3, 32, 2, 1},
    {"moe1 grouped 45->512 @1", 1, 1, 45, 512, 1, 1, 0},
    {"moe2 grouped 512->256 @4", 1, 1, 512, 256, 4, 2, 1},
    {"moe3 grouped 256->128 @8", 1, 1, 256, 128, 8, 2, 1},
    {"moe4 grouped 128->64 @16", 1, 1, 128, 64, 16, 2, 1},
    {"moe5 grouped 64->3 @32", 1, 1, 64, 3, 32, 2, 1},
};
const int nn_bench_conv_ncases = (int)(sizeof nn_bench_conv_cases / sizeof nn_bench_conv_cases[0]);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* kernel 4x4 throughout, as in VDSM */
struct nn_conv_desc nn_bench_conv_describe(const struct nn_bench_conv_case *c)
{
    int64_t g = c->grouped ? NN_BENCH_SEQS : 1, r = 4;
    struct nn_conv_desc d = {.g = g, .n = NN_BENCH_FRAMES / g, .r = r, .s = r, .stride_h = c->stride,
                             .stride_w = c->stride, .pad_h = c->pad, .pad_w = c->pad};
    if (c->transposed) { /* the convolution whose input is the op's output */
        int64_t ho = (c->in_hw - 1) * c->stride - 2 * c->pad + r;
        d.k = c->in_ch, d.c = c->out_ch, d.h = d.w = ho, d.p = d.q = c->in_hw;
    } else {
        d.c = c->in_ch, d.k = c->out_ch, d.h = d.w = c->in_hw;
        d.p = d.q = (c->in_hw + 2 * c->pad - r) / c->stride + 1;
    }
    return d;
}

struct buffers {
    float *x, *w, *y; /* descriptor roles: x [G*N, C, H, W], w [G, K, C, R, S], y [G*N, K, P, Q] */
};

/* How a pass is computed: the backend's fp32 kernels, oneDNN's fp32 primitives, or the backend
 * in bf16 (oneDNN's bf16 primitives where the CPU has bf16 instructions, else the emulation) */
enum engine { NATIVE, ONEDNN_F32, BF16, ENGINES };

/* pass 0: conv2d_forward, 1: backward_data, 2: backward_filter; false if the engine has no
 * implementation */
static bool run_pass(const struct nn_conv_desc *d, struct buffers *b, int pass, enum engine e)
{
    if (e == ONEDNN_F32) {
        if (pass == 0) return nn_onednn_conv(NN_CONV_FORWARD, d, false, b->x, b->w, b->y, 0.0f) == d->g;
        if (pass == 1) return nn_onednn_conv(NN_CONV_BACKWARD_DATA, d, false, b->y, b->w, b->x, 0.0f) == d->g;
        return nn_onednn_conv(NN_CONV_BACKWARD_FILTER, d, false, b->x, b->y, b->w, 0.0f) == d->g;
    }
    if (e == BF16) nn_cpu_set_precision(NN_PREC_BF16, NULL);
    if (pass == 0) nn_cpu_conv2d_forward(d, b->x, b->w, b->y, 0.0f);
    else if (pass == 1) nn_cpu_conv2d_backward_data(d, b->y, b->w, b->x, 0.0f);
    else nn_cpu_conv2d_backward_filter(d, b->x, b->y, b->w, 0.0f);
    nn_cpu_set_precision(NN_PREC_FP32, NULL);
    return true;
}

/* seconds per call: the best of at least 3 runs after a warm-up (best, like the sgemm
 * reference, so that other load on a shared machine does not count against the kernel);
 * -1 if the engine has no implementation */
static double time_pass(const struct nn_conv_desc *d, struct buffers *b, int pass, enum engine e)
{
    if (!run_pass(d, b, pass, e)) return -1;
    double best = 1e30, start = now();
    for (int reps = 0; reps < 3 || now() - start < 0.25; reps++) {
        double t0 = now();
        run_pass(d, b, pass, e);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

static float *alloc_filled(int64_t n)
{
    float *p = malloc((size_t)n * sizeof(float));
    if (p)
        for (int64_t i = 0; i < n; i++) p[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    return p;
}

/* times one case; adds its flops and seconds to the totals. -1 if out of memory */
static int bench_case(FILE *out, const struct nn_bench_conv_case *c, double *flops, double *secs,
                      double *ref_secs, double *secs_e, double *flops_e)
{
    struct nn_conv_desc d = nn_bench_conv_describe(c);
    struct buffers b = {alloc_filled(d.g * d.n * d.c * d.h * d.w), alloc_filled(d.g * d.k * d.c * d.r * d.s),
                        alloc_filled(d.g * d.n * d.k * d.p * d.q)};
    int rc = (b.x && b.w && b.y) ? 0 : -1;
    if (!rc) {
        double f = 2.0 * (double)(d.g * d.n) * (double)(d.k * d.c * d.r * d.s) * (double)(d.p * d.q);
        double t[ENGINES][3], ref = nn_bench_sgemm_gflops(1024);
        /* report in the op's order: forward, gradient of its input, gradient of its weight */
        for (int e = 0; e < ENGINES; e++) {
            t[e][0] = time_pass(&d, &b, c->transposed ? 1 : 0, (enum engine)e);
            t[e][1] = time_pass(&d, &b, c->transposed ? 0 : 1, (enum engine)e);
            t[e][2] = time_pass(&d, &b, 2, (enum engine)e);
        }
        double after = nn_bench_sgemm_gflops(1024);
        if (after > ref) ref = after;
        double total = t[NATIVE][0] + t[NATIVE][1] + t[NATIVE][2], rate = 3 * f / total * 1e-9;
        fprintf(out, "%-26s %7.1f %7.1f %7.1f %7.1f %7.1f %5.0f%% %8.1f", c->name, f / t[NATIVE][0] * 1e-9,
                f / t[NATIVE][1] * 1e-9, f / t[NATIVE][2] * 1e-9, rate, ref, 100 * rate / ref, total * 1e3);
        for (int e = ONEDNN_F32; e < ENGINES; e++) {
            bool ok = t[e][0] > 0 && t[e][1] > 0 && t[e][2] > 0;
            double te = t[e][0] + t[e][1] + t[e][2];
            if (ok) fprintf(out, " %9.1f", 3 * f / te * 1e-9);
            else fprintf(out, " %9s", "-");
            if (ok) secs_e[e] += te, flops_e[e] += 3 * f;
        }
        fputc('\n', out);
        *flops += 3 * f;
        *secs += total;
        *ref_secs += 3 * f / (ref * 1e9); /* the same flops at the reference rate */
    }
    free(b.x);
    free(b.w);
    free(b.y);
    return rc;
}

int nn_bench_conv_ops(FILE *out)
{
    fprintf(out, "conv ops: %d OpenMP threads (OpenBLAS on one each), OpenBLAS core %s, %d frames (%d x %d), kernel 4x4\n",
            omp_get_max_threads(), nn_blas_kernel(), NN_BENCH_FRAMES, NN_BENCH_SEQS,
            NN_BENCH_FRAMES / NN_BENCH_SEQS);
    fprintf(out, "%s\n", nn_bench_onednn());
    fprintf(out, "fwd .. ms f+b: vdsm's fp32 kernels; onednn-f32: oneDNN's fp32 primitives, f+b; bf16: the backend "
                 "in bf16, f+b\n");
    fprintf(out, "%-26s %7s %7s %7s %7s %7s %6s %8s %9s %9s\n", "case (GFLOP/s)", "fwd", "bwd-in", "bwd-w",
            "f+b", "ref", "%ref", "ms f+b", "onednn-32", "bf16");
    int rc = 0;
    double flops[3] = {0}, secs[3] = {0}, ref_secs[3] = {0}, secs_e[3][ENGINES] = {{0}}, flops_e[3][ENGINES] = {{0}};
    for (int i = 0; i < nn_bench_conv_ncases; i++) {
        const struct nn_bench_conv_case *c = &nn_bench_conv_cases[i];
        int grp = c->grouped ? 2 : c->transposed;
        if (bench_case(out, c, &flops[grp], &secs[grp], &ref_secs[grp], secs_e[grp], flops_e[grp])) rc = -1;
    }
    const char *names[3] = {"encoder conv2d", "decoder conv_transpose2d", "decoder grouped"};
    for (int g = 0; g < 3; g++)
        if (secs[g] > 0) {
            fprintf(out, "all %-22s %31.1f %7.1f %5.0f%% %8.1f", names[g], flops[g] / secs[g] * 1e-9,
                    flops[g] / ref_secs[g] * 1e-9, 100 * ref_secs[g] / secs[g], secs[g] * 1e3);
            for (int e = ONEDNN_F32; e < ENGINES; e++)
                if (secs_e[g][e] > 0) fprintf(out, " %9.1f", flops_e[g][e] / secs_e[g][e] * 1e-9);
                else fprintf(out, " %9s", "-");
            fputc('\n', out);
        }
    return rc;
}
