/* The judge and DSA classifiers (vdsm/eval/classifier.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "ppl/store/store.h"
#include "vdsm/eval/classifier.h"

struct vdsm_clf_config vdsm_clf_defaults(int kind, const struct vdsm_meta *meta)
{
    struct vdsm_clf_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.channels = meta ? (int)meta->shape[4] : 3;
    c.image_size = meta ? (int)meta->shape[2] : 64;
    c.nf = 64;
    c.feat = 128;
    c.code = 1024;
    c.hidden = kind == VDSM_CLF_DSA ? 512 : 256;
    if (meta) {
        c.n_heads = meta->n_factors < VDSM_CLF_MAX_HEADS ? meta->n_factors : VDSM_CLF_MAX_HEADS;
        for (int k = 0; k < c.n_heads; k++) {
            c.n_classes[k] = meta->factors[k].n_classes;
            c.identity[k] = meta->factors[k].identity;
            snprintf(c.names[k], sizeof c.names[k], "%s", meta->factors[k].name);
        }
    }
    return c;
}

static void add_named(struct vdsm_clf *c, const char *prefix, struct nn_tensor *t, bool trainable)
{
    if (!t || c->nnamed == VDSM_CLF_MAX_NAMED) return;
    struct vdsm_clf_named *n = &c->named[c->nnamed++];
    snprintf(n->name, sizeof n->name, "%s.%s", prefix, t->name ? t->name : "?");
    n->t = t;
    n->trainable = trainable;
}

static void name_linear(struct vdsm_clf *c, const char *prefix, struct nn_linear_layer *l)
{
    l->weight->name = "weight";
    add_named(c, prefix, l->weight, true);
    if (l->bias) {
        l->bias->name = "bias";
        add_named(c, prefix, l->bias, true);
    }
}

static void name_conv(struct vdsm_clf *c, const char *prefix, struct nn_conv2d_module *m)
{
    m->weight->name = "weight";
    add_named(c, prefix, m->weight, true);
    m->bias->name = "bias";
    add_named(c, prefix, m->bias, true);
}

static void name_bn(struct vdsm_clf *c, const char *prefix, struct nn_batchnorm *b)
{
    add_named(c, prefix, b->weight, true);
    add_named(c, prefix, b->bias, true);
    add_named(c, prefix, b->running_mean, false);
    add_named(c, prefix, b->running_var, false);
}

static nn_status check_config(const struct vdsm_clf_config *cfg, struct nn_err *err)
{
    if (cfg->kind != VDSM_CLF_JUDGE && cfg->kind != VDSM_CLF_DSA)
        return nn_err_set(err, NN_SHAPE, "classifier: unknown kind %d", cfg->kind);
    if (cfg->image_size < 16 || cfg->image_size % 16 || cfg->channels < 1)
        return nn_err_set(err, NN_SHAPE, "classifier: frames %dx%dx%d; need a size that is a multiple of 16",
                          cfg->image_size, cfg->image_size, cfg->channels);
    if (cfg->n_heads < 1 || cfg->n_heads > VDSM_CLF_MAX_HEADS)
        return nn_err_set(err, NN_SHAPE, "classifier: %d labelled factors (1..%d supported)", cfg->n_heads,
                          VDSM_CLF_MAX_HEADS);
    if (cfg->nf < 1 || cfg->feat < 1 || cfg->code < 1 || cfg->hidden < 2)
        return nn_err_set(err, NN_SHAPE, "classifier: sizes must be positive");
    for (int k = 0; k < cfg->n_heads; k++)
        if (cfg->n_classes[k] < 1) return nn_err_set(err, NN_SHAPE, "classifier: factor %d has no classes", k);
    return NN_OK;
}

static int dsa_side(int h)
{
    int s = (h + 2 - 5) / 4 + 1;
    return (s + 2 - 5) / 4 + 1;
}

nn_status vdsm_clf_init(struct vdsm_clf *c, const struct vdsm_clf_config *cfg, enum nn_device dev,
                        struct nn_rng *rng, struct nn_err *err)
{
    memset(c, 0, sizeof *c);
    if (check_config(cfg, err)) return err->code;
    c->cfg = *cfg;
    char p[64];
    bool judge = cfg->kind == VDSM_CLF_JUDGE;
    c->nconv = judge ? 5 : 2;
    int ch = cfg->channels;
    for (int i = 0; i < c->nconv; i++) {
        int out = i == 4 ? cfg->feat : cfg->nf << i;
        int k = judge ? (i == 4 ? cfg->image_size / 16 : 4) : 5;
        int stride = judge ? (i == 4 ? 1 : 2) : 4;
        int pad = judge ? (i == 4 ? 0 : 1) : 1;
        if (nn_conv2d_module_init(&c->conv[i], dev, ch, out, k, stride, pad, true, rng, err) ||
            nn_batchnorm_init(&c->bn[i], out, dev, err))
            goto fail;
        snprintf(p, sizeof p, "conv.%d", i);
        name_conv(c, p, &c->conv[i]);
        snprintf(p, sizeof p, "bn.%d", i);
        name_bn(c, p, &c->bn[i]);
        ch = out;
    }
    struct nn_lstm_config lc = {.hidden_size = cfg->hidden, .num_layers = 1, .batch_first = true};
    if (judge) {
        lc.input_size = cfg->feat;
        lc.bidirectional = true;
    } else {
        int s = dsa_side(cfg->image_size);
        if (nn_linear_layer_init(&c->fc, (int64_t)ch * s * s, cfg->code, true, dev, rng, err) ||
            nn_batchnorm_init(&c->fc_bn, cfg->code, dev, err))
            goto fail;
        name_linear(c, "fc", &c->fc);
        name_bn(c, "fc_bn", &c->fc_bn);
        lc.input_size = cfg->code;
    }
    if (nn_lstm_init(&c->lstm, &lc, dev, rng, err)) goto fail;
    for (int k = 0; k < c->lstm.nparams; k++) {
        c->lstm.params[k]->name = c->lstm.names[k];
        add_named(c, "lstm", c->lstm.params[k], true);
    }
    int in = judge ? 2 * cfg->hidden : cfg->hidden;
    int mid = judge ? cfg->hidden : cfg->hidden / 2;
    for (int k = 0; k < cfg->n_heads; k++) {
        struct vdsm_clf_head *h = &c->heads[k];
        if (nn_linear_layer_init(&h->fc1, in, mid, true, dev, rng, err) ||
            nn_linear_layer_init(&h->fc2, mid, cfg->n_classes[k], true, dev, rng, err) ||
            (!judge && nn_batchnorm_init(&h->bn, mid, dev, err)))
            goto fail;
        snprintf(p, sizeof p, "head.%d.fc1", k);
        name_linear(c, p, &h->fc1);
        snprintf(p, sizeof p, "head.%d.fc2", k);
        name_linear(c, p, &h->fc2);
        if (!judge) {
            snprintf(p, sizeof p, "head.%d.bn", k);
            name_bn(c, p, &h->bn);
        }
    }
    if (c->nnamed == VDSM_CLF_MAX_NAMED) {
        nn_err_set(err, NN_INTERNAL, "classifier: more than %d named tensors", VDSM_CLF_MAX_NAMED);
        goto fail;
    }
    return NN_OK;
fail:
    vdsm_clf_free(c);
    return err->code ? err->code : NN_INTERNAL;
}

void vdsm_clf_free(struct vdsm_clf *c)
{
    for (int i = 0; i < 5; i++) {
        nn_conv2d_module_free(&c->conv[i]);
        nn_batchnorm_free(&c->bn[i]);
    }
    nn_linear_layer_free(&c->fc);
    nn_batchnorm_free(&c->fc_bn);
    nn_lstm_free(&c->lstm);
    for (int k = 0; k < VDSM_CLF_MAX_HEADS; k++) {
        nn_linear_layer_free(&c->heads[k].fc1);
        nn_linear_layer_free(&c->heads[k].fc2);
        nn_batchnorm_free(&c->heads[k].bn);
    }
    memset(c, 0, sizeof *c);
}

/* frames [B*T, C, H, W] -> per-frame features [B*T, F] */
static struct nn_tensor *frames_forward(nn_ctx *ctx, struct vdsm_clf *c, struct nn_tensor *h, bool training)
{
    bool judge = c->cfg.kind == VDSM_CLF_JUDGE;
    for (int i = 0; i < c->nconv; i++) {
        h = nn_batchnorm_forward(ctx, &c->bn[i], nn_conv2d_module_forward(ctx, &c->conv[i], h), training);
        h = judge && i == 4 ? nn_tanh(ctx, h) : nn_leaky_relu(ctx, h, 0.2f);
    }
    if (!h) return NULL;
    h = nn_reshape_v(ctx, h, h->shape[0], -1);
    if (judge) return h;
    return nn_leaky_relu(ctx, nn_batchnorm_forward(ctx, &c->fc_bn, nn_linear_layer_forward(ctx, &c->fc, h), training), 0.2f);
}

nn_status vdsm_clf_forward(nn_ctx *ctx, struct vdsm_clf *c, struct nn_tensor *x, bool training,
                           struct nn_tensor **logits)
{
    if (!x) return nn_ctx_status(ctx) ? nn_ctx_status(ctx) : nn_ctx_fail(ctx, NN_INTERNAL, "classifier: no input");
    const struct vdsm_clf_config *cfg = &c->cfg;
    char s[64];
    if (x->ndim != 5 || x->shape[2] != cfg->channels || x->shape[3] != cfg->image_size ||
        x->shape[4] != cfg->image_size)
        return nn_ctx_fail(ctx, NN_SHAPE, "classifier: input %s, want [B, T, %d, %d, %d]", nn_shape_str(x, s, sizeof s),
                           cfg->channels, cfg->image_size, cfg->image_size);
    int64_t b = x->shape[0], t = x->shape[1], hd = cfg->hidden;
    struct nn_tensor *f = frames_forward(ctx, c, nn_reshape_v(ctx, nn_contiguous(ctx, x), b * t, cfg->channels, cfg->image_size, cfg->image_size), training);
    struct nn_tensor *seq = nn_reshape_v(ctx, f, b, t, -1);
    struct nn_tensor *out = nn_lstm_forward(ctx, &c->lstm, seq, NULL, NULL, training, NULL, NULL, NULL);
    struct nn_tensor *z;
    bool judge = cfg->kind == VDSM_CLF_JUDGE;
    if (judge) {
        struct nn_tensor *parts[2] = {nn_slice(ctx, nn_select(ctx, out, 1, t - 1), 1, 0, hd),
                                      nn_slice(ctx, nn_select(ctx, out, 1, 0), 1, hd, 2 * hd)};
        z = parts[0] && parts[1] ? nn_concat(ctx, parts, 2, 1) : NULL;
    } else {
        z = nn_select(ctx, out, 1, t - 1);
    }
    for (int k = 0; k < cfg->n_heads; k++) {
        struct vdsm_clf_head *h = &c->heads[k];
        struct nn_tensor *a = nn_linear_layer_forward(ctx, &h->fc1, z);
        a = judge ? nn_relu(ctx, a) : nn_leaky_relu(ctx, nn_batchnorm_forward(ctx, &h->bn, a, training), 0.2f);
        logits[k] = nn_linear_layer_forward(ctx, &h->fc2, a);
        if (!logits[k]) return nn_ctx_status(ctx);
    }
    return NN_OK;
}

int vdsm_clf_params(const struct vdsm_clf *c, struct nn_tensor **out)
{
    int n = 0;
    for (int i = 0; i < c->nnamed; i++)
        if (c->named[i].trainable) out[n++] = c->named[i].t;
    return n;
}

nn_status vdsm_clf_check_meta(const struct vdsm_clf *c, const struct vdsm_meta *meta, struct nn_err *err)
{
    if (meta->n_factors != c->cfg.n_heads)
        return nn_err_set(err, NN_SHAPE, "classifier has %d heads, dataset '%s' has %d factors", c->cfg.n_heads,
                          meta->name, meta->n_factors);
    for (int k = 0; k < c->cfg.n_heads; k++)
        if (strcmp(meta->factors[k].name, c->cfg.names[k]) || meta->factors[k].n_classes != c->cfg.n_classes[k])
            return nn_err_set(err, NN_SHAPE, "classifier head %d is '%s' (%d classes), dataset factor %d is '%s' (%d classes)",
                              k, c->cfg.names[k], c->cfg.n_classes[k], k, meta->factors[k].name, meta->factors[k].n_classes);
    if ((int)meta->shape[2] != c->cfg.image_size || (int)meta->shape[4] != c->cfg.channels)
        return nn_err_set(err, NN_SHAPE, "classifier takes %dx%dx%d frames, dataset has %zux%zux%zu", c->cfg.image_size,
                          c->cfg.image_size, c->cfg.channels, meta->shape[2], meta->shape[3], meta->shape[4]);
    return NN_OK;
}

/* ---- files: tensors through the param store, the architecture in __metadata__ */

#define NMETA 10
static const char *meta_keys[NMETA] = {"clf.kind", "clf.channels", "clf.image_size", "clf.nf", "clf.feat",
                                       "clf.code", "clf.hidden", "clf.n_heads", "clf.n_classes", "clf.factors"};

nn_status vdsm_clf_save(const struct vdsm_clf *c, const char *path, struct nn_err *err)
{
    const struct vdsm_clf_config *g = &c->cfg;
    char vals[NMETA][1024];
    int ints[8] = {g->kind, g->channels, g->image_size, g->nf, g->feat, g->code, g->hidden, g->n_heads};
    for (int i = 0; i < 8; i++) snprintf(vals[i], sizeof vals[i], "%d", ints[i]);
    size_t a = 0, b = 0;
    vals[8][0] = vals[9][0] = 0;
    for (int k = 0; k < g->n_heads; k++) {
        a += (size_t)snprintf(vals[8] + a, sizeof vals[8] - a, "%s%d%s", k ? "," : "", g->n_classes[k], g->identity[k] ? "i" : "d");
        b += (size_t)snprintf(vals[9] + b, sizeof vals[9] - b, "%s%s", k ? "," : "", g->names[k]);
        if (a >= sizeof vals[8] || b >= sizeof vals[9]) return nn_err_set(err, NN_SHAPE, "%s: factor names too long", path);
    }
    const char *md[2 * NMETA + 3];
    for (int i = 0; i < NMETA; i++) {
        md[2 * i] = meta_keys[i];
        md[2 * i + 1] = vals[i];
    }
    char epochs[32];
    snprintf(epochs, sizeof epochs, "%d", c->epochs);
    md[2 * NMETA] = "clf.epochs", md[2 * NMETA + 1] = epochs, md[2 * NMETA + 2] = NULL;
    struct ppl_param_store *s = ppl_store_new();
    if (!s) return nn_err_set(err, NN_OOM, "%s: out of memory", path);
    nn_status st = NN_OK;
    for (int i = 0; i < c->nnamed && !st; i++)
        if (!ppl_store_borrow(s, c->named[i].name, c->named[i].t, err)) st = err->code ? err->code : NN_INTERNAL;
    if (!st) st = ppl_store_save(s, path, md, err);
    ppl_store_free(s);
    return st;
}

/* the architecture, and the epochs trained (0 in files written before clf.epochs existed) */
static nn_status read_metadata(const char *path, struct vdsm_clf_config *g, int *epochs, struct nn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(err, NN_IO, "%s: cannot open", path);
    unsigned char hb[8];
    uint64_t hl = 0;
    char *buf = NULL;
    nn_status st = NN_OK;
    if (fread(hb, 1, 8, f) != 8) {
        st = nn_err_set(err, NN_PARSE, "%s: not a safetensors file", path);
        goto done;
    }
    for (int i = 0; i < 8; i++) hl |= (uint64_t)hb[i] << (8 * i);
    if (hl == 0 || hl > (1u << 26) || !(buf = malloc((size_t)hl)) || fread(buf, 1, (size_t)hl, f) != hl) {
        st = nn_err_set(err, NN_PARSE, "%s: bad safetensors header", path);
        goto done;
    }
    cJSON *root = cJSON_ParseWithLength(buf, (size_t)hl);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    const char *v[NMETA];
    for (int i = 0; i < NMETA; i++) {
        const cJSON *o = md ? cJSON_GetObjectItemCaseSensitive(md, meta_keys[i]) : NULL;
        v[i] = cJSON_IsString(o) ? o->valuestring : NULL;
        if (!v[i]) {
            st = nn_err_set(err, NN_PARSE, "%s: no '%s' in the metadata (not a classifier written by vdsm judge train?)",
                            path, meta_keys[i]);
            break;
        }
    }
    const cJSON *ep = md ? cJSON_GetObjectItemCaseSensitive(md, "clf.epochs") : NULL;
    *epochs = cJSON_IsString(ep) ? atoi(ep->valuestring) : 0;
    if (!st) {
        memset(g, 0, sizeof *g);
        int *ints[8] = {&g->kind, &g->channels, &g->image_size, &g->nf, &g->feat, &g->code, &g->hidden, &g->n_heads};
        for (int i = 0; i < 8; i++) *ints[i] = atoi(v[i]);
        if (g->n_heads < 1 || g->n_heads > VDSM_CLF_MAX_HEADS) {
            st = nn_err_set(err, NN_PARSE, "%s: clf.n_heads %d out of range", path, g->n_heads);
        } else {
            const char *p = v[8], *q = v[9];
            for (int k = 0; k < g->n_heads && !st; k++) {
                char *end;
                g->n_classes[k] = (int)strtol(p, &end, 10);
                g->identity[k] = *end == 'i';
                p = strchr(end, ',');
                size_t len = strcspn(q, ",");
                snprintf(g->names[k], sizeof g->names[k], "%.*s", (int)len, q);
                q += len;
                if ((k + 1 < g->n_heads) && (!p || *q != ','))
                    st = nn_err_set(err, NN_PARSE, "%s: clf.n_classes / clf.factors list fewer than %d heads", path, g->n_heads);
                else if (p) p++, q++;
            }
        }
    }
    cJSON_Delete(root);
done:
    free(buf);
    fclose(f);
    return st;
}

nn_status vdsm_clf_load(struct vdsm_clf *c, const char *path, enum nn_device dev, struct nn_err *err)
{
    struct vdsm_clf_config g;
    int epochs = 0;
    if (read_metadata(path, &g, &epochs, err)) return err->code;
    struct nn_rng rng;
    nn_rng_seed(&rng, 0);
    if (vdsm_clf_init(c, &g, dev, &rng, err)) return err->code;
    c->epochs = epochs;
    struct ppl_param_store *s = ppl_store_new();
    nn_status st = s ? NN_OK : nn_err_set(err, NN_OOM, "%s: out of memory", path);
    for (int i = 0; i < c->nnamed && !st; i++)
        if (!ppl_store_borrow(s, c->named[i].name, c->named[i].t, err)) st = err->code ? err->code : NN_INTERNAL;
    if (!st) st = ppl_store_load(s, path, err);
    ppl_store_free(s);
    if (st) vdsm_clf_free(c);
    return st;
}
