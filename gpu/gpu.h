/* gpu/gpu.h: the CUDA backend of nn (kernels, cuBLAS GEMMs, cuDNN convolutions).
 *
 * gpu/ fills a struct nn_backend for NN_DEV_CUDA and registers it; nothing in nn/ includes
 * this header. A program that wants CUDA calls gpu_backend_init once, then makes contexts and
 * tensors with NN_DEV_CUDA. The programs reach these functions through the plug-in's table
 * (gpu/plugin.h), so that CPU runs never map the CUDA libraries; the GPU tests call them
 * directly. Everything runs on one stream of one device; kernels are queued,
 * so errors of queued work surface at the next be->sync (or at to_host / sumsq, which wait).
 *
 * Ownership. The backend owns its handles (stream, cuBLAS, cuDNN), a cuDNN workspace and a
 * small scratch block, all made by gpu_backend_init and released by gpu_backend_free.
 * Kernels never allocate. Device memory handed out by be->alloc belongs to the caller.
 *
 * Errors. init returns NN_CUDA / NN_CUBLAS / NN_CUDNN with the library's own message in err
 * (NN_UNSUPPORTED when no device is present). A kernel that fails records the first error
 * (with the kernel's name) in the backend; be->sync returns it and clears it.
 *
 *   struct nn_err err = {0};
 *   if (gpu_backend_init(0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   nn_ctx *ctx = nn_ctx_new(&(struct nn_ctx_config){.device = NN_DEV_CUDA}, &err);
 */
#ifndef GPU_GPU_H
#define GPU_GPU_H

#include <stdio.h>

#include "nn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Math used by GEMMs and convolutions. FP32 (the default) is exact IEEE fp32 (no TF32);
 * TF32 and BF16 run the tensor cores with fp32 inputs, outputs and accumulation (BF16 GEMMs
 * round operands to bf16; convolutions use TF32 for both, cuDNN has no fp32-in bf16 mode). */
enum gpu_precision { GPU_PREC_FP32, GPU_PREC_TF32, GPU_PREC_BF16 };

/* Number of CUDA devices (0 when no driver or no device; never an error). */
int gpu_device_count(void);
/* Selects device_index, creates the handles and registers the backend. A second call with
 * the same device is a no-op; with another device it is NN_INVALID. */
nn_status gpu_backend_init(int device_index, struct nn_err *err);
void gpu_backend_free(void);
void gpu_backend_set_precision(enum gpu_precision p);
enum gpu_precision gpu_backend_precision(void);
const char *gpu_precision_name(enum gpu_precision p);
/* "NVIDIA H100 80GB HBM3, 132 SMs, 79.1 GiB, cc 9.0" (empty before init) */
const char *gpu_device_name(void);

/* Measures the device's sgemm rate (fp32, tf32, bf16), device copy bandwidth, and times the
 * kernels at VDSM's shapes with CUDA events; prints a table to out. Initialises device 0 if
 * needed. Returns 0, or -1 with a message on out. */
int gpu_bench(FILE *out);
/* GFLOP/s of one n^3 sgemm in the current precision (median of 7; < 0 on failure). */
double gpu_bench_sgemm_gflops(int n);

#ifdef __cplusplus
}
#endif

#endif
