/* Stage 1 (the original's VDSM_EncDec): identity and per-frame pose, mixture-of-experts decoder.
 *
 * Pyro original, for comparison (VDSM_release/VDSM.py):
 *   with id_plate:                                   # "individuals", dim=-2
 *       with poutine.scale(scale=anneal_id):
 *           ID = pyro.sample("ID", Normal(0, 1/n_e_w).expand([n_e_w]).to_event(1)) * temp
 *       ID = softmax(ID)
 *       with time_plate:                             # "time", dim=-1
 *           with poutine.scale(scale=anneal_t):
 *               z = pyro.sample("z", Normal(0, 1).expand([z_dim]).to_event(1))
 *           pyro.sample("obs", Bernoulli(dec(z, ID)).to_event(1), obs=x)
 * The original decodes sequence by sequence in a Python loop; here all B sequences go through
 * the decoder at once (each with its own blended expert weights). */
#include "vdsm/model/vdsm.h"

struct nn_tensor *vdsm_mixture(nn_ctx *nn, struct nn_tensor *id, float temp)
{
    return nn_softmax(nn, nn_mul_scalar(nn, id, temp), -1);
}

struct ppl_dist *vdsm_likelihood(ppl_ctx *ctx, const struct vdsm_net *net, struct nn_tensor *logits)
{
    switch (net->cfg.likelihood) {
    case VDSM_LIK_CONT_BERNOULLI:
        return ppl_to_event(ctx, ppl_cbernoulli_logits(ctx, logits), 1);
    case VDSM_LIK_NORMAL: {
        struct nn_tensor *scale = nn_full(ctx->nn, 1, (int64_t[]){1}, (float)net->cfg.normal_scale);
        return ppl_to_event(ctx, ppl_normal(ctx, nn_sigmoid(ctx->nn, logits), scale), 1);
    }
    case VDSM_LIK_BERNOULLI_CLAMPED: /* the release's Bernoulli(probs): ppl clamps probs to [eps, 1 - eps] */
        return ppl_to_event(ctx, ppl_bernoulli_probs(ctx, nn_sigmoid(ctx->nn, logits)), 1);
    default:
        return ppl_to_event(ctx, ppl_bernoulli_logits(ctx, logits), 1);
    }
}

struct ppl_dist *vdsm_normal(ppl_ctx *ctx, const struct vdsm_net *net, struct nn_tensor *loc, struct nn_tensor *scale)
{
    if (net->cfg.min_scale > 0) scale = nn_add_scalar(ctx->nn, scale, (float)net->cfg.min_scale);
    return ppl_to_event(ctx, ppl_normal(ctx, loc, scale), 1);
}

/* standard normal prior over the last dim: Normal(0, s).expand([n]).to_event(1) */
static struct ppl_dist *iso_normal(ppl_ctx *ctx, int64_t n, float s)
{
    nn_ctx *nn = ctx->nn;
    return ppl_to_event(ctx, ppl_normal(ctx, nn_zeros_v(nn, n), nn_full(nn, 1, (int64_t[]){n}, s)), 1);
}

void vdsm_encdec_model(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], E = m->cfg.n_e_w, Z = m->cfg.z_dim;
    int64_t P = nn_numel(a->x) / (B * T);
    if (vdsm_net_module(ctx, m)) return;                          /* pyro.module */

    PPL_PLATE(ctx, individuals, "individuals", B, 0, -2) {
        struct nn_tensor *id = NULL;
        PPL_SCALE(ctx, a->anneal_id)
            id = ppl_sample(ctx, "ID", iso_normal(ctx, E, 1.0f / (float)E), NULL);   /* [B, 1, E] */
        struct nn_tensor *w = vdsm_mixture(nn, nn_reshape_v(nn, id, B, E), a->temp);

        PPL_PLATE(ctx, time, "time", T, 0, -1) {
            struct nn_tensor *z = NULL;
            PPL_SCALE(ctx, a->anneal_t)
                z = ppl_sample(ctx, "z", iso_normal(ctx, Z, 1.0f), NULL);         /* [B, T, Z] */
            struct nn_tensor *logits = vdsm_decoder_logits(nn, &m->dec, nn_reshape_v(nn, z, B * T, Z), w);
            ppl_sample(ctx, "obs", vdsm_likelihood(ctx, m, nn_reshape_v(nn, logits, B, T, P)),
                       nn_reshape_v(nn, a->x, B, T, P));
        }
    }
}

void vdsm_encdec_guide(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], C = a->x->shape[2], S = a->x->shape[3];
    int64_t E = m->cfg.n_e_w, Z = m->cfg.z_dim;
    if (vdsm_net_module(ctx, m)) return;

    /* every frame through the encoder at once; identity parameters averaged over the frames */
    struct vdsm_encoder_out e;
    if (vdsm_encoder_forward(nn, &m->enc, nn_reshape_v(nn, a->x, B * T, C, S, S), &e)) return;
    struct nn_tensor *id_loc, *id_scale;
    if (vdsm_id_layers_forward(nn, &m->id, e.id_loc, e.id_scale, &id_loc, &id_scale)) return;
    id_loc = nn_mean(nn, nn_reshape_v(nn, id_loc, B, T, E), 1, true);       /* [B, 1, E] */
    id_scale = nn_mean(nn, nn_reshape_v(nn, id_scale, B, T, E), 1, true);
    struct nn_tensor *z_loc = nn_reshape_v(nn, e.z_loc, B, T, Z);
    struct nn_tensor *z_scale = nn_reshape_v(nn, e.z_scale, B, T, Z);

    PPL_PLATE(ctx, individuals, "individuals", B, 0, -2) {
        PPL_SCALE(ctx, a->anneal_id)
            ppl_sample(ctx, "ID", vdsm_normal(ctx, m, id_loc, id_scale), NULL);
        PPL_PLATE(ctx, time, "time", T, 0, -1) {
            PPL_SCALE(ctx, a->anneal_t)
                ppl_sample(ctx, "z", vdsm_normal(ctx, m, z_loc, z_scale), NULL);
        }
    }
}
