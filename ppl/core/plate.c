/* pyro.plate: a messenger that adds a frame (and the subsample rescaling) to sample sites. */
#include "ppl/core/plate.h"

static void plate_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_plate *p = (struct ppl_plate *)m;
    if (msg->type != PPL_MSG_SAMPLE) return;
    if (msg->nframes >= PPL_MAX_PLATES) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "sample '%s': more than %d enclosing plates", msg->name, PPL_MAX_PLATES);
        return;
    }
    msg->frames[msg->nframes++] = (struct ppl_frame){p->name, p->subsample_size, p->size, p->dim, p->vectorized};
    if (p->subsample_size != p->size) msg->scale *= (float)((double)p->size / (double)p->subsample_size);
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
