#include "nn/internal.h"
#include "nn/profile.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- context */

static void *be_alloc(void *self, size_t bytes)
{
    const struct nn_backend *be = self;
    return be->alloc(bytes);
}

static void be_free(void *self, void *p)
{
    const struct nn_backend *be = self;
    be->free(p);
}

static void *be_reserve(void *self, size_t bytes)
{
    const struct nn_backend *be = self;
    return be->reserve(bytes);
}

static void be_unreserve(void *self, void *p, size_t bytes)
{
    const struct nn_backend *be = self;
    be->unreserve(p, bytes);
}

static void be_decommit(void *self, void *p, size_t bytes)
{
    const struct nn_backend *be = self;
    be->decommit(p, bytes);
}

nn_ctx *nn_ctx_new(const struct nn_ctx_config *cfg, struct nn_err *err)
{
    struct nn_ctx_config c = {.data_capacity = (size_t)8 << 30, .meta_capacity = (size_t)256 << 20,
                              .device = NN_DEV_CPU};
    if (cfg) {
        if (cfg->data_capacity) c.data_capacity = cfg->data_capacity;
        if (cfg->meta_capacity) c.meta_capacity = cfg->meta_capacity;
        c.device = cfg->device;
        c.scratch_bytes = cfg->scratch_bytes;
    }
    const struct nn_backend *be = nn_backend_get(c.device);
    if (!be) {
        nn_err_set(err, NN_UNSUPPORTED, "device %s: no backend registered (built without CUDA?)",
                   c.device == NN_DEV_CUDA ? "cuda" : "cpu");
        return NULL;
    }
    nn_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        nn_err_set(err, NN_OOM, "nn_ctx_new: out of memory");
        return NULL;
    }
    ctx->be = be;
    ctx->device = c.device;
    ctx->scratch_bytes = c.scratch_bytes ? c.scratch_bytes : (size_t)(c.device == NN_DEV_CPU ? 128 : 512) << 20;
    struct nn_arena_allocator dev_mem = {be_alloc, be_free, (void *)be, NULL, NULL, NULL};
    if (be->reserve && be->unreserve && be->decommit) {
        dev_mem.reserve = be_reserve;
        dev_mem.unreserve = be_unreserve;
        dev_mem.decommit = be_decommit;
    }
    nn_arena_init(&ctx->data, "step data", c.data_capacity, &dev_mem);
    ctx->data.setting = "the step memory (runtime.step_memory_mb)";
    nn_arena_init(&ctx->meta, "step headers", c.meta_capacity, NULL);
    ctx->meta.align = 16; /* host structs: headers, nodes, trace sites */
    ctx->meta.setting = "the header memory (runtime.header_memory_mb)";
    return ctx;
}

void nn_ctx_free(nn_ctx *ctx)
{
    if (!ctx) return;
    nn_arena_free(&ctx->data);
    nn_arena_free(&ctx->meta);
    free(ctx);
}

void nn_ctx_release_workspaces(nn_ctx *ctx)
{
    if (ctx->be->release_workspaces) ctx->be->release_workspaces();
}

void nn_ctx_step_reset(nn_ctx *ctx)
{
    nn_arena_reset(&ctx->data);
    nn_arena_reset(&ctx->meta);
    nn_recycler_reset(&ctx->recycle);
    ctx->backward_ran = false;
    ctx->tape = NULL;
    ctx->tape_len = 0;
    if (ctx->prof) ctx->prof->mark = nn__profile_now(ctx);
}

nn_status nn_ctx_status(const nn_ctx *ctx) { return ctx->err.code; }
const char *nn_ctx_message(const nn_ctx *ctx) { return ctx->err.msg; }
void nn_ctx_clear_error(nn_ctx *ctx) { nn_err_clear(&ctx->err); }

nn_status nn_ctx_fail(nn_ctx *ctx, nn_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_err_vset(&ctx->err, code, fmt, ap);
    va_end(ap);
    return code;
}

void nn_no_grad_enter(nn_ctx *ctx) { ctx->no_grad++; }
void nn_no_grad_exit(nn_ctx *ctx) { ctx->no_grad--; }
bool nn_grad_enabled(const nn_ctx *ctx) { return ctx->no_grad == 0; }

void *nn_ctx_alloc_meta(nn_ctx *ctx, size_t bytes) { return nn_arena_alloc(&ctx->meta, bytes, &ctx->err); }
/* step memory: bump-allocated, or during backward a block freed when the node returns */
void *nn_ctx_alloc_data(nn_ctx *ctx, size_t bytes)
{
    if (ctx->in_backward) return nn_recycler_alloc(&ctx->recycle, &ctx->data, &ctx->meta, bytes, true, &ctx->err);
    return nn_arena_alloc(&ctx->data, bytes, &ctx->err);
}

/* ---- shapes */

int64_t nn_numel(const struct nn_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

void nn_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i];
    }
}

bool nn_is_contiguous(const struct nn_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool nn_same_shape(const struct nn_tensor *a, const struct nn_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *nn_shape_str(const struct nn_tensor *t, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "(");
    for (int i = 0; i < t->ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (o < len) snprintf(buf + o, len - o, ")");
    return buf;
}

static bool shape_ok(nn_ctx *ctx, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > NN_MAX_DIMS) {
        nn_ctx_fail(ctx, NN_SHAPE, "tensor: %d dimensions (at most %d)", ndim, NN_MAX_DIMS);
        return false;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > INT64_MAX / 4 / shape[i])) {
            nn_ctx_fail(ctx, NN_SHAPE, "tensor: invalid size %lld in dimension %d", (long long)shape[i], i);
            return false;
        }
        n *= shape[i];
    }
    return true;
}

static struct nn_tensor *header(nn_ctx *ctx, int ndim, const int64_t *shape)
{
    if (!shape_ok(ctx, ndim, shape)) return NULL;
    struct nn_tensor *t = nn_arena_alloc(&ctx->meta, sizeof *t, &ctx->err);
    if (!t) return NULL;
    /* every field but the shape and stride entries past ndim, which nothing reads (a header
     * is made per op: zeroing all 170 bytes was a visible part of a scalar op's cost) */
    t->data = t->grad = NULL;
    t->ndim = ndim;
    t->device = (uint8_t)ctx->device;
    t->requires_grad = t->persistent = t->grad_recycled = t->grad_shared = t->grad_zero = false;
    t->node = NULL;
    t->name = NULL;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape); /* shape may be NULL for a scalar */
    nn_contiguous_strides(ndim, shape, t->stride);
    return t;
}

struct nn_tensor *nn_empty(nn_ctx *ctx, int ndim, const int64_t *shape)
{
    if (ctx->err.code) return NULL;
    struct nn_tensor *t = header(ctx, ndim, shape);
    if (!t) return NULL;
    t->data = nn_ctx_alloc_data(ctx, (size_t)nn_numel(t) * sizeof(float));
    return t->data ? t : NULL;
}

struct nn_tensor *nn_wrap(nn_ctx *ctx, int ndim, const int64_t *shape, float *data)
{
    if (ctx->err.code) return NULL;
    struct nn_tensor *t = header(ctx, ndim, shape);
    if (t) t->data = data;
    return t;
}

struct nn_tensor *nn_full(nn_ctx *ctx, int ndim, const int64_t *shape, float v)
{
    struct nn_tensor *t = nn_empty(ctx, ndim, shape);
    if (t) ctx->be->fill(t->data, (size_t)nn_numel(t), v);
    return t;
}

struct nn_tensor *nn_zeros(nn_ctx *ctx, int ndim, const int64_t *shape) { return nn_full(ctx, ndim, shape, 0.0f); }
struct nn_tensor *nn__empty_v(nn_ctx *ctx, const int64_t *shape, int ndim) { return nn_empty(ctx, ndim, shape); }
struct nn_tensor *nn__zeros_v(nn_ctx *ctx, const int64_t *shape, int ndim) { return nn_zeros(ctx, ndim, shape); }

struct nn_tensor *nn_from_host(nn_ctx *ctx, int ndim, const int64_t *shape, const float *src)
{
    struct nn_tensor *t = nn_empty(ctx, ndim, shape);
    if (t) ctx->be->from_host(t->data, src, (size_t)nn_numel(t) * sizeof(float));
    return t;
}

struct nn_tensor *nn_scalar(nn_ctx *ctx, float v) { return nn_full(ctx, 0, NULL, v); }

float nn_item(nn_ctx *ctx, const struct nn_tensor *t)
{
    float v = 0.0f;
    if (!t) return v;
    const struct nn_backend *be = nn_backend_get((enum nn_device)t->device);
    be->to_host(&v, t->data, sizeof v);
    return v;
}

/* ---- persistent tensors */

struct nn_tensor *nn_tensor_new(enum nn_device dev, int ndim, const int64_t *shape,
                                bool requires_grad, struct nn_err *err)
{
    const struct nn_backend *be = nn_backend_get(dev);
    if (!be) {
        nn_err_set(err, NN_UNSUPPORTED, "nn_tensor_new: no backend for device %d", (int)dev);
        return NULL;
    }
    if (ndim < 0 || ndim > NN_MAX_DIMS) {
        nn_err_set(err, NN_SHAPE, "nn_tensor_new: %d dimensions (at most %d)", ndim, NN_MAX_DIMS);
        return NULL;
    }
    /* a shape read from a file: negative or overflowing sizes are refused, not wrapped */
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || (shape[i] > 0 && n > INT64_MAX / (int64_t)sizeof(float) / shape[i])) {
            nn_err_set(err, NN_SHAPE, "nn_tensor_new: invalid size %lld in dimension %d", (long long)shape[i], i);
            return NULL;
        } else {
            n *= shape[i];
        }
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) {
        nn_err_set(err, NN_SHAPE, "nn_tensor_new: %lld elements do not fit in memory", (long long)n);
        return NULL;
    }
    struct nn_tensor *t = calloc(1, sizeof *t);
    if (!t) goto oom;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    nn_contiguous_strides(ndim, shape, t->stride);
    t->device = (uint8_t)dev;
    t->persistent = true;
    t->requires_grad = requires_grad;
    size_t bytes = (size_t)nn_numel(t) * sizeof(float);
    t->data = be->alloc(bytes ? bytes : sizeof(float));
    if (!t->data) goto oom;
    be->memzero(t->data, bytes);
    if (requires_grad) {
        t->grad = be->alloc(bytes ? bytes : sizeof(float));
        if (!t->grad) goto oom;
        be->memzero(t->grad, bytes);
    }
    return t;
oom:
    nn_tensor_free(t);
    nn_err_set(err, NN_OOM, "nn_tensor_new: out of memory");
    return NULL;
}

void nn_tensor_free(struct nn_tensor *t)
{
    if (!t) return;
    const struct nn_backend *be = nn_backend_get((enum nn_device)t->device);
    if (t->persistent && be) {
        be->free(t->data);
        be->free(t->grad);
    }
    free(t);
}

void nn_tensor_zero_grad(struct nn_tensor *t)
{
    if (!t || !t->grad) return;
    nn_backend_get((enum nn_device)t->device)->memzero(t->grad, (size_t)nn_numel(t) * sizeof(float));
    t->grad_zero = false;
}

/* The next gradient written overwrites (nn__grad_beta) instead of adding to zeros, which
 * spares a pass over the buffer and the reading of it (the Sprites decoder's experts are
 * 533 MB); nn__grad and the readers below zero it when they meet the flag. */
void nn_tensor_zero_grad_lazy(struct nn_tensor *t)
{
    if (t && t->grad) t->grad_zero = true;
}

void nn__grad_settle(struct nn_tensor *t)
{
    if (!t->grad || !t->grad_zero) return;
    nn_backend_get((enum nn_device)t->device)->memzero(t->grad, (size_t)nn_numel(t) * sizeof(float));
    t->grad_zero = false;
}

bool nn_tensor_all_finite(const struct nn_tensor *t)
{
    double s = 0; /* in double: any finite float squared stays finite, NaN and inf propagate */
    nn_backend_get((enum nn_device)t->device)->sumsq((size_t)nn_numel(t), t->data, &s);
    return isfinite(s);
}

void nn_tensor_freeze(struct nn_tensor *t)
{
    if (!t) return;
    t->requires_grad = false;
    if (t->persistent && t->grad) nn_backend_get((enum nn_device)t->device)->free(t->grad);
    if (t->persistent) t->grad = NULL, t->grad_zero = false;
}

nn_status nn_tensor_unfreeze(struct nn_tensor *t, struct nn_err *err)
{
    if (!t->persistent) return nn_err_set(err, NN_INVALID, "nn_tensor_unfreeze: not a persistent tensor");
    const struct nn_backend *be = nn_backend_get((enum nn_device)t->device);
    size_t bytes = (size_t)nn_numel(t) * sizeof(float);
    if (!t->grad) {
        t->grad = be->alloc(bytes ? bytes : sizeof(float));
        if (!t->grad) return nn_err_set(err, NN_OOM, "nn_tensor_unfreeze: out of memory for %zu bytes", bytes);
        be->memzero(t->grad, bytes);
        t->grad_zero = false;
    }
    t->requires_grad = true;
    return NN_OK;
}

static nn_status copy_check(const struct nn_tensor *t, struct nn_err *err, const char *what)
{
    if (!nn_is_contiguous(t))
        return nn_err_set(err, NN_INVALID, "%s: tensor is not contiguous", what);
    return NN_OK;
}

nn_status nn_tensor_to_host(const struct nn_tensor *t, float *dst, struct nn_err *err)
{
    if (copy_check(t, err, "nn_tensor_to_host")) return err->code;
    nn_backend_get((enum nn_device)t->device)->to_host(dst, t->data, (size_t)nn_numel(t) * sizeof(float));
    return NN_OK;
}

nn_status nn_tensor_grad_to_host(const struct nn_tensor *t, float *dst, struct nn_err *err)
{
    if (!t->grad) return nn_err_set(err, NN_INVALID, "nn_tensor_grad_to_host: tensor has no gradient");
    if (t->grad_zero) {
        memset(dst, 0, (size_t)nn_numel(t) * sizeof(float));
        return NN_OK;
    }
    nn_backend_get((enum nn_device)t->device)->to_host(dst, t->grad, (size_t)nn_numel(t) * sizeof(float));
    return NN_OK;
}

nn_status nn_tensor_from_host(struct nn_tensor *t, const float *src, struct nn_err *err)
{
    if (copy_check(t, err, "nn_tensor_from_host")) return err->code;
    nn_backend_get((enum nn_device)t->device)->from_host(t->data, src, (size_t)nn_numel(t) * sizeof(float));
    return NN_OK;
}

struct nn_tensor *nn_tensor_to_device(const struct nn_tensor *t, enum nn_device dev, struct nn_err *err)
{
    if (copy_check(t, err, "nn_tensor_to_device")) return NULL;
    struct nn_tensor *o = nn_tensor_new(dev, t->ndim, t->shape, t->requires_grad, err);
    if (!o) return NULL;
    size_t bytes = (size_t)nn_numel(t) * sizeof(float);
    float *tmp = malloc(bytes ? bytes : 1);
    if (!tmp) {
        nn_tensor_free(o);
        nn_err_set(err, NN_OOM, "nn_tensor_to_device: out of host memory");
        return NULL;
    }
    nn_backend_get((enum nn_device)t->device)->to_host(tmp, t->data, bytes);
    nn_backend_get(dev)->from_host(o->data, tmp, bytes);
    free(tmp);
    o->name = t->name;
    return o;
}

/* ---- op helpers */

bool nn__wants_grad(const struct nn_tensor *t) { return t && t->requires_grad; }

struct nn_node *nn__record(nn_ctx *ctx, const char *op, void (*backward)(nn_ctx *, struct nn_node *),
                           struct nn_tensor *out, int nin, struct nn_tensor *const *in)
{
    if (ctx->prof) nn__profile_fwd(ctx, op);
    if (!out || ctx->no_grad) return NULL;
    bool any = false;
    for (int i = 0; i < nin; i++) any |= nn__wants_grad(in[i]);
    if (!any) return NULL;
    struct nn_node *n = nn_arena_alloc(&ctx->meta, sizeof *n, &ctx->err);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->op = op;
    n->backward = backward;
    n->out = out;
    n->nin = nin;
    for (int i = 0; i < nin; i++) n->in[i] = in[i];
    n->prev = ctx->tape;
    ctx->tape = n;
    ctx->tape_len++;
    out->node = n;
    out->requires_grad = true;
    return n;
}

/* a new gradient buffer for an intermediate (recycled memory during backward), contents undefined */
static float *alloc_grad(nn_ctx *ctx, struct nn_tensor *t)
{
    size_t bytes = (size_t)nn_numel(t) * sizeof(float);
    t->grad_recycled = ctx->in_backward;
    t->grad = t->grad_recycled ? nn_recycler_alloc(&ctx->recycle, &ctx->data, &ctx->meta, bytes, false, &ctx->err)
                               : nn_arena_alloc(&ctx->data, bytes, &ctx->err);
    return t->grad;
}

float *nn__grad_beta(nn_ctx *ctx, struct nn_tensor *t, float *beta)
{
    *beta = 1.0f;
    if (t->grad && t->grad_zero) {
        t->grad_zero = false;
        *beta = 0.0f;
        return t->grad;
    }
    if (t->grad || (t->node && t->node->alias_grad)) return nn__grad(ctx, t);
    if (alloc_grad(ctx, t)) *beta = 0.0f;
    return t->grad;
}

float *nn__grad(nn_ctx *ctx, struct nn_tensor *t)
{
    nn__grad_settle(t);
    if (!t->grad && t->node && t->node->alias_grad) {
        t->grad = nn__grad(ctx, t->node->in[0]);
        t->grad_shared = true;
    }
    if (!t->grad) {
        if (!alloc_grad(ctx, t)) return NULL;
        ctx->be->fill(t->grad, (size_t)nn_numel(t), 0.0f);
    }
    return t->grad;
}

void *nn__save(nn_ctx *ctx, const void *src, size_t bytes)
{
    void *p = nn_arena_alloc(&ctx->meta, bytes, &ctx->err);
    if (p && src) memcpy(p, src, bytes);
    return p;
}

void *nn__scratch(nn_ctx *ctx, size_t bytes)
{
    return nn_recycler_alloc(&ctx->recycle, &ctx->data, &ctx->meta, bytes, true, &ctx->err);
}

void nn__scratch_end(nn_ctx *ctx) { nn_recycler_end_scope(&ctx->recycle, &ctx->data); }

struct nn_tensor *nn__view(nn_ctx *ctx, struct nn_tensor *src, int ndim, const int64_t *shape,
                           const int64_t *stride, int64_t offset)
{
    struct nn_tensor *t = header(ctx, ndim, shape);
    if (!t) return NULL;
    if (ndim) memcpy(t->stride, stride, (size_t)ndim * sizeof *stride);
    t->data = src->data + offset;
    t->device = src->device;
    return t;
}

int nn__dim(nn_ctx *ctx, const char *op, const struct nn_tensor *t, int dim)
{
    int d = dim < 0 ? dim + t->ndim : dim;
    if (d < 0 || d >= t->ndim) {
        char s[96];
        nn_ctx_fail(ctx, NN_SHAPE, "%s: dim %d out of range for shape %s", op, dim, nn_shape_str(t, s, sizeof s));
        return -1;
    }
    return d;
}

void nn__split_dim(const struct nn_tensor *t, int dim, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= t->shape[i];
    for (int i = dim + 1; i < t->ndim; i++) *inner *= t->shape[i];
    *n = t->shape[dim];
}

/* ---- backward */

nn_status nn_backward_seed(nn_ctx *ctx, struct nn_tensor *loss, float seed)
{
    if (ctx->err.code) return ctx->err.code;
    if (!loss) return nn_ctx_fail(ctx, NN_INVALID, "backward: loss is NULL");
    if (nn_numel(loss) != 1) {
        char s[96];
        return nn_ctx_fail(ctx, NN_SHAPE, "backward: loss must have one element, got shape %s",
                           nn_shape_str(loss, s, sizeof s));
    }
    if (!loss->requires_grad) return NN_OK; /* nothing depends on anything trainable */
    /* Gradients of intermediates start from zero on every backward, so backward may be called
     * more than once per step; leaves (parameters, inputs) accumulate as in PyTorch. */
    if (ctx->backward_ran) /* a second backward this step: forget the first one's gradients */
        for (struct nn_node *n = ctx->tape; n; n = n->prev)
            if (!n->out->persistent) n->out->grad = NULL, n->out->grad_shared = n->out->grad_recycled = false;
    ctx->backward_ran = true;
    ctx->in_backward = true;
    float *g = nn__grad(ctx, loss);
    if (g) ctx->be->fill(g, 1, seed);
    for (struct nn_node *n = ctx->tape; n && !ctx->err.code; n = n->prev) {
        struct nn_tensor *out = n->out;
        if (!out->grad) continue; /* no path from the loss */
        double t0 = ctx->prof ? nn__profile_now(ctx) : 0;
        n->backward(ctx, n);
        nn_recycler_end_scope(&ctx->recycle, &ctx->data);
        /* every consumer of out ran before its producer: its gradient is spent */
        if (out->grad_recycled && !ctx->err.code) {
            nn_recycler_free(&ctx->recycle, &ctx->data, &ctx->meta, out->grad, (size_t)nn_numel(out) * sizeof(float), &ctx->err);
            out->grad = NULL;
        }
        if (ctx->prof) nn__profile_bwd(ctx, n->op, t0);
    }
    ctx->in_backward = false;
    return ctx->err.code;
}

nn_status nn_backward(nn_ctx *ctx, struct nn_tensor *loss) { return nn_backward_seed(ctx, loss, 1.0f); }
