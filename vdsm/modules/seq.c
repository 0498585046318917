/* vdsm/modules/seq.c: identity layers, the bidirectional LSTM encoder, the combiner and the
 * gated transition. */
#include "vdsm/modules/seq.h"

#include <stdio.h>
#include <string.h>

#include "nn/modules/init.h"

#define LIN(m, f, in, out) nn_linear_layer_init(&(m)->f, in, out, true, dev, rng, err)

static void lin_params(const struct nn_linear_layer *l, const char *prefix, const char *name,
                       struct vdsm_param *out, int cap, int *n)
{
    char buf[80];
    snprintf(buf, sizeof buf, "%s.weight", name);
    vdsm_param_add(out, cap, n, prefix, buf, l->weight);
    snprintf(buf, sizeof buf, "%s.bias", name);
    vdsm_param_add(out, cap, n, prefix, buf, l->bias);
}

static struct nn_tensor *cat2(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b)
{
    if (!a || !b) return NULL;
    return nn_concat(ctx, (struct nn_tensor *const[]){a, b}, 2, -1);
}

/* ---- identity layers */

nn_status vdsm_id_layers_init(struct vdsm_id_layers *m, int n_e_w, float slope, enum nn_device dev,
                              struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->slope = slope;
    if (LIN(m, loc, n_e_w, n_e_w) || LIN(m, scale, n_e_w, n_e_w)) {
        vdsm_id_layers_free(m);
        return err->code;
    }
    return NN_OK;
}

void vdsm_id_layers_free(struct vdsm_id_layers *m)
{
    nn_linear_layer_free(&m->loc);
    nn_linear_layer_free(&m->scale);
}

nn_status vdsm_id_layers_forward(nn_ctx *ctx, const struct vdsm_id_layers *m, struct nn_tensor *loc,
                                 struct nn_tensor *scale, struct nn_tensor **loc_out, struct nn_tensor **scale_out)
{
    *loc_out = nn_leaky_relu(ctx, nn_linear_layer_forward(ctx, &m->loc, loc), m->slope);
    *scale_out = nn_softplus(ctx, nn_linear_layer_forward(ctx, &m->scale, scale));
    return *loc_out && *scale_out ? NN_OK : nn_ctx_status(ctx);
}

int vdsm_id_layers_params(const struct vdsm_id_layers *m, const char *prefix, struct vdsm_param *out, int cap)
{
    int n = 0;
    lin_params(&m->loc, prefix, "loc_layer", out, cap, &n);
    lin_params(&m->scale, prefix, "scale_layer", out, cap, &n);
    return n;
}

/* ---- bidirectional LSTM encoder */

nn_status vdsm_rnn_encoder_init(struct vdsm_rnn_encoder *m, int z_dim, int hidden, int layers, float dropout,
                                float slope, enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->dropout = dropout;
    m->slope = slope;
    struct nn_lstm_config c = {.input_size = z_dim, .hidden_size = hidden, .num_layers = layers,
                               .bidirectional = true, .dropout = dropout};
    if (nn_lstm_init(&m->rnn, &c, dev, rng, err)) return err->code;
    if (LIN(m, fc_out, 2 * hidden, z_dim)) {
        vdsm_rnn_encoder_free(m);
        return err->code;
    }
    return NN_OK;
}

void vdsm_rnn_encoder_free(struct vdsm_rnn_encoder *m)
{
    if (m->rnn.params) nn_lstm_free(&m->rnn);
    memset(&m->rnn, 0, sizeof m->rnn);
    nn_linear_layer_free(&m->fc_out);
}

nn_status vdsm_rnn_encoder_forward(nn_ctx *ctx, struct vdsm_rnn_encoder *m, struct nn_tensor *x,
                                   struct nn_tensor *h0, struct nn_tensor *c0, bool training, struct nn_rng *rng,
                                   struct vdsm_rnn_encoder_out *out)
{
    out->raw = nn_lstm_forward(ctx, &m->rnn, x, h0, c0, training, rng, &out->h, &out->c);
    struct nn_tensor *y = nn_linear_layer_forward(ctx, &m->fc_out, out->raw);
    if (training && m->dropout > 0) y = nn_dropout(ctx, y, m->dropout, rng);
    out->out = nn_leaky_relu(ctx, y, m->slope);
    return out->out ? NN_OK : nn_ctx_status(ctx);
}

int vdsm_rnn_encoder_params(const struct vdsm_rnn_encoder *m, const char *prefix, struct vdsm_param *out, int cap)
{
    int n = 0;
    char name[64];
    for (int i = 0; i < m->rnn.nparams; i++) {
        snprintf(name, sizeof name, "rnn.%s", m->rnn.names[i]);
        vdsm_param_add(out, cap, &n, prefix, name, m->rnn.params[i]);
    }
    lin_params(&m->fc_out, prefix, "fc_out.0", out, cap, &n);
    return n;
}

/* ---- combiner */

nn_status vdsm_combiner_init(struct vdsm_combiner *m, int z_dim, int hidden, int dynamics_dim, float slope,
                             enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->slope = slope;
    if (LIN(m, h_rnn_to_hidden, dynamics_dim + hidden, hidden) || LIN(m, lin_z_to_hidden, z_dim, hidden) ||
        LIN(m, lin_hidden_to_loc, hidden, z_dim) || LIN(m, lin_hidden_to_scale, hidden, z_dim)) {
        vdsm_combiner_free(m);
        return err->code;
    }
    return NN_OK;
}

void vdsm_combiner_free(struct vdsm_combiner *m)
{
    nn_linear_layer_free(&m->h_rnn_to_hidden);
    nn_linear_layer_free(&m->lin_z_to_hidden);
    nn_linear_layer_free(&m->lin_hidden_to_loc);
    nn_linear_layer_free(&m->lin_hidden_to_scale);
}

nn_status vdsm_combiner_forward(nn_ctx *ctx, const struct vdsm_combiner *m, struct nn_tensor *z_prev,
                                struct nn_tensor *h_rnn, struct nn_tensor *dz, struct nn_tensor **loc,
                                struct nn_tensor **scale)
{
    struct nn_tensor *h = nn_leaky_relu(ctx, nn_linear_layer_forward(ctx, &m->h_rnn_to_hidden, cat2(ctx, h_rnn, dz)),
                                        m->slope);
    struct nn_tensor *zt = nn_tanh(ctx, nn_linear_layer_forward(ctx, &m->lin_z_to_hidden, z_prev));
    struct nn_tensor *g = nn_mul_scalar(ctx, nn_add(ctx, zt, h), 0.5f);
    *loc = nn_linear_layer_forward(ctx, &m->lin_hidden_to_loc, g);
    *scale = nn_softplus(ctx, nn_linear_layer_forward(ctx, &m->lin_hidden_to_scale, g));
    return *loc && *scale ? NN_OK : nn_ctx_status(ctx);
}

int vdsm_combiner_params(const struct vdsm_combiner *m, const char *prefix, struct vdsm_param *out, int cap)
{
    int n = 0;
    lin_params(&m->h_rnn_to_hidden, prefix, "h_rnn_to_hidden", out, cap, &n);
    lin_params(&m->lin_z_to_hidden, prefix, "lin_z_to_hidden", out, cap, &n);
    lin_params(&m->lin_hidden_to_loc, prefix, "lin_hidden_to_loc", out, cap, &n);
    lin_params(&m->lin_hidden_to_scale, prefix, "lin_hidden_to_scale", out, cap, &n);
    return n;
}

/* ---- gated transition */

static struct nn_linear_layer *trans_layers(struct vdsm_transition *m, int i)
{
    struct nn_linear_layer *ls[6] = {&m->lin_gate_z_to_hidden, &m->lin_gate_hidden_to_z,
                                     &m->lin_proposed_mean_z_to_hidden, &m->lin_proposed_mean_hidden_to_z,
                                     &m->lin_sig, &m->lin_z_to_loc};
    return ls[i];
}

nn_status vdsm_transition_init(struct vdsm_transition *m, int z_dim, int dynamics_dim, int hidden,
                               enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    /* the original builds lin_z_to_loc as Linear(Z+D, Z) and then replaces its weight by eye(Z):
     * in use it maps z_prev alone, so it is a [Z, Z] layer here */
    if (LIN(m, lin_gate_z_to_hidden, z_dim + dynamics_dim, hidden) || LIN(m, lin_gate_hidden_to_z, hidden, z_dim) ||
        LIN(m, lin_proposed_mean_z_to_hidden, z_dim + dynamics_dim, hidden) ||
        LIN(m, lin_proposed_mean_hidden_to_z, hidden, z_dim) || LIN(m, lin_sig, z_dim, z_dim) ||
        LIN(m, lin_z_to_loc, z_dim, z_dim))
        goto fail;
    for (int i = 0; i < 6; i++) {
        struct nn_linear_layer *l = trans_layers(m, i);
        if (nn_init_kaiming_normal(l->weight, 0.0f, NN_GAIN_LEAKY_RELU, rng, err) ||
            nn_init_constant(l->bias, 0.0f, err))
            goto fail;
    }
    return NN_OK;
fail:
    vdsm_transition_free(m);
    return err->code;
}

void vdsm_transition_free(struct vdsm_transition *m)
{
    for (int i = 0; i < 6; i++) nn_linear_layer_free(trans_layers(m, i));
}

nn_status vdsm_transition_forward(nn_ctx *ctx, const struct vdsm_transition *m, struct nn_tensor *z_prev,
                                  struct nn_tensor *dz, struct nn_tensor **loc, struct nn_tensor **scale)
{
    struct nn_tensor *c = cat2(ctx, z_prev, dz);
    struct nn_tensor *gate = nn_sigmoid(ctx, nn_linear_layer_forward(ctx, &m->lin_gate_hidden_to_z,
                                        nn_relu(ctx, nn_linear_layer_forward(ctx, &m->lin_gate_z_to_hidden, c))));
    struct nn_tensor *pm = nn_linear_layer_forward(ctx, &m->lin_proposed_mean_hidden_to_z,
                           nn_relu(ctx, nn_linear_layer_forward(ctx, &m->lin_proposed_mean_z_to_hidden, c)));
    struct nn_tensor *lin = nn_linear_layer_forward(ctx, &m->lin_z_to_loc, z_prev);
    /* (1 - gate) lin + gate pm  =  lin + gate (pm - lin) */
    *loc = nn_add(ctx, lin, nn_mul(ctx, gate, nn_sub(ctx, pm, lin)));
    *scale = nn_softplus(ctx, nn_linear_layer_forward(ctx, &m->lin_sig, nn_relu(ctx, pm)));
    return *loc && *scale ? NN_OK : nn_ctx_status(ctx);
}

int vdsm_transition_params(const struct vdsm_transition *m, const char *prefix, struct vdsm_param *out, int cap)
{
    static const char *const names[6] = {"lin_gate_z_to_hidden", "lin_gate_hidden_to_z",
                                         "lin_proposed_mean_z_to_hidden", "lin_proposed_mean_hidden_to_z",
                                         "lin_sig", "lin_z_to_loc"};
    int n = 0;
    for (int i = 0; i < 6; i++) lin_params(trans_layers((struct vdsm_transition *)m, i), prefix, names[i], out, cap, &n);
    return n;
}
