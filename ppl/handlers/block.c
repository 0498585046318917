/* poutine.block: a hidden site stops here, so outer handlers (traces) never see it. */
#include <string.h>

#include "ppl/handlers/handlers.h"

static bool listed(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return true;
    return false;
}

static void block_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_block *h = (struct ppl_block *)m;
    (void)ctx;
    if (listed(h->expose, h->nexpose, msg->name)) return;
    bool hide = h->hide_all || listed(h->hide, h->nhide, msg->name) ||
                (h->hide_fn && h->hide_fn(msg, h->user));
    if (hide) msg->stop = true;
}

void ppl_block_init(struct ppl_block *h)
{
    *h = (struct ppl_block){.m = {.process = block_process, .kind = "block"}, .hide_all = true};
}
