/* poutine.seed: a fresh random stream inside; the outer one is restored on exit, so seeding a
 * block does not change what happens after it. */
#include "ppl/handlers/handlers.h"

static void seed_enter(struct ppl_messenger *m, ppl_ctx *ctx)
{
    struct ppl_seed *h = (struct ppl_seed *)m;
    h->saved = ctx->rng;
    ctx->rng = &h->rng;
}

static void seed_exit(struct ppl_messenger *m, ppl_ctx *ctx)
{
    struct ppl_seed *h = (struct ppl_seed *)m;
    ctx->rng = h->saved;
}

void ppl_seed_init(struct ppl_seed *h, uint64_t seed)
{
    *h = (struct ppl_seed){.m = {.enter = seed_enter, .exit = seed_exit, .kind = "seed"}};
    nn_rng_seed(&h->rng, seed);
}
