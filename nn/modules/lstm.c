/* The LSTM module: parameters in PyTorch's layout and a forward that chains nn_lstm_layer
 * over the layers, with dropout between them and the batch_first transposes at the ends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "nn/modules/init.h"
#include "nn/modules/lstm.h"
#include "nn/ops.h"

static int per_dir(const struct nn_lstm *m) { return m->cfg.no_bias ? 2 : 4; }

struct nn_tensor *nn_lstm_param(const struct nn_lstm *m, int layer, int dir, enum nn_lstm_param_kind k)
{
    if (layer < 0 || layer >= m->cfg.num_layers || dir < 0 || dir >= m->ndir || (int)k >= per_dir(m))
        return NULL;
    return m->params[(layer * m->ndir + dir) * per_dir(m) + (int)k];
}

static nn_status make_param(struct nn_lstm *m, int idx, int layer, int dir, int kind,
                            enum nn_device dev, struct nn_rng *rng, struct nn_err *err)
{
    static const char *base[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    int64_t h = m->cfg.hidden_size, in = layer ? m->ndir * h : m->cfg.input_size;
    int64_t shape[2] = {4 * h, kind == 0 ? in : h};
    struct nn_tensor *t = nn_tensor_new(dev, kind < 2 ? 2 : 1, shape, true, err);
    if (!t) return err->code;
    m->params[idx] = t;
    snprintf(m->names[idx], NN_LSTM_NAME_LEN, "%s_l%d%s", base[kind], layer, dir ? "_reverse" : "");
    t->name = m->names[idx];
    float k = 1.0f / sqrtf((float)h);
    return nn_init_uniform(t, -k, k, rng, err);
}

nn_status nn_lstm_init(struct nn_lstm *m, const struct nn_lstm_config *cfg, enum nn_device dev,
                       struct nn_rng *rng, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (m->cfg.num_layers == 0) m->cfg.num_layers = 1;
    if (cfg->input_size < 1 || cfg->hidden_size < 1 || m->cfg.num_layers < 0 || cfg->dropout < 0 ||
        cfg->dropout >= 1)
        return nn_err_set(err, NN_INVALID,
                          "lstm: input_size %lld, hidden_size %lld, num_layers %d, dropout %g "
                          "(want sizes >= 1, layers >= 1, 0 <= dropout < 1)",
                          (long long)cfg->input_size, (long long)cfg->hidden_size, cfg->num_layers,
                          (double)cfg->dropout);
    m->ndir = cfg->bidirectional ? 2 : 1;
    m->nparams = m->cfg.num_layers * m->ndir * per_dir(m);
    m->params = calloc((size_t)m->nparams, sizeof *m->params);
    m->names = calloc((size_t)m->nparams, sizeof *m->names);
    if (!m->params || !m->names) {
        nn_lstm_free(m);
        return nn_err_set(err, NN_OOM, "lstm: out of memory");
    }
    int idx = 0;
    for (int l = 0; l < m->cfg.num_layers; l++)
        for (int d = 0; d < m->ndir; d++)
            for (int k = 0; k < per_dir(m); k++)
                if (make_param(m, idx++, l, d, k, dev, rng, err)) {
                    nn_lstm_free(m);
                    return err->code;
                }
    return NN_OK;
}

void nn_lstm_free(struct nn_lstm *m)
{
    for (int i = 0; m->params && i < m->nparams; i++) nn_tensor_free(m->params[i]);
    free(m->params);
    free(m->names);
    m->params = NULL;
    m->names = NULL;
    m->nparams = 0;
}

static bool check_state(nn_ctx *ctx, const struct nn_lstm *m, const struct nn_tensor *st,
                        const char *what, int64_t batch)
{
    char s1[96];
    int64_t want[3] = {(int64_t)m->cfg.num_layers * m->ndir, batch, m->cfg.hidden_size};
    if (!st) return true;
    if (st->ndim == 3 && st->shape[0] == want[0] && st->shape[1] == want[1] && st->shape[2] == want[2])
        return true;
    nn_ctx_fail(ctx, NN_SHAPE, "lstm: %s %s, want (%lld,%lld,%lld) = (num_layers*directions, batch, hidden)",
                what, nn_shape_str(st, s1, sizeof s1), (long long)want[0], (long long)want[1],
                (long long)want[2]);
    return false;
}

static struct nn_tensor *layer_state(nn_ctx *ctx, const struct nn_lstm *m, struct nn_tensor *st, int l)
{
    return st ? nn_slice(ctx, st, 0, (int64_t)l * m->ndir, (int64_t)(l + 1) * m->ndir) : NULL;
}

static struct nn_tensor *run_layer(nn_ctx *ctx, const struct nn_lstm *m, int l, struct nn_tensor *x,
                                   struct nn_tensor *h0, struct nn_tensor *c0, struct nn_tensor **hn,
                                   struct nn_tensor **cn)
{
    struct nn_lstm_layer_params p = {.ndir = m->ndir};
    for (int d = 0; d < m->ndir; d++) {
        p.w_ih[d] = nn_lstm_param(m, l, d, NN_LSTM_W_IH);
        p.w_hh[d] = nn_lstm_param(m, l, d, NN_LSTM_W_HH);
        p.b_ih[d] = nn_lstm_param(m, l, d, NN_LSTM_B_IH);
        p.b_hh[d] = nn_lstm_param(m, l, d, NN_LSTM_B_HH);
    }
    return nn_lstm_layer(ctx, x, &p, layer_state(ctx, m, h0, l), layer_state(ctx, m, c0, l), hn, cn);
}

struct nn_tensor *nn_lstm_forward(nn_ctx *ctx, struct nn_lstm *m, struct nn_tensor *x,
                                  struct nn_tensor *h0, struct nn_tensor *c0, bool training,
                                  struct nn_rng *rng, struct nn_tensor **h_n, struct nn_tensor **c_n)
{
    char s1[96];
    if (!NN_OK_IN(ctx, x)) return NULL;
    if (x->ndim != 3 || x->shape[2] != m->cfg.input_size) {
        nn_ctx_fail(ctx, NN_SHAPE, "lstm: input %s, want (%s, %lld)", nn_shape_str(x, s1, sizeof s1),
                    m->cfg.batch_first ? "B,T" : "T,B", (long long)m->cfg.input_size);
        return NULL;
    }
    bool drop = training && m->cfg.dropout > 0;
    if (drop && !rng) {
        nn_ctx_fail(ctx, NN_INVALID, "lstm: dropout %g in training needs an rng", (double)m->cfg.dropout);
        return NULL;
    }
    int64_t batch = x->shape[m->cfg.batch_first ? 0 : 1];
    if (!check_state(ctx, m, h0, "h0", batch) || !check_state(ctx, m, c0, "c0", batch)) return NULL;
    int L = m->cfg.num_layers;
    struct nn_tensor **hn = nn_ctx_alloc_meta(ctx, 2 * (size_t)L * sizeof *hn);
    if (!hn) return NULL;
    struct nn_tensor **cn = hn + L;
    struct nn_tensor *y = m->cfg.batch_first ? nn_transpose(ctx, x, 0, 1) : x;
    for (int l = 0; l < L && y; l++) {
        y = run_layer(ctx, m, l, y, h0, c0, &hn[l], &cn[l]);
        if (drop && l < L - 1) y = nn_dropout(ctx, y, m->cfg.dropout, rng);
    }
    if (y && m->cfg.batch_first) y = nn_contiguous(ctx, nn_transpose(ctx, y, 0, 1));
    if (h_n) *h_n = L > 1 ? nn_concat(ctx, hn, L, 0) : hn[0];
    if (c_n) *c_n = L > 1 ? nn_concat(ctx, cn, L, 0) : cn[0];
    return ctx->err.code ? NULL : y;
}
