/* The CUDA backend's table, memory functions and set-up, and the module's
 * export (gpu_plugin_api, gpu/plugin.h).
 *
 * All work goes to one non-blocking stream, so it is ordered without host waits; the host
 * waits only where the interface promises a value on the host (to_host, sumsq, sync).
 * Host-to-device copies from pageable memory return once the source has been staged, so a
 * caller may free its buffer at once.
 */
#include <cublas_v2.h>
#include <stdio.h>
#include <string.h>

#include "gpu/internal.h"
#include "gpu/plugin.h"

static void *gpu_alloc(size_t bytes)
{
    void *p = NULL;
    /* cudaMalloc aligns to 256 bytes, more than any kernel here needs */
    if (!gpu__cuda_ok(cudaMalloc(&p, bytes ? bytes : 4), "cudaMalloc")) return NULL;
    return p;
}

static void gpu_free(void *p)
{
    if (p) gpu__cuda_ok(cudaFree(p), "cudaFree");
}

static void gpu_to_host(void *dst, const void *src, size_t bytes)
{
    if (!bytes) return;
    if (gpu__cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, gpu__st.stream),
                     "to_host"))
        gpu__cuda_ok(cudaStreamSynchronize(gpu__st.stream), "to_host (sync)");
}

static void gpu_from_host(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        gpu__cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, gpu__st.stream),
                     "from_host");
}

static void gpu_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        gpu__cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, gpu__st.stream),
                     "copy");
}

static void gpu_memzero(void *p, size_t bytes)
{
    if (bytes) gpu__cuda_ok(cudaMemsetAsync(p, 0, bytes, gpu__st.stream), "memzero");
}

static nn_status gpu_sync(struct nn_err *err)
{
    gpu__cuda_ok(cudaStreamSynchronize(gpu__st.stream), "sync");
    gpu__cuda_ok(cudaGetLastError(), "sync");
    nn_status s = gpu__st.err.code;
    if (s != NN_OK) {
        if (err) nn_err_set(err, s, "%s", gpu__st.err.msg);
        nn_err_clear(&gpu__st.err);
    }
    return s;
}

/* nn_backend's precision slots: the three precisions are the GPU's own (the enums agree) */
static nn_status gpu_set_precision(enum nn_precision p, struct nn_err *err)
{
    if ((unsigned)p >= NN_PREC_COUNT) return nn_err_set(err, NN_INVALID, "gpu: unknown precision %d", (int)p);
    gpu_backend_set_precision((enum gpu_precision)p);
    return NN_OK;
}

static enum nn_precision gpu_get_precision(void) { return (enum nn_precision)gpu__st.precision; }

static const char *gpu_precision_detail(void)
{
    static const char *what[] = {"fp32 (cuBLAS and cuDNN in exact fp32)", "tf32 on tensor cores, fp32 accumulation",
                                 "bf16 on tensor cores, fp32 accumulation"};
    return what[gpu__st.precision];
}

_Static_assert((int)GPU_PREC_FP32 == (int)NN_PREC_FP32 && (int)GPU_PREC_TF32 == (int)NN_PREC_TF32 &&
                   (int)GPU_PREC_BF16 == (int)NN_PREC_BF16,
               "gpu_precision and nn_precision agree");

static const struct nn_backend gpu_table = {
    .name = "cuda",
    .device = NN_DEV_CUDA,
    .alloc = gpu_alloc,
    .free = gpu_free,
    .to_host = gpu_to_host,
    .from_host = gpu_from_host,
    .copy = gpu_copy,
    .memzero = gpu_memzero,
    .sync = gpu_sync,
    .set_precision = gpu_set_precision,
    .precision = gpu_get_precision,
    .precision_detail = gpu_precision_detail,
#define NN_KERNEL(name, params) .name = gpu_##name,
#include "nn/kernels.def"
#undef NN_KERNEL
};

int gpu_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* "no driver" is an answer here, not a sticky error */
        return 0;
    }
    return n;
}

static nn_status init_cuda(int device_index, struct nn_err *err)
{
    struct cudaDeviceProp prop;
    cudaError_t e = cudaSetDevice(device_index);
    if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device_index);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&gpu__st.stream, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaMalloc((void **)&gpu__st.scratch, 64);
    if (e == cudaSuccess) e = cudaMalloc(&gpu__st.conv_ws, GPU_CONV_WORKSPACE);
    if (e != cudaSuccess)
        return nn_err_set(err, NN_CUDA, "gpu: device %d: %s", device_index, cudaGetErrorString(e));
    gpu__st.sm_count = prop.multiProcessorCount;
    snprintf(gpu__st.name, sizeof gpu__st.name, "%.100s, %d SMs, %.1f GiB, cc %d.%d", prop.name,
             prop.multiProcessorCount, (double)prop.totalGlobalMem / (1 << 30), prop.major,
             prop.minor);
    return NN_OK;
}

static nn_status init_cublas(struct nn_err *err)
{
    cublasHandle_t h;
    cublasStatus_t s = cublasCreate(&h);
    if (s == CUBLAS_STATUS_SUCCESS) {
        gpu__st.cublas = h;
        s = cublasSetStream(h, gpu__st.stream);
    }
    /* exact fp32 unless asked otherwise: precision is chosen per call (gpu/gemm.c) */
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    if (s != CUBLAS_STATUS_SUCCESS)
        return nn_err_set(err, NN_CUBLAS, "gpu: cuBLAS set-up: %s", cublasGetStatusString(s));
    return NN_OK;
}

nn_status gpu__cudnn_init(struct nn_err *err); /* gpu/cudnn.c */

nn_status gpu_backend_init(int device_index, struct nn_err *err)
{
    if (gpu__st.ready)
        return gpu__st.device == device_index
                   ? NN_OK
                   : nn_err_set(err, NN_INVALID, "gpu: already initialised on device %d",
                                gpu__st.device);
    int n = gpu_device_count();
    if (n == 0) return nn_err_set(err, NN_UNSUPPORTED, "gpu: no CUDA device present");
    if (device_index < 0 || device_index >= n)
        return nn_err_set(err, NN_INVALID, "gpu: device %d requested, %d present", device_index, n);
    nn_status s = init_cuda(device_index, err);
    if (!s) s = init_cublas(err);
    if (!s) s = gpu__cudnn_init(err);
    if (s) {
        gpu_backend_free();
        return s;
    }
    gpu__st.device = device_index;
    gpu__st.ready = 1;
    nn_backend_register(&gpu_table);
    return NN_OK;
}

void gpu_backend_free(void)
{
    if (gpu__st.stream) cudaStreamSynchronize(gpu__st.stream);
    gpu__cudnn_free();
    if (gpu__st.cublas) cublasDestroy((cublasHandle_t)gpu__st.cublas);
    cudaFree(gpu__st.conv_ws);
    cudaFree(gpu__st.scratch);
    if (gpu__st.stream) cudaStreamDestroy(gpu__st.stream);
    memset(&gpu__st, 0, sizeof gpu__st);
}

void gpu_backend_set_precision(enum gpu_precision p)
{
    if (p != gpu__st.precision) gpu__conv_cache_clear(); /* cached algorithms depend on it */
    gpu__st.precision = p;
}

enum gpu_precision gpu_backend_precision(void) { return gpu__st.precision; }

const char *gpu_precision_name(enum gpu_precision p)
{
    return p == GPU_PREC_TF32 ? "tf32" : p == GPU_PREC_BF16 ? "bf16" : "fp32";
}

const char *gpu_device_name(void) { return gpu__st.name; }

const struct gpu_api gpu_plugin_api = {
    .version = GPU_API_VERSION,
    .size = sizeof(struct gpu_api),
    .device_count = gpu_device_count,
    .backend_init = gpu_backend_init,
    .set_precision = gpu_backend_set_precision,
    .precision = gpu_backend_precision,
    .precision_name = gpu_precision_name,
    .device_name = gpu_device_name,
    .bench = gpu_bench,
    .bench_sgemm_gflops = gpu_bench_sgemm_gflops,
};
