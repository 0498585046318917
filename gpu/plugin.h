/* gpu/plugin.h: the CUDA backend as a plug-in, opened only when a program asks for CUDA.
 *
 * The backend (gpu/gpu.h) links cudart, cuBLAS, cuBLASLt and cuDNN. Mapped into a process,
 * those libraries cost it 130-160 MiB of resident memory before it does anything, CPU runs
 * included. So the programs do not link the backend: CMake builds it as the module
 * libvdsm_gpu.so beside them, and gpu_plugin() opens it the first time it is called.
 *
 *   struct nn_err err = {0};
 *   const struct gpu_api *gpu = gpu_plugin(&err);
 *   if (!gpu || gpu->backend_init(0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *
 * Where it looks: $VDSM_GPU_PLUGIN (a path) if set, else libvdsm_gpu.so in the directory of
 * the running executable. A program that links the backend itself (the GPU tests do) gets that
 * copy, so there is one backend state per process. The module takes nn's functions from the
 * executable, which exports them (ENABLE_EXPORTS); it has no nn of its own, so the backend it
 * registers is in the executable's registry.
 *
 * The first result, found or not, is kept: later calls return the same table or the same
 * error. Not thread-safe before the first call returns. */
#ifndef GPU_PLUGIN_H
#define GPU_PLUGIN_H

#include <stddef.h>
#include <stdio.h>

#include "gpu/gpu.h"
#include "nn/status.h"

/* Raised whenever struct gpu_api changes, so that a module from another build is refused. */
#define GPU_API_VERSION 1

/* gpu/gpu.h's functions, as the module exports them (the table is named gpu_plugin_api). */
struct gpu_api {
    int version;  /* GPU_API_VERSION of the module's build */
    size_t size;  /* sizeof(struct gpu_api) there */
    int (*device_count)(void);
    nn_status (*backend_init)(int device_index, struct nn_err *err);
    void (*set_precision)(enum gpu_precision p);
    enum gpu_precision (*precision)(void);
    const char *(*precision_name)(enum gpu_precision p);
    const char *(*device_name)(void);
    int (*bench)(FILE *out);
    double (*bench_sgemm_gflops)(int n);
};

/* The backend's table, or NULL with err set: NN_UNSUPPORTED when this build has no CUDA
 * backend, NN_IO when the module is missing or does not load (dlerror's words). */
const struct gpu_api *gpu_plugin(struct nn_err *err);
/* The module's path once loaded ("built in" when linked into the program); NULL before. */
const char *gpu_plugin_path(void);

#endif
