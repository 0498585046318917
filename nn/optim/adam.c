/* Adam and ClippedAdam over a list of parameters (semantics in nn/optim.h). The per-element
 * work is the backend's adam_step kernel; this file keeps the state and the scalars. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "nn/optim.h"

#define NAME_LEN 160

struct nn_adam_config nn_adam_defaults(enum nn_optim_kind kind)
{
    (void)kind;
    return (struct nn_adam_config){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                   .weight_decay = 0.0f, .clip_norm = 10.0f, .lrd = 1.0f};
}

static struct nn_tensor *scalar_state(float v, struct nn_err *err)
{
    struct nn_tensor *t = nn_tensor_new(NN_DEV_CPU, 1, (int64_t[]){1}, false, err);
    if (t) t->data[0] = v;
    return t;
}

static void set_name(struct nn_optim *o, int slot, const char *param, int i, const char *suffix)
{
    char *dst = o->names + (size_t)slot * NAME_LEN;
    if (param)
        snprintf(dst, NAME_LEN, "%s.%s", param, suffix);
    else
        snprintf(dst, NAME_LEN, "param%d.%s", i, suffix);
    o->state[slot].name = dst;
}

static nn_status init_param(struct nn_optim *o, int i, struct nn_err *err)
{
    struct nn_tensor *p = o->params[i];
    if (!p || !p->persistent)
        return nn_err_set(err, NN_INVALID, "optim: parameter %d is %s", i, p ? "not persistent" : "NULL");
    o->m[i] = nn_tensor_new((enum nn_device)p->device, p->ndim, p->shape, false, err);
    o->v[i] = o->m[i] ? nn_tensor_new((enum nn_device)p->device, p->ndim, p->shape, false, err) : NULL;
    o->steps[i] = o->v[i] ? scalar_state(0.0f, err) : NULL;
    if (!o->steps[i]) return err->code;
    struct nn_tensor *st[3] = {o->m[i], o->v[i], o->steps[i]};
    static const char *suffix[3] = {"adam_m", "adam_v", "adam_step"};
    for (int j = 0; j < 3; j++) {
        o->state[3 * i + j].t = st[j];
        set_name(o, 3 * i + j, p->name, i, suffix[j]);
    }
    return NN_OK;
}

nn_status nn_optim_init(struct nn_optim *o, enum nn_optim_kind kind, const struct nn_adam_config *cfg,
                        struct nn_tensor *const *params, int n, struct nn_err *err)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->cfg = *cfg;
    if (n < 0 || cfg->lr < 0 || cfg->eps < 0 || cfg->beta1 < 0 || cfg->beta1 >= 1 || cfg->beta2 < 0 ||
        cfg->beta2 >= 1 || (kind == NN_OPTIM_CLIPPED_ADAM && (cfg->clip_norm <= 0 || cfg->lrd <= 0)))
        return nn_err_set(err, NN_INVALID,
                          "optim: %d params, lr %g, betas (%g, %g), eps %g, clip_norm %g, lrd %g",
                          n, (double)cfg->lr, (double)cfg->beta1, (double)cfg->beta2,
                          (double)cfg->eps, (double)cfg->clip_norm, (double)cfg->lrd);
    o->n = n;
    size_t sn = (size_t)(n ? n : 1);
    o->params = calloc(sn, sizeof *o->params);
    o->m = calloc(sn, sizeof *o->m);
    o->v = calloc(sn, sizeof *o->v);
    o->steps = calloc(sn, sizeof *o->steps);
    o->state = calloc(3 * sn + 1, sizeof *o->state);
    o->names = calloc(3 * sn + 1, NAME_LEN);
    o->lr = (o->params && o->m && o->v && o->steps && o->state && o->names) ? scalar_state(cfg->lr, err) : NULL;
    if (!o->lr) goto fail;
    o->state[3 * n] = (struct nn_named_tensor){"optim.lr", o->lr};
    for (int i = 0; i < n; i++) {
        o->params[i] = params[i];
        if (init_param(o, i, err)) goto fail;
    }
    return NN_OK;
fail:
    nn_optim_free(o);
    return err->code ? err->code : nn_err_set(err, NN_OOM, "optim: out of memory");
}

void nn_optim_free(struct nn_optim *o)
{
    for (int i = 0; i < o->n; i++) {
        if (o->m) nn_tensor_free(o->m[i]);
        if (o->v) nn_tensor_free(o->v[i]);
        if (o->steps) nn_tensor_free(o->steps[i]);
    }
    nn_tensor_free(o->lr);
    free(o->params);
    free(o->m);
    free(o->v);
    free(o->steps);
    free(o->state);
    free(o->names);
    memset(o, 0, sizeof *o);
}

static void step_param(struct nn_optim *o, int i, float lr, struct nn_adam_hparams *hp)
{
    struct nn_tensor *p = o->params[i];
    float k = o->steps[i]->data[0] + 1.0f;
    o->steps[i]->data[0] = k;
    double bc1 = 1.0 - pow((double)hp->beta1, (double)k);
    double bc2 = 1.0 - pow((double)hp->beta2, (double)k);
    if (o->kind == NN_OPTIM_CLIPPED_ADAM) {
        /* Pyro: step_size = lr * sqrt(bc2) / bc1 with denominator sqrt(v) + eps */
        bc1 /= sqrt(bc2);
        bc2 = 1.0;
    }
    const struct nn_backend *be = nn_backend_get((enum nn_device)p->device);
    be->adam_step((size_t)nn_numel(p), p->data, p->grad, o->m[i]->data, o->v[i]->data, hp, lr,
                  (float)bc1, (float)bc2);
}

nn_status nn_optim_step(struct nn_optim *o, struct nn_err *err)
{
    (void)err;
    struct nn_adam_hparams hp = {.beta1 = o->cfg.beta1, .beta2 = o->cfg.beta2, .eps = o->cfg.eps,
                                 .weight_decay = o->cfg.weight_decay};
    if (o->kind == NN_OPTIM_CLIPPED_ADAM) {
        o->lr->data[0] *= o->cfg.lrd;
        hp.clip = o->cfg.clip_norm;
    }
    hp.lr = o->lr->data[0];
    for (int i = 0; i < o->n; i++)
        if (o->params[i]->grad && o->params[i]->requires_grad) {
            nn__grad_settle(o->params[i]); /* a gradient zeroed but not written since: zeros */
            step_param(o, i, hp.lr, &hp);
        }
    return NN_OK;
}

void nn_optim_zero_grad(struct nn_optim *o)
{
    for (int i = 0; i < o->n; i++) nn_tensor_zero_grad(o->params[i]);
}

void nn_optim_set_lr(struct nn_optim *o, float lr) { o->lr->data[0] = lr; }
float nn_optim_get_lr(const struct nn_optim *o) { return o->lr->data[0]; }

int nn_optim_state(const struct nn_optim *o, const struct nn_named_tensor **out)
{
    *out = o->state;
    return 3 * o->n + 1;
}

struct nn_tensor *nn_optim_state_get(const struct nn_optim *o, const char *name)
{
    for (int i = 0; i < 3 * o->n + 1; i++)
        if (strcmp(o->state[i].name, name) == 0) return o->state[i].t;
    return NULL;
}

float nn_clip_grad_norm(struct nn_tensor *const *params, int n, float max_norm)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const struct nn_tensor *p = params[i];
        if (!p || !p->grad || p->grad_zero) continue;
        double s = 0;
        nn_backend_get((enum nn_device)p->device)->sumsq((size_t)nn_numel(p), p->grad, &s);
        total += s;
    }
    double norm = sqrt(total);
    double coef = (double)max_norm / (norm + 1e-6);
    if (coef < 1.0)
        for (int i = 0; i < n; i++)
            if (params[i] && params[i]->grad && !params[i]->grad_zero)
                nn_backend_get((enum nn_device)params[i]->device)
                    ->scale_inplace((size_t)nn_numel(params[i]), params[i]->grad, (float)coef);
    return (float)norm;
}
