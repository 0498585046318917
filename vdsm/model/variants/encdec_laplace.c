/* Stage-1 variant `encdec_laplace`: the canonical VDSM_EncDec with a Laplace prior on the pose.
 *
 * In Pyro terms, one line of the model changes:
 *   z = pyro.sample("z", Laplace(0, 1/sqrt(2)).expand([z_dim]).to_event(1))   # was Normal(0, 1)
 * The scale 1/sqrt(2) keeps the prior's variance at 1, so only the shape differs: a sharper peak
 * at 0 and heavier tails, which favours poses with few active dimensions. The guide is the
 * canonical one (vdsm_encdec_guide): its Normal posteriors are scored against this prior by
 * Monte Carlo (Trace_ELBO; there is no analytic Normal/Laplace KL, so keep stage1.elbo: trace). */
#include <math.h>

#include "vdsm/model/vdsm.h"

static struct ppl_dist *iso(ppl_ctx *ctx, int64_t n, float s, bool laplace)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *loc = nn_zeros_v(nn, n), *scale = nn_full(nn, 1, (int64_t[]){n}, s);
    return ppl_to_event(ctx, laplace ? ppl_laplace(ctx, loc, scale) : ppl_normal(ctx, loc, scale), 1);
}

void vdsm_encdec_laplace_model(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], E = m->cfg.n_e_w, Z = m->cfg.z_dim;
    int64_t P = nn_numel(a->x) / (B * T);
    if (vdsm_net_module(ctx, m)) return;

    PPL_PLATE(ctx, individuals, "individuals", B, 0, -2) {
        struct nn_tensor *id = NULL;
        PPL_SCALE(ctx, a->anneal_id)
            id = ppl_sample(ctx, "ID", iso(ctx, E, 1.0f / (float)E, false), NULL);        /* [B, 1, E] */
        struct nn_tensor *w = vdsm_mixture(nn, nn_reshape_v(nn, id, B, E), a->temp);

        PPL_PLATE(ctx, time, "time", T, 0, -1) {
            struct nn_tensor *z = NULL;
            PPL_SCALE(ctx, a->anneal_t)
                z = ppl_sample(ctx, "z", iso(ctx, Z, (float)M_SQRT1_2, true), NULL);      /* [B, T, Z] */
            struct nn_tensor *logits = vdsm_decoder_logits(nn, &m->dec, nn_reshape_v(nn, z, B * T, Z), w);
            ppl_sample(ctx, "obs", vdsm_likelihood(ctx, m, nn_reshape_v(nn, logits, B, T, P)),
                       nn_reshape_v(nn, a->x, B, T, P));
        }
    }
}
