/* poutine.replay: a latent sample site takes the value (and infer flags) recorded under its name
 * in another trace; plate subsample sites take the recorded minibatch. As Pyro's, a latent site
 * whose name the trace holds as an observed site or as another kind of site is an error. */
#include "ppl/handlers/handlers.h"

static void replay_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_replay *h = (struct ppl_replay *)m;
    if (msg->type == PPL_MSG_PARAM || msg->is_observed) return;
    const struct ppl_site *s = ppl_trace_find(h->trace, msg->name);
    if (!s) return;
    if (s->msg.type != msg->type || s->msg.is_observed) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "replay: site '%s' must be sampled in the trace (it is %s there)", msg->name,
                    s->msg.type == PPL_MSG_PARAM ? "a param" : s->msg.type == PPL_MSG_PLATE ? "a plate subsample"
                    : s->msg.type != msg->type ? "a sample site" : "observed");
        return;
    }
    msg->value = s->msg.value;
    if (msg->type == PPL_MSG_SAMPLE) msg->infer = s->msg.infer;
}

void ppl_replay_init(struct ppl_replay *h, const struct ppl_trace *trace)
{
    *h = (struct ppl_replay){.m = {.process = replay_process, .kind = "replay"}, .trace = trace};
}
