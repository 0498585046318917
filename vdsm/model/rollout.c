/* The networks' deterministic paths: encoding a clip, the guide's dynamics head and decoder
 * rollout, the prior's transition rollout, decoding. The stage-2 guide uses the same pieces
 * with sampling in between. */
#include "nn/internal.h"
#include "vdsm/model/internal.h"

nn_status vdsm__encode_frames(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *x, struct nn_tensor **z_loc,
                              struct nn_tensor **z_scale, struct nn_tensor **id_loc, struct nn_tensor **id_scale)
{
    if (!x) return nn_ctx_status(nn);
    int64_t B = x->shape[0], T = x->shape[1], C = x->shape[2], S = x->shape[3];
    int64_t E = m->cfg.n_e_w, Z = m->cfg.z_dim;
    struct vdsm_encoder_out e;
    if (vdsm_encoder_forward(nn, &m->enc, nn_reshape_v(nn, x, B * T, C, S, S), &e)) return nn_ctx_status(nn);
    struct nn_tensor *il, *is;
    if (vdsm_id_layers_forward(nn, &m->id, e.id_loc, e.id_scale, &il, &is)) return nn_ctx_status(nn);
    *id_loc = nn_mean(nn, nn_reshape_v(nn, il, B, T, E), 1, false);
    *id_scale = nn_mean(nn, nn_reshape_v(nn, is, B, T, E), 1, false);
    *z_loc = nn_reshape_v(nn, e.z_loc, B, T, Z);
    *z_scale = nn_reshape_v(nn, e.z_scale, B, T, Z);
    return nn_ctx_status(nn);
}

nn_status vdsm__dynamics(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *pre_z, bool training,
                         struct nn_rng *rng, struct nn_tensor **loc, struct nn_tensor **scale)
{
    if (!pre_z) return nn_ctx_status(nn);
    int64_t B = pre_z->shape[0], K = m->cfg.lstm_hidden, L = m->cfg.lstm_layers, D = m->cfg.dynamics_dim;
    struct nn_tensor *h0 = nn_expand(nn, m->h_0_enc, 3, (int64_t[]){2 * L, B, K});
    struct nn_tensor *c0 = nn_expand(nn, m->c_0_enc, 3, (int64_t[]){2 * L, B, K});
    struct vdsm_rnn_encoder_out r;
    if (vdsm_rnn_encoder_forward(nn, &m->rnn_enc, nn_transpose(nn, pre_z, 0, 1), h0, c0, training, rng, &r))
        return nn_ctx_status(nn);
    /* h_n [2L, B, K] -> [B, 2L*K], as the original's permute(1, 0, 2).view(bs, -1) */
    struct nn_tensor *h = nn_reshape_v(nn, nn_transpose(nn, r.h, 0, 1), B, 2 * L * K);
    struct nn_tensor *d = nn_linear_layer_forward(nn, &m->cats, h);
    *loc = nn_leaky_relu(nn, nn_slice(nn, d, 1, 0, D), (float)m->cfg.leaky_slope);
    *scale = nn_softplus(nn, nn_slice(nn, d, 1, D, 2 * D));
    return nn_ctx_status(nn);
}

nn_status vdsm__decoder_state(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *dz, struct nn_tensor **h,
                              struct nn_tensor **c)
{
    if (!dz) return nn_ctx_status(nn);
    int64_t B = dz->shape[0], K = m->cfg.lstm_hidden, L = m->cfg.lstm_layers;
    /* [B, L*K] -> [L, B, K], as view(-1, L, K).permute(1, 0, 2) */
    *h = nn_contiguous(nn, nn_transpose(nn, nn_reshape_v(nn, nn_linear_layer_forward(nn, &m->dz_to_dec_h, dz), B, L, K), 0, 1));
    *c = nn_contiguous(nn, nn_transpose(nn, nn_reshape_v(nn, nn_linear_layer_forward(nn, &m->dz_to_dec_c, dz), B, L, K), 0, 1));
    return nn_ctx_status(nn);
}

nn_status vdsm__guide_step(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor **inp, struct nn_tensor **h,
                           struct nn_tensor **c, struct nn_tensor *z_prev, struct nn_tensor *dz,
                           struct nn_tensor **loc, struct nn_tensor **scale)
{
    struct nn_tensor *hn = NULL, *cn = NULL;
    struct nn_tensor *out = nn_lstm_forward(nn, &m->seq_dec, *inp, *h, *c, false, NULL, &hn, &cn);
    *inp = out;
    *h = hn;
    *c = cn;
    if (!out) return nn_ctx_status(nn);
    return vdsm_combiner_forward(nn, &m->comb, z_prev, nn_select(nn, out, 0, 0), dz, loc, scale);
}

nn_status vdsm_encode(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *x, bool with_dynamics,
                      struct vdsm_encoding *out)
{
    struct nn_tensor *z_scale, *id_scale, *dz_scale;
    out->dz = NULL;
    if (vdsm__encode_frames(nn, m, x, &out->z, &z_scale, &out->id, &id_scale)) return nn_ctx_status(nn);
    if (with_dynamics) return vdsm__dynamics(nn, m, out->z, false, NULL, &out->dz, &dz_scale);
    return NN_OK;
}

struct nn_tensor *vdsm_decode(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *z, struct nn_tensor *w)
{
    if (!NN_OK_IN(nn, z, w)) return NULL;
    int64_t B = z->shape[0], T = z->shape[1], S = m->image_size;
    struct nn_tensor *y = vdsm_decoder_forward(nn, &m->dec, nn_reshape_v(nn, z, B * T, m->cfg.z_dim), w);
    return nn_reshape_v(nn, y, B, T, m->channels, S, S);
}

struct nn_tensor *vdsm_rollout_guide(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *dz, int64_t t)
{
    if (!NN_OK_IN(nn, dz)) return NULL;
    int64_t B = dz->shape[0], Z = m->cfg.z_dim, K = m->cfg.lstm_hidden;
    struct nn_tensor *h, *c;
    if (vdsm__decoder_state(nn, m, dz, &h, &c)) return NULL;
    struct nn_tensor *inp = nn_expand(nn, nn_reshape_v(nn, m->dec_inp_0, 1, 1, K), 3, (int64_t[]){1, B, K});
    struct nn_tensor *z = nn_expand(nn, nn_reshape_v(nn, m->z_q_0, 1, Z), 2, (int64_t[]){B, Z});
    struct nn_tensor **zs = nn_ctx_alloc_meta(nn, (size_t)t * sizeof *zs);
    if (!zs) return NULL;
    for (int64_t i = 0; i < t; i++) {
        struct nn_tensor *scale;
        if (vdsm__guide_step(nn, m, &inp, &h, &c, z, dz, &zs[i], &scale)) return NULL;
        z = zs[i];
    }
    return nn_stack(nn, zs, (int)t, 1);
}

struct nn_tensor *vdsm_rollout_prior(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *z0,
                                     struct nn_tensor *dz, int64_t t)
{
    if (!NN_OK_IN(nn, z0, dz)) return NULL;
    struct nn_tensor **zs = nn_ctx_alloc_meta(nn, (size_t)t * sizeof *zs);
    if (!zs) return NULL;
    zs[0] = z0;
    for (int64_t i = 1; i < t; i++) {
        struct nn_tensor *scale;
        if (vdsm_transition_forward(nn, &m->trans, zs[i - 1], dz, &zs[i], &scale)) return NULL;
    }
    return nn_stack(nn, zs, (int)t, 1);
}

nn_status vdsm_sample_prior(nn_ctx *nn, struct vdsm_net *m, struct nn_rng *rng, int64_t b,
                            struct nn_tensor **id, struct nn_tensor **dz)
{
    int64_t E = m->cfg.n_e_w, D = m->cfg.dynamics_dim;
    *id = nn_mul_scalar(nn, nn_randn(nn, rng, 2, (int64_t[]){b, E}), 1.0f / (float)E);
    *dz = nn_mul_scalar(nn, nn_randn(nn, rng, 2, (int64_t[]){b, D}), 1.0f / (float)D);
    return nn_ctx_status(nn);
}
