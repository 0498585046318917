/* pyro.plate: a messenger that adds a frame (and the subsample rescaling) to sample sites, and
 * the sum of a value over the plates one site is in and another is not (ppl__sum_to). */
#include <math.h>
#include <string.h>

#include "ppl/core/plate.h"

static void plate_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_plate *p = (struct ppl_plate *)m;
    bool param = msg->type == PPL_MSG_PARAM && msg->event_dim >= 0 && p->vectorized;
    if (msg->type != PPL_MSG_SAMPLE && !param) return;
    if (msg->nframes >= PPL_MAX_PLATES) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "site '%s': more than %d enclosing plates", msg->name, PPL_MAX_PLATES);
        return;
    }
    bool sub = p->subsample_size != p->size;
    msg->frames[msg->nframes++] = (struct ppl_frame){p->name, p->subsample_size, p->size, p->dim, p->vectorized,
                                                     sub ? p->indices : NULL, p->vectorized ? 0 : p->pos};
    if (sub && !param) msg->scale *= (float)((double)p->size / (double)p->subsample_size);
}

/* The subsample site: replayable, so a model sees its guide's minibatch. */
static nn_status draw_indices(ppl_ctx *ctx, struct ppl_plate *p)
{
    struct ppl_msg msg;
    ppl_msg_init(&msg, PPL_MSG_PLATE, p->name);
    msg.size = p->size;
    msg.subsample_size = p->subsample_size;
    p->indices = ppl_apply_stack(ctx, &msg);
    if (!p->indices) return ppl_status(ctx);
    if (nn_numel(p->indices) != p->subsample_size) {
        char s[64];
        return nn_ctx_fail(ctx->nn, NN_SHAPE, "plate '%s': subsample indices %s, expected (%lld)", p->name,
                           nn_shape_str(p->indices, s, sizeof s), (long long)p->subsample_size);
    }
    p->host_indices = nn_ctx_alloc_meta(ctx->nn, (size_t)p->subsample_size * sizeof(float));
    if (!p->host_indices) return ppl_status(ctx);
    return nn_tensor_to_host(nn_contiguous(ctx->nn, p->indices), p->host_indices, &ctx->nn->err);
}

static nn_status setup(ppl_ctx *ctx, struct ppl_plate *p, const char *name, int64_t size, int64_t sub)
{
    *p = (struct ppl_plate){.m = {.process = plate_process, .kind = "plate"}, .name = name, .size = size};
    if (size <= 0 || sub < 0 || sub > size)
        return nn_ctx_fail(ctx->nn, NN_INVALID, "plate '%s': size %lld, subsample size %lld", name,
                           (long long)size, (long long)sub);
    p->subsample_size = sub ? sub : size;
    if (p->subsample_size != size) return draw_indices(ctx, p);
    return NN_OK;
}

struct ppl_plate *ppl_plate_enter(ppl_ctx *ctx, struct ppl_plate *p, const char *name, int64_t size,
                                  int64_t subsample_size, int dim)
{
    if (ppl_status(ctx) || setup(ctx, p, name, size, subsample_size)) return NULL;
    if (dim == 0) /* Pyro's allocator: the rightmost dim no active plate holds */
        for (dim = -1; dim > -32 && (ctx->used_dims >> (-dim - 1)) & 1u; dim--) {}
    if (dim >= 0 || dim < -NN_MAX_DIMS) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "plate '%s': dim %d out of range", name, dim);
        return NULL;
    }
    if ((ctx->used_dims >> (-dim - 1)) & 1u) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "plate '%s': dim %d is already used by an enclosing plate", name, dim);
        return NULL;
    }
    p->dim = dim;
    p->vectorized = true;
    if (ppl_push(ctx, &p->m)) return NULL;
    ctx->used_dims |= 1u << (-dim - 1);
    ctx->stack_info[ctx->depth - 1].name = name;
    ctx->stack_info[ctx->depth - 1].dims = 1u << (-dim - 1);
    return p;
}

void ppl_plate_exit(ppl_ctx *ctx, struct ppl_plate *p)
{
    if (p->vectorized) ctx->used_dims &= ~(1u << (-p->dim - 1));
    ppl_pop(ctx, &p->m);
}

struct ppl_plate *ppl_plate_enter_subsample(ppl_ctx *ctx, struct ppl_plate *p, const char *name, int64_t size,
                                            struct nn_tensor *indices, int dim)
{
    if (ppl_status(ctx)) return NULL;
    if (!indices || indices->ndim != 1) {
        nn_ctx_fail(ctx->nn, NN_SHAPE, "plate '%s': subsample indices must be a vector", name);
        return NULL;
    }
    float *host = nn_ctx_alloc_meta(ctx->nn, (size_t)indices->shape[0] * sizeof *host + 1);
    if (!host || nn_tensor_to_host(nn_contiguous(ctx->nn, indices), host, &ctx->nn->err)) return NULL;
    for (int64_t i = 0; i < indices->shape[0]; i++)
        if (!(host[i] >= 0 && host[i] < (float)size && host[i] == floorf(host[i]))) {
            nn_ctx_fail(ctx->nn, NN_INVALID, "plate '%s': subsample index %g at %lld not in [0, %lld)", name,
                        (double)host[i], (long long)i, (long long)size);
            return NULL;
        }
    /* the full plate without drawing, then the given minibatch */
    if (!ppl_plate_enter(ctx, p, name, size, 0, dim)) return NULL;
    p->subsample_size = indices->shape[0];
    p->indices = indices;
    p->host_indices = host;
    return p;
}

struct nn_tensor *ppl_plate_indices(ppl_ctx *ctx, struct ppl_plate *p)
{
    if (p->indices || ppl_status(ctx)) return p->indices;
    p->host_indices = nn_ctx_alloc_meta(ctx->nn, (size_t)p->size * sizeof(float));
    if (!p->host_indices) return NULL;
    for (int64_t i = 0; i < p->size; i++) p->host_indices[i] = (float)i;
    p->indices = nn_from_host(ctx->nn, 1, &p->size, p->host_indices);
    return p->indices;
}

struct ppl_plate *ppl_plate_seq_begin(ppl_ctx *ctx, struct ppl_plate *p, const char *name,
                                      int64_t size, int64_t subsample_size)
{
    if (ppl_status(ctx) || setup(ctx, p, name, size, subsample_size)) return NULL;
    p->pos = -1;
    return p;
}

bool ppl_plate_seq_next(ppl_ctx *ctx, struct ppl_plate *p, int64_t *i)
{
    if (p->pos >= 0) ppl_pop(ctx, &p->m);
    p->pos++;
    if (p->pos >= p->subsample_size || ppl_status(ctx)) return false;
    *i = p->host_indices ? (int64_t)p->host_indices[p->pos] : p->pos;
    if (ppl_push(ctx, &p->m)) return false;
    ctx->stack_info[ctx->depth - 1].name = p->name;
    return true;
}

static bool in_frames(const struct ppl_msg *m, const char *name)
{
    for (int i = 0; i < m->nframes; i++)
        if (m->frames[i].name == name || !strcmp(m->frames[i].name, name)) return true;
    return false;
}

struct nn_tensor *ppl__sum_to(ppl_ctx *ctx, struct nn_tensor *v, const struct ppl_msg *src, const struct ppl_msg *target)
{
    nn_ctx *nn = ctx->nn;
    for (int i = 0; v && i < src->nframes; i++) {
        const struct ppl_frame *f = &src->frames[i];
        int d = v->ndim + f->dim;
        if (!f->vectorized || in_frames(target, f->name) || d < 0 || v->shape[d] == 1) continue;
        v = nn_sum(nn, v, d, true);
    }
    while (v && v->ndim && v->shape[0] == 1) v = nn_squeeze(nn, v, 0);
    return v;
}
