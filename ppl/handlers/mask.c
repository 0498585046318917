/* poutine.mask: masks enclosed log-probs (a 0/1 tensor, or false for the whole site). */
#include "ppl/handlers/handlers.h"

static void mask_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_mask *h = (struct ppl_mask *)m;
    if (msg->type != PPL_MSG_SAMPLE) return;
    if (!h->t) {
        if (!h->on) msg->mask_off = true;
        return;
    }
    msg->mask = msg->mask ? nn_mul(ctx->nn, msg->mask, h->t) : h->t;
}

struct ppl_mask ppl_mask_make(struct nn_tensor *t, bool on)
{
    return (struct ppl_mask){.m = {.process = mask_process, .kind = "mask"}, .t = t, .on = on};
}
