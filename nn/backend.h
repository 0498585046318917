/* nn/backend.h: the interface between autograd ops and the devices that compute them.
 *
 * A backend is a table of kernels (generated from nn/kernels.def) plus memory functions.
 * nn/cpu/ fills one table; gpu/ fills another and registers it with nn_backend_register;
 * nothing in nn/ includes gpu/. Ops call ctx->be->kernel(...), never a device API directly.
 *
 *   const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
 *   be->fill(ptr, n, 0.0f);
 */
#ifndef NN_BACKEND_H
#define NN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

enum nn_device { NN_DEV_CPU = 0, NN_DEV_CUDA = 1, NN_DEV_COUNT };

enum nn_binop { NN_BIN_ADD, NN_BIN_SUB, NN_BIN_MUL, NN_BIN_DIV, NN_BIN_MAX, NN_BIN_MIN };

enum nn_unop {
    NN_UN_NEG, NN_UN_RELU, NN_UN_LEAKY_RELU, NN_UN_TANH, NN_UN_SIGMOID, NN_UN_SOFTPLUS,
    NN_UN_EXP, NN_UN_LOG, NN_UN_LOG1P, NN_UN_SQRT, NN_UN_SQUARE, NN_UN_ABS, NN_UN_ADD_SCALAR,
    NN_UN_MUL_SCALAR, NN_UN_POW_SCALAR, NN_UN_LGAMMA, NN_UN_DIGAMMA, NN_UN_RECIPROCAL,
    NN_UN_CLAMP_MIN, NN_UN_CLAMP_MAX, NN_UN_EXPM1, NN_UN_LOG_SIGMOID,
    NN_UN_GE_SCALAR,    /* x >= alpha ? 1 : 0 (no gradient) */
    NN_UN_COUNT
};

/* y = f(a, b, c); see nn/kernels.def */
enum nn_ternop {
    NN_TER_ADDCMUL,         /* a + b * c */
    NN_TER_NORMAL_LOG_PROB, /* log N(a; mean b, std c) = -((a - b) / c)^2 / 2 - log c - log(2 pi) / 2 */
    NN_TER_BERNOULLI_LOGITS /* c (a b - softplus(b)): log Bernoulli(a; logits b), weighted by c */
};

enum nn_reduceop { NN_RED_SUM, NN_RED_MAX };

/* A 2-D convolution. x [G*N, C, H, W]; w [G, K, C, R, S] (G weight groups along the batch:
 * frames G*N..G*N+N-1 use weight g; G = 1 is an ordinary convolution); y [G*N, K, P, Q]. */
struct nn_conv_desc {
    int64_t g, n, c, h, w; /* input */
    int64_t k, r, s;       /* output channels, kernel height/width */
    int64_t p, q;          /* output height/width */
    int64_t stride_h, stride_w, pad_h, pad_w;
};

/* The math of GEMMs and convolutions (nn_backend.set_precision). fp32: exact fp32, the default.
 * tf32 (CUDA only): tensor-core TF32 inputs, fp32 accumulation. bf16: inputs rounded to
 * bfloat16, products accumulated and outputs kept in fp32 (on the CPU, memory-bound products
 * with two sides of at most 64 and convolutions with a side under 16 channels or a 1x1 image
 * stay fp32: nn/cpu/precision.c). Everything else (elementwise ops,
 * reductions, optimizer state) stays fp32 whatever the setting. */
enum nn_precision { NN_PREC_FP32, NN_PREC_TF32, NN_PREC_BF16, NN_PREC_COUNT };

/* "fp32", "tf32", "bf16" */
const char *nn_precision_name(enum nn_precision p);
/* the precision named s, or -1 */
int nn_precision_parse(const char *s);

struct nn_adam_hparams {
    float lr, beta1, beta2, eps, weight_decay;
    float clip;  /* > 0: clamp each gradient element to [-clip, clip] first (ClippedAdam) */
};

struct nn_backend {
    const char *name;
    enum nn_device device;
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    /* Optional (NULL where the device has no such thing): address space committed page by page
     * when first written, its release, and giving pages back; the step arena then reserves its
     * capacity whole (nn/arena.h). */
    void *(*reserve)(size_t bytes);
    void (*unreserve)(void *p, size_t bytes);
    void (*decommit)(void *p, size_t bytes);
    void (*to_host)(void *dst, const void *src, size_t bytes);
    void (*from_host)(void *dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*memzero)(void *p, size_t bytes);
    nn_status (*sync)(struct nn_err *err); /* waits for queued work; reports async errors */
    /* Optional: conv2d_forward (beta 0) and blurpool_forward as one kernel, y [N, K, Ho, Wo];
     * false (nothing written) for a convolution it has no such kernel for, or no memory for,
     * which the op then runs as the two kernels over chunks of frames (nn_conv2d_blurpool) */
    /* Sets the precision of the GEMM and convolution kernels for the whole process;
     * NN_UNSUPPORTED, with a message saying what the device offers, for one it cannot do. */
    nn_status (*set_precision)(enum nn_precision p, struct nn_err *err);
    enum nn_precision (*precision)(void);
    /* How the device does the current precision, one line: "bf16 on AMX (oneDNN 2.6.3)" */
    const char *(*precision_detail)(void);
    bool (*conv2d_blurpool_forward)(const struct nn_conv_desc *d, const float *x, const float *w, float *y);
    /* Optional: frees what the kernels keep between calls for the shapes seen so far (cached
     * plans, their buffers); the next call rebuilds what it needs. For a change of workload,
     * such as the next training stage, so that the last one's buffers do not stay resident. */
    void (*release_workspaces)(void);
    /* Optional: the n floats at p are an operand of the GEMMs that follow (p itself or a part of
     * it) and stay unchanged until gemm_unhold(p), so a kernel may convert them once (to bf16)
     * for all of those GEMMs rather than in each. Up to 4 at a time; an op holds an operand it
     * multiplies many times, such as an LSTM's recurrent weights across its time steps. */
    void (*gemm_hold)(const float *p, size_t n);
    void (*gemm_unhold)(const float *p);
#define NN_KERNEL(name, params) void(*name) params;
#include "nn/kernels.def"
#undef NN_KERNEL
};

const struct nn_backend *nn_backend_get(enum nn_device dev); /* NULL if not registered */
void nn_backend_register(const struct nn_backend *be);
/* Number of empty kernel slots (a complete backend has 0); names the first in *first. */
int nn_backend_missing(const struct nn_backend *be, const char **first);

#endif
