/* nn/internal.h: helpers for writing ops (nn/ops/, gpu/). Not part of the public API.
 *
 * An op: check inputs (NULL in, or an error already recorded: return NULL), check shapes
 * (nn_ctx_fail naming the op and the shapes, return NULL), allocate the output, call kernels,
 * then nn__record a node whose backward accumulates into nn__grad(ctx, input).
 */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include "nn/tensor.h"

/* true when an op may proceed: ctx ok and no input NULL */
static inline bool nn__ok(const nn_ctx *ctx, int n, const void *const *in)
{
    if (ctx->err.code) return false;
    for (int i = 0; i < n; i++)
        if (!in[i]) return false;
    return true;
}
#define NN_OK_IN(ctx, ...) \
    nn__ok(ctx, (int)(sizeof((const void *[]){__VA_ARGS__}) / sizeof(void *)), (const void *const[]){__VA_ARGS__})

/* Records a node if grad is enabled and any input requires grad; marks out accordingly.
 * Returns the node (to fill saved state) or NULL when nothing is recorded. */
struct nn_node *nn__record(nn_ctx *ctx, const char *op, void (*backward)(nn_ctx *, struct nn_node *),
                           struct nn_tensor *out, int nin, struct nn_tensor *const *in);
/* The gradient buffer of t, allocated and zeroed on first use (step arena, or persistent). */
float *nn__grad(nn_ctx *ctx, struct nn_tensor *t);
/* The same buffer for an op that writes every element of it through a kernel's beta: *beta
 * is 0 when the buffer holds nothing yet (new, or zeroed lazily by nn_tensor_zero_grad_lazy; its
 * contents are then garbage and must be overwritten), else 1 (add to what is there). */
float *nn__grad_beta(nn_ctx *ctx, struct nn_tensor *t, float *beta);
/* Zeroes a lazily zeroed gradient for a reader of .grad (nn_tensor_zero_grad_lazy). */
void nn__grad_settle(struct nn_tensor *t);
/* t itself if contiguous, else a recorded contiguous copy. */
struct nn_tensor *nn__contig(nn_ctx *ctx, struct nn_tensor *t);
/* A header for a view of `src` with the given geometry (data = src->data + offset). */
struct nn_tensor *nn__view(nn_ctx *ctx, struct nn_tensor *src, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset);
bool nn__wants_grad(const struct nn_tensor *t);
void *nn__save(nn_ctx *ctx, const void *src, size_t bytes);  /* copy into the meta arena */
/* Scratch for an op's forward: device memory freed by nn__scratch_end, which the op calls
 * before it returns (the block sits at the arena's top and goes straight back). Backward
 * needs neither: what a node's backward allocates is freed when it returns. */
void *nn__scratch(nn_ctx *ctx, size_t bytes);
void nn__scratch_end(nn_ctx *ctx);
/* Normalises a possibly negative dim; on error records "op: dim d out of range for (shape)". */
int nn__dim(nn_ctx *ctx, const char *op, const struct nn_tensor *t, int dim);
/* [outer, n, inner] around dim of a contiguous shape */
void nn__split_dim(const struct nn_tensor *t, int dim, int64_t *outer, int64_t *n, int64_t *inner);
/* the profile's clock (nn/profile.h): now, after the device's queued work on a GPU; a forward
 * op's time since the previous one; a node's backward since t0 */
double nn__profile_now(nn_ctx *ctx);
void nn__profile_fwd(nn_ctx *ctx, const char *op);
void nn__profile_bwd(nn_ctx *ctx, const char *op, double t0);

#endif
