/* vdsm/modules/encoder.c: the frame encoder. */
#include "vdsm/modules/encoder.h"

#include <stdio.h>
#include <string.h>

struct vdsm_encoder_config vdsm_encoder_config_default(int channels, int z_dim, int n_e_w, float slope)
{
    struct vdsm_encoder_config c = {.channels = channels, .z_dim = z_dim, .n_e_w = n_e_w,
                                    .width = {32, 32, 64, 64, 256}, .id_hidden = 128,
                                    .slope = slope, .head_slope = 0.01f};
    return c;
}

nn_status vdsm_encoder_init(struct vdsm_encoder *m, const struct vdsm_encoder_config *cfg, enum nn_device dev,
                            struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int in = cfg->channels;
    /* layers in the original's order, so the same seed draws the same kind of values per layer */
    for (int i = 0; i < 5; i++) {
        if (nn_conv2d_module_init(&m->conv[i], dev, in, cfg->width[i], 4, 1, i < 4 ? 1 : 0, true, rng, err))
            goto fail;
        in = cfg->width[i];
    }
    if (nn_linear_layer_init(&m->muvar, in, 2 * cfg->z_dim, true, dev, rng, err) ||
        nn_linear_layer_init(&m->bc1, in, cfg->id_hidden, true, dev, rng, err) ||
        nn_linear_layer_init(&m->bc2, cfg->id_hidden, 2 * cfg->n_e_w, true, dev, rng, err))
        goto fail;
    return NN_OK;
fail:
    vdsm_encoder_free(m);
    return err->code;
}

void vdsm_encoder_free(struct vdsm_encoder *m)
{
    for (int i = 0; i < 5; i++) nn_conv2d_module_free(&m->conv[i]);
    nn_linear_layer_free(&m->muvar);
    nn_linear_layer_free(&m->bc1);
    nn_linear_layer_free(&m->bc2);
}

/* Splits [N, 2K] into the first K columns and softplus of the last K. */
static void loc_scale(nn_ctx *ctx, struct nn_tensor *p, int64_t k, struct nn_tensor **loc,
                      struct nn_tensor **scale)
{
    *loc = nn_slice(ctx, p, 1, 0, k);
    *scale = nn_softplus(ctx, nn_slice(ctx, p, 1, k, 2 * k));
}

nn_status vdsm_encoder_forward(nn_ctx *ctx, const struct vdsm_encoder *m, struct nn_tensor *x,
                               struct vdsm_encoder_out *out)
{
    struct nn_tensor *h = x;
    for (int i = 0; i < 5; i++) {
        const struct nn_conv2d_module *c = &m->conv[i];
        if (i < 4 && m->cfg.slope == 1.0f) {
            /* slope 1 (the original's LeakyReLU(True)) is the identity: conv + BlurPool in
             * one op, which keeps no full-resolution convolution output */
            h = nn_conv2d_blurpool(ctx, h, c->weight, c->bias, c->pad);
            continue;
        }
        h = nn_conv2d_module_forward(ctx, c, h);
        if (m->cfg.slope != 1.0f) h = nn_leaky_relu(ctx, h, m->cfg.slope);
        if (i < 4) h = nn_blurpool(ctx, h);
    }
    if (!h) return nn_ctx_status(ctx);
    if (h->shape[2] != 1 || h->shape[3] != 1)
        return nn_ctx_fail(ctx, NN_SHAPE, "vdsm encoder: frames must be 64x64 (got %lldx%lld at the last conv)",
                           (long long)x->shape[2], (long long)x->shape[3]);
    h = nn_reshape_v(ctx, h, h->shape[0], m->cfg.width[4]);
    loc_scale(ctx, nn_linear_layer_forward(ctx, &m->muvar, h), m->cfg.z_dim, &out->z_loc, &out->z_scale);
    struct nn_tensor *bc = nn_linear_layer_forward(
        ctx, &m->bc2, nn_leaky_relu(ctx, nn_linear_layer_forward(ctx, &m->bc1, h), m->cfg.head_slope));
    loc_scale(ctx, bc, m->cfg.n_e_w, &out->id_loc, &out->id_scale);
    return out->id_scale ? NN_OK : nn_ctx_status(ctx);
}

int vdsm_encoder_params(const struct vdsm_encoder *m, const char *prefix, struct vdsm_param *out, int cap)
{
    int n = 0;
    char name[64];
    for (int i = 0; i < 5; i++) {
        /* nn.Sequential indices of the convs in the original: 0, 3, 6, 9, 12 */
        snprintf(name, sizeof name, "encoder.%d.weight", 3 * i);
        vdsm_param_add(out, cap, &n, prefix, name, m->conv[i].weight);
        snprintf(name, sizeof name, "encoder.%d.bias", 3 * i);
        vdsm_param_add(out, cap, &n, prefix, name, m->conv[i].bias);
    }
    vdsm_param_add(out, cap, &n, prefix, "muvar.weight", m->muvar.weight);
    vdsm_param_add(out, cap, &n, prefix, "muvar.bias", m->muvar.bias);
    vdsm_param_add(out, cap, &n, prefix, "BC_1.weight", m->bc1.weight);
    vdsm_param_add(out, cap, &n, prefix, "BC_1.bias", m->bc1.bias);
    vdsm_param_add(out, cap, &n, prefix, "BC_2.weight", m->bc2.weight);
    vdsm_param_add(out, cap, &n, prefix, "BC_2.bias", m->bc2.bias);
    return n;
}
