/* nn/bench.h: micro-benchmarks of the nn kernels, called by `vdsm bench --ops`.
 *
 * Each function times one family of kernels at VDSM's shapes on the CPU backend, with the
 * OpenMP thread count currently set (OpenBLAS runs on one thread: nn/cpu/gemm.c), and prints
 * one line per case to `out`. They return 0, or -1 when a buffer could not be allocated
 * (nothing is printed for that case).
 *
 *   omp_set_num_threads(2);
 *   nn_bench_conv_ops(stdout);
 */
#ifndef NN_BENCH_H
#define NN_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "nn/backend.h"

/* conv2d forward / backward-data / backward-filter, conv_transpose2d and the grouped
 * conv_transpose2d at VDSM's encoder and decoder shapes (20 sequences x 8 frames), in GFLOP/s
 * (2*N*K*C*R*S*P*Q per pass), beside a square sgemm's rate on the same threads. */
int nn_bench_conv_ops(FILE *out);

/* VDSM's convolution shapes, shared by the CPU and GPU benchmarks: 20 sequences x 8 frames,
 * kernel 4x4; grouped cases have one weight set per sequence. */
#define NN_BENCH_SEQS 20
#define NN_BENCH_FRAMES 160
struct nn_bench_conv_case {
    const char *name;
    int transposed, grouped;
    int64_t in_ch, out_ch, in_hw, stride, pad;
};
extern const struct nn_bench_conv_case nn_bench_conv_cases[];
extern const int nn_bench_conv_ncases;
/* The convolution descriptor a case runs (for a transposed case, the convolution whose
 * backward-data is the op's forward). */
struct nn_conv_desc nn_bench_conv_describe(const struct nn_bench_conv_case *c);

/* sgemm GFLOP/s for n x n x n (best of 5) on the current threads; -1 if out of memory */
double nn_bench_sgemm_gflops(int n);
/* the CPU backend's GEMM in bf16 at n x n x n, GFLOP/s (best of 5): the reference rate of bf16
 * steps, as sgemm's is of fp32 ones; -1 if out of memory */
double nn_bench_bf16_gflops(int n);
/* "oneDNN 2.6.3 dispatches to AVX2; bf16 emulated (...)" */
const char *nn_bench_onednn(void);

/* copy, add and tanh over 256 MiB operands, in GB/s, with their ratio to the copy rate */
int nn_bench_elementwise(FILE *out);

/* torch.nn.LSTM-equivalent forward and backward (autograd included) at VDSM's shapes: 3 layers
 * x 512, bidirectional, 20 sequences of 8 and 20 steps, input 30 or 512, in GFLOP/s of the
 * GEMMs (see nn/bench/lstm_bench.c for the count). */
int nn_bench_lstm(FILE *out);

#endif
