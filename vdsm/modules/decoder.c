/* vdsm/modules/decoder.c: the mixture-of-experts decoder.
 *
 * The original blends the experts with broadcast multiplies and a sum over E for every sequence
 * in a Python loop and keeps every blended weight set for backward. nn_conv_transpose2d_mixture
 * blends with GEMMs a few sequences at a time, convolves each sequence's frames with its own
 * weights, and forms the blend again in backward instead of keeping it; its _leaky form adds
 * the bias and applies the hidden layers' LeakyReLU in the same pass over the output. */
#include "vdsm/modules/decoder.h"

#include <math.h>
#include <string.h>

#include "nn/modules/init.h"

struct vdsm_decoder_config vdsm_decoder_config_default(int channels, int z_dim, int n_e_w, float slope)
{
    struct vdsm_decoder_config c = {.channels = channels, .z_dim = z_dim, .n_e_w = n_e_w,
                                    .width = {512, 256, 128, 64}, .slope = slope};
    return c;
}

static void dims(const struct vdsm_decoder_config *c, int l, int64_t *cin, int64_t *cout)
{
    *cin = l == 0 ? c->z_dim + c->n_e_w : c->width[l - 1];
    *cout = l == 4 ? c->channels : c->width[l];
}

nn_status vdsm_decoder_init(struct vdsm_decoder *m, const struct vdsm_decoder_config *cfg, enum nn_device dev,
                            struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    for (int l = 0; l < 5; l++) {
        int64_t cin, cout;
        dims(cfg, l, &cin, &cout);
        m->ew[l] = nn_tensor_new(dev, 5, (const int64_t[]){cfg->n_e_w, cin, cout, 4, 4}, true, err);
        m->eb[l] = nn_tensor_new(dev, 2, (const int64_t[]){cfg->n_e_w, cout}, true, err);
        if (!m->ew[l] || !m->eb[l]) goto fail;
    }
    /* the original initialises all weights first, then zeroes the biases; per expert, the
     * bound is PyTorch's ConvTranspose2d default, 1/sqrt(fan_in) with fan_in = Cout*4*4 */
    for (int l = 0; l < 5; l++) {
        int64_t cin, cout;
        dims(cfg, l, &cin, &cout);
        float bound = 1.0f / sqrtf((float)(cout * 16));
        if (cfg->per_expert_init ? nn_init_uniform(m->ew[l], -bound, bound, rng, err)
                                 : nn_init_kaiming_uniform(m->ew[l], sqrtf(5.0f), NN_GAIN_LEAKY_RELU, rng, err))
            goto fail;
    }
    for (int l = 0; l < 5; l++)
        if (nn_init_constant(m->eb[l], 0.0f, err)) goto fail;
    return NN_OK;
fail:
    vdsm_decoder_free(m);
    return err->code ? err->code : NN_OOM;
}

void vdsm_decoder_free(struct vdsm_decoder *m)
{
    for (int l = 0; l < 5; l++) {
        nn_tensor_free(m->ew[l]);
        nn_tensor_free(m->eb[l]);
        m->ew[l] = m->eb[l] = NULL;
    }
}

static struct nn_tensor *decode(nn_ctx *ctx, const struct vdsm_decoder *m, struct nn_tensor *z,
                                       struct nn_tensor *w, bool logits)
{
    if (!z || !w) return NULL;
    const struct vdsm_decoder_config *c = &m->cfg;
    int64_t n = z->shape[0], b = w->shape[0];
    if (z->ndim != 2 || w->ndim != 2 || z->shape[1] != c->z_dim || w->shape[1] != c->n_e_w || b < 1 || n % b) {
        char zs[64], ws[64];
        nn_ctx_fail(ctx, NN_SHAPE, "vdsm decoder: z %s must be [B*T, %d] and w %s [B, %d]",
                    nn_shape_str(z, zs, sizeof zs), c->z_dim, nn_shape_str(w, ws, sizeof ws), c->n_e_w);
        return NULL;
    }
    int64_t t = n / b;
    /* each frame's input is its z followed by its sequence's mixture weights */
    struct nn_tensor *wf = nn_reshape_v(ctx, nn_expand(ctx, nn_unsqueeze(ctx, w, 1), 3, (const int64_t[]){b, t, c->n_e_w}),
                                        n, c->n_e_w);
    struct nn_tensor *h = nn_concat(ctx, (struct nn_tensor *const[]){z, wf}, 2, 1);
    h = nn_reshape_v(ctx, h, n, c->z_dim + c->n_e_w, 1, 1);
    for (int l = 0; l < 5; l++) {
        int64_t cin, cout;
        dims(c, l, &cin, &cout);
        /* each sequence's weights and bias: its mixture of the experts' (formed a few
         * sequences at a time inside the op, never kept) */
        if (l < 4) /* the bias and LeakyReLU in the op's pass over its output */
            h = nn_conv_transpose2d_mixture_leaky(ctx, h, w, m->ew[l], m->eb[l], l ? 2 : 1, l ? 1 : 0, c->slope);
        else if ((h = nn_conv_transpose2d_mixture(ctx, h, w, m->ew[l], m->eb[l], 2, 1)) && !logits)
            h = nn_sigmoid(ctx, h);
    }
    return h;
}

struct nn_tensor *vdsm_decoder_forward(nn_ctx *ctx, const struct vdsm_decoder *m, struct nn_tensor *z,
                                       struct nn_tensor *w)
{
    return decode(ctx, m, z, w, false);
}

struct nn_tensor *vdsm_decoder_logits(nn_ctx *ctx, const struct vdsm_decoder *m, struct nn_tensor *z,
                                      struct nn_tensor *w)
{
    return decode(ctx, m, z, w, true);
}

int vdsm_decoder_params(const struct vdsm_decoder *m, const char *prefix, struct vdsm_param *out, int cap)
{
    static const char *const wn[5] = {"EW1", "EW2", "EW3", "EW4", "EW5"}, *const bn[5] = {"EB1", "EB2", "EB3", "EB4", "EB5"};
    int n = 0;
    for (int l = 0; l < 5; l++) vdsm_param_add(out, cap, &n, prefix, wn[l], m->ew[l]);
    for (int l = 0; l < 5; l++) vdsm_param_add(out, cap, &n, prefix, bn[l], m->eb[l]);
    return n;
}
