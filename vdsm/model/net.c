/* Building the VDSM network from a spec, naming its parameters, and choosing what trains. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/modules/init.h"
#include "vdsm/model/vdsm.h"

static void add_group(struct vdsm_net *net, int group, const struct vdsm_param *p, int n)
{
    for (int i = 0; i < n && net->nparams < VDSM_NET_MAX_PARAMS; i++) {
        net->params[net->nparams] = p[i];
        net->groups[net->nparams++] = group;
    }
}

static void add_linear(struct vdsm_net *net, int group, const char *prefix, const struct nn_linear_layer *l)
{
    struct vdsm_param p[2];
    int n = 0;
    vdsm_param_add(p, 2, &n, prefix, "weight", l->weight);
    vdsm_param_add(p, 2, &n, prefix, "bias", l->bias);
    add_group(net, group, p, n);
}

static void add_one(struct vdsm_net *net, int group, const char *name, struct nn_tensor *t)
{
    struct vdsm_param p;
    int n = 0;
    vdsm_param_add(&p, 1, &n, "", name, t);
    add_group(net, group, &p, n);
}

static void collect(struct vdsm_net *net)
{
    struct vdsm_param p[VDSM_MAX_PARAMS];
    net->nparams = 0;
    add_group(net, VDSM_GROUP_ENCDEC, p, vdsm_encoder_params(&net->enc, "enc.", p, VDSM_MAX_PARAMS));
    add_group(net, VDSM_GROUP_ENCDEC, p, vdsm_decoder_params(&net->dec, "dec.", p, VDSM_MAX_PARAMS));
    add_group(net, VDSM_GROUP_ID, p, vdsm_id_layers_params(&net->id, "id.", p, VDSM_MAX_PARAMS));
    add_group(net, VDSM_GROUP_SEQ, p, vdsm_rnn_encoder_params(&net->rnn_enc, "seq.rnn_enc.", p, VDSM_MAX_PARAMS));
    for (int i = 0; i < net->seq_dec.nparams; i++) {
        char name[VDSM_PARAM_NAME_LEN];
        snprintf(name, sizeof name, "seq.seq2seq_dec.%s", net->seq_dec.names[i]);
        add_one(net, VDSM_GROUP_SEQ, name, net->seq_dec.params[i]);
    }
    add_group(net, VDSM_GROUP_SEQ, p, vdsm_combiner_params(&net->comb, "seq.comb.", p, VDSM_MAX_PARAMS));
    add_group(net, VDSM_GROUP_SEQ, p, vdsm_transition_params(&net->trans, "seq.transitions.", p, VDSM_MAX_PARAMS));
    add_linear(net, VDSM_GROUP_SEQ, "seq.cats.", &net->cats);
    add_linear(net, VDSM_GROUP_SEQ, "seq.dz_to_dec_h.", &net->dz_to_dec_h);
    add_linear(net, VDSM_GROUP_SEQ, "seq.dz_to_dec_c.", &net->dz_to_dec_c);
    add_one(net, VDSM_GROUP_SEQ, "seq.h_0_enc", net->h_0_enc);
    add_one(net, VDSM_GROUP_SEQ, "seq.c_0_enc", net->c_0_enc);
    add_one(net, VDSM_GROUP_SEQ, "seq.z_q_0", net->z_q_0);
    add_one(net, VDSM_GROUP_SEQ, "seq.dec_inp_0", net->dec_inp_0);
}

static nn_status init_seq(struct vdsm_net *net, enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    const struct vdsm_spec_model *c = &net->cfg;
    int64_t Z = c->z_dim, D = c->dynamics_dim, K = c->lstm_hidden, L = c->lstm_layers;
    float slope = (float)c->leaky_slope;
    struct nn_lstm_config dec = {.input_size = K, .hidden_size = K, .num_layers = (int)L};
    if (vdsm_rnn_encoder_init(&net->rnn_enc, (int)Z, (int)K, (int)L, (float)c->lstm_dropout, slope, dev, rng, err) ||
        nn_lstm_init(&net->seq_dec, &dec, dev, rng, err) ||
        vdsm_combiner_init(&net->comb, (int)Z, (int)K, (int)D, slope, dev, rng, err) ||
        vdsm_transition_init(&net->trans, (int)Z, (int)D, (int)K, dev, rng, err) ||
        nn_linear_layer_init(&net->cats, 2 * L * K, 2 * D, true, dev, rng, err) ||
        nn_linear_layer_init(&net->dz_to_dec_h, D, L * K, true, dev, rng, err) ||
        nn_linear_layer_init(&net->dz_to_dec_c, D, L * K, true, dev, rng, err))
        return err->code;
    /* learned initial states, zero at the start as in the original */
    net->h_0_enc = nn_tensor_new(dev, 3, (int64_t[]){1, 1, K}, true, err);
    net->c_0_enc = nn_tensor_new(dev, 3, (int64_t[]){1, 1, K}, true, err);
    net->z_q_0 = nn_tensor_new(dev, 1, (int64_t[]){Z}, true, err);
    net->dec_inp_0 = nn_tensor_new(dev, 1, (int64_t[]){K}, true, err);
    return err->code;
}

static int scaled(int width, double scale)
{
    long w = lround(width * scale);
    return w < 1 ? 1 : (int)w;
}

void vdsm_net_configs(const struct vdsm_spec *spec, struct vdsm_encoder_config *enc, struct vdsm_decoder_config *dec)
{
    const struct vdsm_spec_model *c = &spec->model;
    double k = c->conv_width > 0 ? c->conv_width : 1;
    int ch = spec->dataset.channels;
    *enc = vdsm_encoder_config_default(ch, c->z_dim, c->n_e_w, (float)c->encoder_leaky_slope);
    enc->head_slope = (float)c->leaky_slope;
    for (int i = 0; i < 5; i++) enc->width[i] = scaled(enc->width[i], k);
    *dec = vdsm_decoder_config_default(ch, c->z_dim, c->n_e_w, (float)c->leaky_slope);
    dec->per_expert_init = c->decoder_init == VDSM_DEC_INIT_PER_EXPERT;
    for (int i = 0; i < 4; i++) dec->width[i] = scaled(dec->width[i], k);
}

nn_status vdsm_net_init(struct vdsm_net *net, const struct vdsm_spec *spec, enum nn_device dev,
                        struct nn_rng *rng, struct nn_err *err)
{
    memset(net, 0, sizeof *net);
    net->cfg = spec->model;
    net->channels = spec->dataset.channels;
    net->image_size = spec->dataset.image_size;
    net->dev = dev;
    if (net->image_size != 64)
        return nn_err_set(err, NN_UNSUPPORTED, "%s: dataset.image_size %d: the VDSM encoder and decoder are built for 64x64 frames",
                          spec->source ? spec->source : "spec", net->image_size);
    const struct vdsm_spec_model *c = &spec->model;
    struct vdsm_encoder_config ec;
    struct vdsm_decoder_config dc;
    vdsm_net_configs(spec, &ec, &dc);
    if (vdsm_encoder_init(&net->enc, &ec, dev, rng, err) || vdsm_decoder_init(&net->dec, &dc, dev, rng, err) ||
        vdsm_id_layers_init(&net->id, c->n_e_w, (float)c->leaky_slope, dev, rng, err) || init_seq(net, dev, rng, err)) {
        vdsm_net_free(net);
        return err->code;
    }
    collect(net);
    if (vdsm_net_set_stage(net, 1, err)) {
        vdsm_net_free(net);
        return err->code;
    }
    return NN_OK;
}

void vdsm_net_free(struct vdsm_net *net)
{
    vdsm_encoder_free(&net->enc);
    vdsm_decoder_free(&net->dec);
    vdsm_id_layers_free(&net->id);
    vdsm_rnn_encoder_free(&net->rnn_enc);
    nn_lstm_free(&net->seq_dec);
    vdsm_combiner_free(&net->comb);
    vdsm_transition_free(&net->trans);
    nn_linear_layer_free(&net->cats);
    nn_linear_layer_free(&net->dz_to_dec_h);
    nn_linear_layer_free(&net->dz_to_dec_c);
    nn_tensor_free(net->h_0_enc);
    nn_tensor_free(net->c_0_enc);
    nn_tensor_free(net->z_q_0);
    nn_tensor_free(net->dec_inp_0);
    memset(net, 0, sizeof *net);
}

nn_status vdsm_net_register(struct vdsm_net *net, struct ppl_param_store *store, struct nn_err *err)
{
    char name[VDSM_PARAM_NAME_LEN + 8];
    for (int i = 0; i < net->nparams; i++) {
        snprintf(name, sizeof name, "vdsm.%s", net->params[i].name);
        if (!ppl_store_borrow(store, name, net->params[i].t, err)) return err->code;
    }
    return NN_OK;
}

static int trained_groups(int stage)
{
    return stage == 1 ? (VDSM_GROUP_ENCDEC | VDSM_GROUP_ID) : (VDSM_GROUP_ID | VDSM_GROUP_SEQ);
}

nn_status vdsm_net_set_stage(struct vdsm_net *net, int stage, struct nn_err *err)
{
    net->stage = stage;
    /* frozen parameters give their gradient buffers back (Sprites stage 2: half a gigabyte) */
    for (int i = 0; i < net->nparams; i++) {
        if (!(net->groups[i] & trained_groups(stage))) nn_tensor_freeze(net->params[i].t);
        else if (nn_tensor_unfreeze(net->params[i].t, err)) return err->code;
    }
    return NN_OK;
}

nn_status vdsm_net_module(ppl_ctx *ctx, struct vdsm_net *net)
{
    struct nn_tensor *t[VDSM_NET_MAX_PARAMS];
    const char *names[VDSM_NET_MAX_PARAMS];
    int n = 0;
    for (int i = 0; i < net->nparams; i++)
        if (net->groups[i] & trained_groups(net->stage)) {
            t[n] = net->params[i].t;
            names[n++] = net->params[i].name;
        }
    return ppl_module(ctx, "vdsm", t, names, n);
}

int64_t vdsm_net_count(const struct vdsm_net *net, int stage)
{
    int64_t n = 0;
    for (int i = 0; i < net->nparams; i++)
        if (net->groups[i] & trained_groups(stage)) n += nn_numel(net->params[i].t);
    return n;
}
