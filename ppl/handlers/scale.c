/* poutine.scale: multiplies enclosed log-probs; float factors multiply, tensors multiply. */
#include "ppl/handlers/handlers.h"

static void scale_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_scale *h = (struct ppl_scale *)m;
    if (msg->type != PPL_MSG_SAMPLE) return;
    msg->scale *= h->f;
    if (h->t) msg->scale_t = msg->scale_t ? nn_mul(ctx->nn, msg->scale_t, h->t) : h->t;
}

struct ppl_scale ppl_scale_make(float f, struct nn_tensor *t)
{
    return (struct ppl_scale){.m = {.process = scale_process, .kind = "scale"}, .f = f, .t = t};
}
