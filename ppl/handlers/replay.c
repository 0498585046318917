/* poutine.replay: a sample site takes the value recorded under its name in another trace. */
#include "ppl/handlers/handlers.h"

static void replay_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_replay *h = (struct ppl_replay *)m;
    if (msg->type == PPL_MSG_PARAM || msg->is_observed) return;
    const struct ppl_site *s = ppl_trace_find(h->trace, msg->name);
    if (!s || s->msg.type != msg->type) return;
    msg->value = s->msg.value;
    (void)ctx;
}

void ppl_replay_init(struct ppl_replay *h, const struct ppl_trace *trace)
{
    *h = (struct ppl_replay){.m = {.process = replay_process, .kind = "replay"}, .trace = trace};
}
