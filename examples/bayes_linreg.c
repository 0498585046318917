/* Bayesian linear regression with SVI: example_bayes_linreg
 * Pyro original:
 *   def model(x, y):
 *       w = pyro.sample("w", dist.Normal(0., 10.)); b = pyro.sample("b", dist.Normal(0., 10.))
 *       with pyro.plate("data", len(x)): pyro.sample("y", dist.Normal(w * x + b, 0.5), obs=y)
 *   def guide(x, y):  # mean-field Normal with params w_loc, w_scale, b_loc, b_scale
 */
#include <math.h>
#include <stdio.h>

#include "ppl/ppl.h"

#define N 100

struct data {
    float x[N], y[N];
};

static void model(ppl_ctx *ctx, void *args)
{
    struct data *d = args;
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *w = ppl_sample(ctx, "w", ppl_normal(ctx, nn_scalar(nn, 0), nn_scalar(nn, 10)), NULL);
    struct nn_tensor *b = ppl_sample(ctx, "b", ppl_normal(ctx, nn_scalar(nn, 0), nn_scalar(nn, 10)), NULL);
    struct nn_tensor *x = nn_from_host(nn, 1, (int64_t[]){N}, d->x), *y = nn_from_host(nn, 1, (int64_t[]){N}, d->y);
    PPL_PLATE(ctx, p, "data", N, 0, -1)
        ppl_sample(ctx, "y", ppl_normal(ctx, nn_add(nn, nn_mul(nn, w, x), b), nn_scalar(nn, 0.5f)), y);
}

static void guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    const char *site[2] = {"w", "b"};
    for (int i = 0; i < 2; i++) {
        struct nn_tensor *loc = ppl_param_fill(ctx, ppl_name(ctx, "%s_loc", site[i]), 0, NULL, 0.0f, PPL_REAL);
        struct nn_tensor *scale = ppl_param_fill(ctx, ppl_name(ctx, "%s_scale", site[i]), 0, NULL, 1.0f, PPL_POSITIVE);
        ppl_sample(ctx, site[i], ppl_normal(ctx, loc, scale), NULL);
    }
}

int main(void)
{
    struct nn_err err = {0};
    struct data d;
    struct nn_rng r;
    nn_rng_seed(&r, 3);
    float noise[N];
    nn_rng_normal_host(&r, noise, N, 0.0f, 0.5f);
    for (int i = 0; i < N; i++) d.x[i] = -2.0f + 4.0f * (float)i / N, d.y[i] = 2.0f * d.x[i] - 1.0f + noise[i];

    nn_ctx *nn = nn_ctx_new(NULL, &err);
    struct ppl_param_store *store = ppl_store_new();
    ppl_ctx *ctx = nn ? ppl_ctx_new(nn, store, 0, &err) : NULL;
    if (!ctx) return fprintf(stderr, "%s\n", err.msg), 1;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cfg.lr = 0.03f;
    struct ppl_svi svi;
    ppl_svi_init(&svi, model, guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_MEANFIELD_ELBO, 1);
    for (int i = 0; i <= 2000; i++) {
        float loss = ppl_svi_step(ctx, &svi, &d);
        if (isnan(loss)) return fprintf(stderr, "%s\n", ppl_message(ctx)), 1;
        if (i % 500 == 0) printf("step %4d  loss %.3f\n", i, (double)loss);
    }
    const char *names[4] = {"w_loc", "w_scale", "b_loc", "b_scale"};
    float v[4];
    for (int i = 0; i < 4; i++) ppl_store_get_host(store, names[i], &v[i], 1, &err);
    printf("posterior: w = %.3f +- %.3f (true 2), b = %.3f +- %.3f (true -1)\n", (double)v[0], (double)v[1],
           (double)v[2], (double)v[3]);
    ppl_ctx_free(ctx);
    ppl_store_free(store);
    nn_ctx_free(nn);
    return 0;
}
