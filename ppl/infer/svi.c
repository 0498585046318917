/* SVI: loss, backward, one update of every parameter seen in the traces. */
#include <math.h>

#include "ppl/infer/infer.h"
#include "ppl/store/store.h"

void ppl_svi_init(struct ppl_svi *svi, ppl_fn model, ppl_fn guide, enum nn_optim_kind optim,
                  const struct nn_adam_config *cfg, enum ppl_elbo_kind kind, int num_particles)
{
    *svi = (struct ppl_svi){.model = model, .guide = guide, .optim = optim,
                            .optim_cfg = cfg ? *cfg : nn_adam_defaults(optim)};
    ppl_elbo_init(&svi->elbo, kind, num_particles);
}

static nn_status update(ppl_ctx *ctx, struct ppl_svi *svi)
{
    struct nn_err *err = &ctx->nn->err;
    for (int i = 0; i < svi->elbo.nparams; i++) {
        struct ppl_param_entry *p = svi->elbo.params[i];
        if (!p->opt && !p->frozen) {
            struct nn_adam_config cfg = svi->optim_cfg;
            if (svi->optim_args && !svi->optim_args(svi->optim_user, p->name, &cfg)) p->frozen = true;
            else if (ppl_store_attach_optim(p, svi->optim, &cfg, err)) return err->code;
        }
        if (!p->frozen && nn_optim_step(p->opt, err)) return err->code;
        nn_tensor_zero_grad_lazy(p->u); /* the next writer is backward */
    }
    return NN_OK;
}

float ppl_svi_step(ppl_ctx *ctx, struct ppl_svi *svi, void *args)
{
    float loss = NAN;
    struct nn_tensor *surr = NULL;
    svi->elbo.want_terms = svi->callback != NULL;
    if (ppl_elbo_compute(ctx, &svi->elbo, svi->model, svi->guide, args, &loss, &surr)) goto fail;
    if (surr->requires_grad && nn_backward(ctx->nn, surr)) goto fail;
    if (update(ctx, svi)) goto fail;
    svi->step++;
    if (svi->callback) svi->callback(svi->user, svi->step, loss, svi->elbo.terms, svi->elbo.nterms);
    nn_ctx_step_reset(ctx->nn);
    return loss;
fail:
    nn_ctx_step_reset(ctx->nn);
    return NAN;
}

float ppl_svi_evaluate_loss(ppl_ctx *ctx, struct ppl_svi *svi, void *args)
{
    float loss = NAN;
    svi->elbo.want_terms = false;
    nn_no_grad_enter(ctx->nn);
    nn_status st = ppl_elbo_compute(ctx, &svi->elbo, svi->model, svi->guide, args, &loss, NULL);
    nn_no_grad_exit(ctx->nn);
    nn_ctx_step_reset(ctx->nn);
    return st ? NAN : loss;
}
