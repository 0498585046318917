/* Optimizers against tests/fixtures/gen_nn_optim.py: Adam (torch.optim.Adam) and ClippedAdam
 * (Pyro's rule) trajectories over 20 steps of a quadratic, gradient-norm clipping, state
 * save/restore, and a 1000-step MLP+LSTM training loop whose memory stays flat. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "nn/modules/linear.h"
#include "nn/modules/lstm.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "testutil.h"

#define STEPS 20
#define NP 17 /* 4*3 + 5 parameters */

struct quad {
    struct tu_bundle *b;
    struct nn_tensor *p[2];
    const float *t[2], *a[2];
};

static void quad_init(struct quad *q)
{
    struct nn_err err = {0};
    q->b = tu_bundle_load("nn_optim.bin");
    q->p[0] = nn_tensor_new(NN_DEV_CPU, 2, (int64_t[]){4, 3}, true, &err);
    q->p[1] = nn_tensor_new(NN_DEV_CPU, 1, (int64_t[]){5}, true, &err);
    cr_assert(q->p[0] && q->p[1]);
    q->p[0]->name = "p0";
    q->p[1]->name = "p1";
    const char *pn[2] = {"p0", "p1"}, *tn[2] = {"t0", "t1"}, *an[2] = {"a0", "a1"};
    for (int k = 0; k < 2; k++) {
        nn_tensor_from_host(q->p[k], tu_get(q->b, pn[k])->data, &err);
        q->t[k] = tu_get(q->b, tn[k])->data;
        q->a[k] = tu_get(q->b, an[k])->data;
    }
}

static void quad_free(struct quad *q)
{
    nn_tensor_free(q->p[0]);
    nn_tensor_free(q->p[1]);
    tu_bundle_free(q->b);
}

/* the gradient of sum a (p - t)^2, written as the fixture script writes it */
static void quad_grad(struct quad *q)
{
    for (int k = 0; k < 2; k++) {
        struct nn_tensor *p = q->p[k];
        for (int64_t i = 0; i < nn_numel(p); i++) p->grad[i] = 2.0f * q->a[k][i] * (p->data[i] - q->t[k][i]);
    }
}

static void quad_flat(const struct quad *q, float *out)
{
    memcpy(out, q->p[0]->data, 12 * sizeof(float));
    memcpy(out + 12, q->p[1]->data, 5 * sizeof(float));
}

static void run_trajectory(enum nn_optim_kind kind, struct nn_adam_config cfg, const char *name)
{
    struct quad q;
    quad_init(&q);
    struct nn_err err = {0};
    struct nn_optim opt;
    cr_assert_eq(nn_optim_init(&opt, kind, &cfg, q.p, 2, &err), NN_OK, "%s", err.msg);
    const struct tu_array *traj = tu_get(q.b, name);
    cr_assert_eq(traj->numel, STEPS * NP);
    for (int s = 0; s < STEPS; s++) {
        nn_optim_zero_grad(&opt);
        quad_grad(&q);
        cr_assert_eq(nn_optim_step(&opt, &err), NN_OK);
        float got[NP];
        quad_flat(&q, got);
        char what[64];
        snprintf(what, sizeof what, "%s step %d", name, s + 1);
        tu_assert_close(got, traj->data + s * NP, NP, 1e-5, 1e-6, what);
    }
    nn_optim_free(&opt);
    quad_free(&q);
}

Test(nn_optim, adam_matches_torch)
{
    struct nn_adam_config c = nn_adam_defaults(NN_OPTIM_ADAM);
    c.lr = 0.1f;
    run_trajectory(NN_OPTIM_ADAM, c, "adam.traj");
}

Test(nn_optim, adam_weight_decay_betas_eps_match_torch)
{
    struct nn_adam_config c = nn_adam_defaults(NN_OPTIM_ADAM);
    c.lr = 0.05f;
    c.beta1 = 0.8f;
    c.beta2 = 0.99f;
    c.eps = 1e-6f;
    c.weight_decay = 0.1f;
    run_trajectory(NN_OPTIM_ADAM, c, "adamw.traj");
}

static struct nn_adam_config clipped_cfg(void)
{
    struct nn_adam_config c = nn_adam_defaults(NN_OPTIM_CLIPPED_ADAM);
    c.lr = 0.1f;
    c.clip_norm = 0.5f;
    c.lrd = 0.9f;
    c.weight_decay = 0.01f;
    return c;
}

Test(nn_optim, clipped_adam_matches_pyro_rule)
{
    run_trajectory(NN_OPTIM_CLIPPED_ADAM, clipped_cfg(), "clipped.traj");
}

Test(nn_optim, clip_grad_norm_matches_torch)
{
    struct quad q;
    quad_init(&q);
    quad_grad(&q);
    float norm = nn_clip_grad_norm(q.p, 2, 1.5f);
    tu_assert_close(&norm, tu_get(q.b, "clipnorm.norm")->data, 1, 1e-5, 0, "total norm");
    float g[NP];
    memcpy(g, q.p[0]->grad, 12 * sizeof(float));
    memcpy(g + 12, q.p[1]->grad, 5 * sizeof(float));
    tu_assert_close(g, tu_get(q.b, "clipnorm.g")->data, NP, 1e-5, 1e-7, "clipped gradients");
    /* below the threshold nothing changes */
    float before = q.p[0]->grad[0];
    nn_clip_grad_norm(q.p, 2, 100.0f);
    cr_assert_eq(q.p[0]->grad[0], before);
    quad_free(&q);
}

/* Save after 10 steps by walking the named state, restore into a fresh optimizer, finish:
 * the resumed run ends on the fixture trajectory (ClippedAdam, so the decayed lr is state). */
Test(nn_optim, state_save_restore_resumes_exactly)
{
    struct quad q;
    quad_init(&q);
    struct nn_err err = {0};
    struct nn_adam_config c = clipped_cfg();
    struct nn_optim a, b;
    cr_assert_eq(nn_optim_init(&a, NN_OPTIM_CLIPPED_ADAM, &c, q.p, 2, &err), NN_OK);
    for (int s = 0; s < 10; s++) {
        quad_grad(&q);
        nn_optim_step(&a, &err);
    }
    const struct nn_named_tensor *sa, *sb;
    int na = nn_optim_state(&a, &sa);
    cr_assert_eq(na, 7);
    cr_assert_str_eq(sa[0].name, "p0.adam_m");
    cr_assert_str_eq(sa[5].name, "p1.adam_step");
    cr_assert_str_eq(sa[6].name, "optim.lr");
    cr_assert_float_eq(sa[5].t->data[0], 10.0f, 0);
    cr_assert_eq(nn_optim_init(&b, NN_OPTIM_CLIPPED_ADAM, &c, q.p, 2, &err), NN_OK);
    int nb = nn_optim_state(&b, &sb);
    cr_assert_eq(nb, na);
    for (int i = 0; i < na; i++) {
        struct nn_tensor *dst = nn_optim_state_get(&b, sa[i].name);
        cr_assert(dst == sb[i].t, "%s", sa[i].name);
        float buf[16];
        nn_tensor_to_host(sa[i].t, buf, &err);
        nn_tensor_from_host(dst, buf, &err);
    }
    cr_assert_null(nn_optim_state_get(&b, "p2.adam_m"));
    nn_optim_free(&a);
    for (int s = 10; s < STEPS; s++) {
        quad_grad(&q);
        nn_optim_step(&b, &err);
    }
    float got[NP];
    quad_flat(&q, got);
    tu_assert_close(got, tu_get(q.b, "clipped.traj")->data + (STEPS - 1) * NP, NP, 1e-5, 1e-6,
                    "resumed trajectory");
    /* learning-rate override: the next ClippedAdam step uses lr * lrd */
    nn_optim_set_lr(&b, 0.5f);
    quad_grad(&q);
    nn_optim_step(&b, &err);
    cr_assert_float_eq(nn_optim_get_lr(&b), 0.45f, 1e-7);
    nn_optim_free(&b);
    quad_free(&q);
}

Test(nn_optim, bad_config_is_an_error)
{
    struct nn_err err = {0};
    struct nn_optim o;
    struct nn_adam_config c = nn_adam_defaults(NN_OPTIM_ADAM);
    c.beta1 = 1.0f;
    cr_assert_eq(nn_optim_init(&o, NN_OPTIM_ADAM, &c, NULL, 0, &err), NN_INVALID);
    cr_assert(strstr(err.msg, "betas (1, 0.999)"), "%s", err.msg);
}

/* ---- memory: 1000 steps of forward, backward and Adam on a small MLP + LSTM */

struct net {
    struct nn_linear_layer fc1, fc2;
    struct nn_lstm lstm;
    struct nn_tensor *params[32];
    int np;
};

static void net_init(struct net *n, struct nn_rng *rng)
{
    struct nn_err err = {0};
    struct nn_lstm_config lc = {.input_size = 16, .hidden_size = 8, .num_layers = 2, .bidirectional = true};
    cr_assert_eq(nn_linear_layer_init(&n->fc1, 6, 16, true, NN_DEV_CPU, rng, &err), NN_OK);
    cr_assert_eq(nn_lstm_init(&n->lstm, &lc, NN_DEV_CPU, rng, &err), NN_OK);
    cr_assert_eq(nn_linear_layer_init(&n->fc2, 16, 6, true, NN_DEV_CPU, rng, &err), NN_OK);
    n->np = nn_linear_layer_params(&n->fc1, n->params);
    for (int i = 0; i < n->lstm.nparams; i++) n->params[n->np++] = n->lstm.params[i];
    n->np += nn_linear_layer_params(&n->fc2, n->params + n->np);
}

static struct nn_tensor *net_loss(nn_ctx *ctx, struct net *n, struct nn_tensor *x)
{
    struct nn_tensor *h = nn_relu(ctx, nn_linear_layer_forward(ctx, &n->fc1, x));
    struct nn_tensor *hn, *cn, *y = nn_lstm_forward(ctx, &n->lstm, h, NULL, NULL, true, NULL, &hn, &cn);
    struct nn_tensor *r = nn_linear_layer_forward(ctx, &n->fc2, y);
    struct nn_tensor *l = nn_mean_all(ctx, nn_square(ctx, nn_sub(ctx, r, x)));
    return nn_add(ctx, l, nn_mean_all(ctx, nn_square(ctx, cn)));
}

Test(nn_optim, training_loop_memory_is_flat)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 11);
    struct net n;
    net_init(&n, &rng);
    struct nn_err err = {0};
    struct nn_optim opt;
    struct nn_adam_config c = nn_adam_defaults(NN_OPTIM_ADAM);
    c.lr = 1e-2f;
    cr_assert_eq(nn_optim_init(&opt, NN_OPTIM_ADAM, &c, n.params, n.np, &err), NN_OK);
    nn_ctx *ctx = tu_ctx();
    float xv[7 * 3 * 6];
    tu_fill_uniform(xv, 7 * 3 * 6, -1, 1, 5);
    size_t data_res = 0, meta_res = 0;
    float first = 0, last = 0;
    for (int s = 0; s < 1000; s++) {
        struct nn_tensor *x = nn_from_host(ctx, 3, (int64_t[]){7, 3, 6}, xv);
        struct nn_tensor *loss = net_loss(ctx, &n, x);
        cr_assert(loss, "step %d: %s", s, nn_ctx_message(ctx));
        float l = nn_item(ctx, loss);
        if (s == 0) first = l;
        last = l;
        nn_optim_zero_grad(&opt);
        cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
        nn_clip_grad_norm(n.params, n.np, 5.0f);
        nn_optim_step(&opt, &err);
        nn_ctx_step_reset(ctx);
        if (s == 4) {
            data_res = ctx->data.reserved;
            meta_res = ctx->meta.reserved;
        }
    }
    cr_assert_eq(ctx->data.reserved, data_res, "data arena grew: %zu -> %zu", data_res, ctx->data.reserved);
    cr_assert_eq(ctx->meta.reserved, meta_res, "meta arena grew: %zu -> %zu", meta_res, ctx->meta.reserved);
    cr_assert(last < 0.5f * first, "training reduces the loss: %g -> %g", first, last);
    nn_ctx_free(ctx);
    nn_optim_free(&opt);
    nn_linear_layer_free(&n.fc1);
    nn_linear_layer_free(&n.fc2);
    nn_lstm_free(&n.lstm);
}
