/* vdsm/bench/bench.h: timing VDSM training steps at a spec's shapes, and counting their FLOPs.
 *
 * vdsm_bench_run builds the network from a spec with random weights, feeds synthetic batches of
 * the spec's shape (no dataset), and runs warm-up plus N SVI steps per stage with the trainer's
 * model/guide functions, optimizer and ELBO settings. It prints, per stage, the median seconds
 * per step, the memory (step arena peak, persistent parameter/gradient/Adam state, the timed
 * steps' resident peak and the one before them), the FLOPs per step from vdsm_flops_step, the
 * achieved rate beside the sgemm rate measured in the same run, and the OpenBLAS kernel.
 *
 * FLOP counting (vdsm_flops_step): a static estimate from the shapes, multiply-add = 2 FLOPs.
 * A convolution counts 2*Cin*Cout*k*k per output pixel, a transposed convolution per INPUT
 * pixel (the issue's convention); the expert blend is the GEMM [B, E] x [E, P]; the LSTMs count
 * their gate GEMMs. Two totals are given:
 *   - `issue`: every component x3 (backward = 2x forward), stage 1 at seq_len frames (pair mode
 *     ignored): the convention of issue 5 (about 148 / 169 GFLOP Sprites, 336 / 388 MUG);
 *   - `work`: what a step does here: stage 1 at its real frame count (2 x seq_len in pair mode),
 *     frozen parts of stage 2 without their weight gradients (the frame encoder runs forward
 *     only; the decoder still needs its data and blended-weight gradients since the identity
 *     layers train; the blend GEMM needs only d/dw). The achieved rate uses `work`.
 * Elementwise ops, BlurPool, softmax and the ELBO are not counted (memory-bound, < 1%).
 *
 * Errors: a status and a message in err; output goes to `out`.
 *
 *   struct vdsm_bench_opts o = {.stages = 3, .steps = 3, .warmup = 1};
 *   if (vdsm_bench_run(&spec, &o, stdout, &err)) fprintf(stderr, "%s\n", err.msg);
 */
#ifndef VDSM_BENCH_BENCH_H
#define VDSM_BENCH_BENCH_H

#include <stdbool.h>
#include <stdio.h>

#include "nn/status.h"
#include "vdsm/spec/spec.h"

struct vdsm_flops {
    double enc, dec, blend, lstm;   /* forward FLOPs of each part, at the real frame count */
    double work;                    /* FLOPs per step as run here (forward + backward) */
    double issue;                   /* the issue's convention (see above) */
};

/* FLOPs of one SVI step of `stage` (1 or 2) at batch b (0: the spec's). */
void vdsm_flops_step(const struct vdsm_spec *spec, int stage, int b, struct vdsm_flops *out);

struct vdsm_bench_opts {
    unsigned stages;    /* bits: 1 stage 1, 2 stage 2 */
    int steps;          /* timed steps per stage */
    int warmup;         /* untimed steps before them */
    int batch;          /* 0: the spec's batch_size */
    const char *precision;  /* GPU GEMM/conv math: NULL or "fp32" (default), "tf32", "bf16" */
    bool profile;       /* per-op times of the timed steps (nn/profile.h) */
    bool no_site_reads; /* diagnostic: per-site term reads and validation off (the trainer has them on) */
};

/* "SkylakeX (OPENBLAS_CORETYPE=SkylakeX)", or with "set by vdsm; OpenBLAS chose Prescott"
 * when vdsm_use_native_blas (vdsm/cli/commands.h) replaced OpenBLAS's generic fallback: the
 * kernel line every CPU figure carries. */
const char *vdsm_bench_blas_kernel(char *buf, size_t n);

nn_status vdsm_bench_run(const struct vdsm_spec *spec, const struct vdsm_bench_opts *o, FILE *out, struct nn_err *err);

#endif
