/* nn/tensor.h: float32 tensors, the per-step context, and the autograd tape.
 *
 * Tensors are float32, row-major, up to NN_MAX_DIMS dimensions, laid out as PyTorch lays them
 * out (NCHW images, [T, B, F] / [B, T, F] sequences) so fixtures compare element by element.
 * A tensor header holds shape, strides (in elements; 0 for an expanded dimension) and a data
 * pointer; views share their source's data.
 *
 * Ownership. Intermediates belong to an nn_ctx: header, data and gradient come from the
 * context's arenas and all vanish at nn_ctx_step_reset (no per-tensor free in user code).
 * Persistent tensors (parameters, optimizer state, data that outlives a step) are made with
 * nn_tensor_new and freed with nn_tensor_free; a parameter's gradient is persistent too.
 *
 * Errors. An op given bad input returns NULL and records a sticky status and message on the
 * context (first error wins); an op given a NULL input returns NULL. Check once per block:
 *   struct nn_tensor *h = nn_relu(ctx, nn_linear(ctx, x, w, b));
 *   if (!h) return nn_ctx_status(ctx);
 *
 * Autograd. Every op whose inputs require grad records a node on the context's tape (unless
 * grad is disabled); nn_backward(ctx, loss) walks the tape in reverse and accumulates into
 * .grad of every tensor that requires grad. An op may be recorded any number of times in a
 * step (recurrences).
 */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/arena.h"
#include "nn/backend.h"
#include "nn/status.h"

#define NN_MAX_DIMS 6

typedef struct nn_ctx nn_ctx;
struct nn_node;

struct nn_tensor {                /* a new field needs its initial value in header(), nn/tensor.c */
    float *data;                  /* first element, on `device` */
    float *grad;                  /* contiguous, same shape; NULL until a gradient reaches it */
    int64_t shape[NN_MAX_DIMS];
    int64_t stride[NN_MAX_DIMS];  /* elements; 0 on expanded dimensions */
    int ndim;
    uint8_t device;               /* enum nn_device */
    bool requires_grad;
    bool persistent;              /* heap-owned (nn_tensor_new), not in an arena */
    bool grad_recycled;           /* grad came from ctx->recycle (backward): freed after node */
    bool grad_shared;             /* grad is its base's (a whole-tensor view, see nn_node) */
    bool grad_zero;               /* grad is logically zero, its contents stale: set by
                                   * nn_tensor_zero_grad_lazy, cleared by the next write
                                   * (read it through nn_tensor_grad_to_host, not .grad) */
    struct nn_node *node;         /* op that produced it this step; NULL for leaves */
    const char *name;             /* optional, for messages (parameter name) */
};

/* One recorded op. Saved values live in the step arena. */
struct nn_node {
    struct nn_node *prev;
    const char *op;
    void (*backward)(nn_ctx *ctx, struct nn_node *n);
    struct nn_tensor *out;
    struct nn_tensor *in[4];
    int nin;
    void *saved;                  /* op-specific, arena-allocated */
    bool alias_grad;              /* out is all of in[0] in the same layout (a reshape): its
                                   * gradient is in[0]'s buffer and the backward adds nothing */
    bool out_unread;              /* backward never reads out->data: an in-place op may
                                   * overwrite out (nn_leaky_relu_) */
    float f[2];                   /* op-specific scalars and integers */
    int64_t i[6];
};

struct nn_ctx_config {
    size_t data_capacity;         /* bytes of step memory (device); default 8 GiB */
    size_t meta_capacity;         /* bytes of headers/nodes (host); default 256 MiB */
    size_t scratch_bytes;         /* see nn_ctx.scratch_bytes; 0: the device's default */
    enum nn_device device;        /* where this context's intermediates live */
};

struct nn_profile;

struct nn_ctx {
    struct nn_err err;
    const struct nn_backend *be;
    enum nn_device device;
    struct nn_arena data;         /* tensor data, gradients of intermediates */
    struct nn_arena meta;         /* headers, nodes, saved op state (host) */
    struct nn_node *tape;         /* last recorded node */
    size_t tape_len;
    int no_grad;                  /* > 0: ops record nothing */
    /* During backward, step memory is recycled (nn/arena.h): an intermediate's gradient is
     * freed once its node's backward has run, and whatever a node's backward allocates
     * besides gradients is freed when it returns. */
    struct nn_recycler recycle;
    bool in_backward;
    bool backward_ran;            /* this step: intermediates may hold gradients */
    size_t scratch_bytes;         /* ops that work in chunks keep their scratch near this
                                   * (128 MiB on the CPU, 512 MiB on a GPU) */
    struct nn_profile *prof;      /* NULL, or per-op times (nn/profile.h) */
};

/* ---- context */
nn_ctx *nn_ctx_new(const struct nn_ctx_config *cfg, struct nn_err *err); /* cfg may be NULL */
void nn_ctx_free(nn_ctx *ctx);
/* Forget the step: every intermediate tensor, gradient of an intermediate, and the tape. */
void nn_ctx_step_reset(nn_ctx *ctx);
/* Between workloads of different shapes (e.g. training stages): the backend frees the plans and
 * buffers its kernels cached for the shapes seen so far (nothing the context's tensors hold). */
void nn_ctx_release_workspaces(nn_ctx *ctx);
nn_status nn_ctx_status(const nn_ctx *ctx);
const char *nn_ctx_message(const nn_ctx *ctx);
void nn_ctx_clear_error(nn_ctx *ctx);
nn_status nn_ctx_fail(nn_ctx *ctx, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nn_no_grad_enter(nn_ctx *ctx);
void nn_no_grad_exit(nn_ctx *ctx);
bool nn_grad_enabled(const nn_ctx *ctx);
void *nn_ctx_alloc_meta(nn_ctx *ctx, size_t bytes);   /* host, lives for the step */
void *nn_ctx_alloc_data(nn_ctx *ctx, size_t bytes);   /* device, lives for the step */

/* ---- tensors */
int64_t nn_numel(const struct nn_tensor *t);
bool nn_is_contiguous(const struct nn_tensor *t);
bool nn_same_shape(const struct nn_tensor *a, const struct nn_tensor *b);
/* "(2,3,4)" into buf; returns buf */
const char *nn_shape_str(const struct nn_tensor *t, char *buf, size_t len);
void nn_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* Step tensors (in the context's arenas), contents uninitialised / zero / copied from host. */
struct nn_tensor *nn_empty(nn_ctx *ctx, int ndim, const int64_t *shape);
struct nn_tensor *nn_zeros(nn_ctx *ctx, int ndim, const int64_t *shape);
struct nn_tensor *nn_full(nn_ctx *ctx, int ndim, const int64_t *shape, float v);
struct nn_tensor *nn_from_host(nn_ctx *ctx, int ndim, const int64_t *shape, const float *src);
struct nn_tensor *nn_scalar(nn_ctx *ctx, float v);
/* Wraps existing device memory (not copied, not owned) as a step tensor. */
struct nn_tensor *nn_wrap(nn_ctx *ctx, int ndim, const int64_t *shape, float *data);
#define NN_SHAPE(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
/* nn_empty_v(ctx, 2, 3) etc.: shape as arguments */
#define nn_empty_v(ctx, ...) nn__empty_v(ctx, NN_SHAPE(__VA_ARGS__))
#define nn_zeros_v(ctx, ...) nn__zeros_v(ctx, NN_SHAPE(__VA_ARGS__))
struct nn_tensor *nn__empty_v(nn_ctx *ctx, const int64_t *shape, int ndim);
struct nn_tensor *nn__zeros_v(nn_ctx *ctx, const int64_t *shape, int ndim);

/* Persistent tensors (heap). requires_grad allocates a persistent zeroed gradient. */
struct nn_tensor *nn_tensor_new(enum nn_device dev, int ndim, const int64_t *shape,
                                bool requires_grad, struct nn_err *err);
void nn_tensor_free(struct nn_tensor *t);
void nn_tensor_zero_grad(struct nn_tensor *t);
/* The same, lazily: marks the gradient zero without touching it, and the next op to write
 * it overwrites rather than adds (no pass over the buffer). Until an op writes it, .grad
 * holds stale values: read it through nn_tensor_grad_to_host. For a training loop whose
 * next writer is backward; code that writes .grad by hand uses nn_tensor_zero_grad. */
void nn_tensor_zero_grad_lazy(struct nn_tensor *t);
/* true when every value of a contiguous tensor is finite (one sum-of-squares pass) */
bool nn_tensor_all_finite(const struct nn_tensor *t);
/* Freezing and unfreezing a persistent tensor: requires_grad off and its gradient buffer
 * freed, or requires_grad on with a zeroed gradient (allocated if absent). */
void nn_tensor_freeze(struct nn_tensor *t);
nn_status nn_tensor_unfreeze(struct nn_tensor *t, struct nn_err *err);
/* host <-> tensor copies (contiguous tensors); n must equal numel */
nn_status nn_tensor_to_host(const struct nn_tensor *t, float *dst, struct nn_err *err);
nn_status nn_tensor_from_host(struct nn_tensor *t, const float *src, struct nn_err *err);
nn_status nn_tensor_grad_to_host(const struct nn_tensor *t, float *dst, struct nn_err *err);
/* Copies a persistent or step tensor's values to another device (a new persistent tensor). */
struct nn_tensor *nn_tensor_to_device(const struct nn_tensor *t, enum nn_device dev,
                                      struct nn_err *err);
/* Reads one element of a (small) tensor to the host, e.g. a scalar loss. */
float nn_item(nn_ctx *ctx, const struct nn_tensor *t);

/* ---- autograd */
/* Accumulates d(loss)/d(x) into .grad of every tensor on the tape that requires grad.
 * loss must be a one-element tensor; its gradient is seeded with `seed` (1 for a loss). */
nn_status nn_backward(nn_ctx *ctx, struct nn_tensor *loss);
nn_status nn_backward_seed(nn_ctx *ctx, struct nn_tensor *loss, float seed);

#endif
