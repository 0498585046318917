/* A VAE on synthetic 8x8 binary shapes, trained with SVI: example_vae
 * Pyro original (the VAE tutorial):
 *   def model(x):
 *       pyro.module("decoder", decoder)
 *       with pyro.plate("data", x.shape[0]):
 *           z = pyro.sample("z", dist.Normal(0, 1).expand([B, Z]).to_event(1))
 *           pyro.sample("obs", dist.Bernoulli(logits=decoder(z)).to_event(1), obs=x)
 *   def guide(x):
 *       pyro.module("encoder", encoder)
 *       with pyro.plate("data", x.shape[0]):
 *           loc, scale = encoder(x)
 *           pyro.sample("z", dist.Normal(loc, scale).to_event(1))
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/modules/linear.h"
#include "ppl/ppl.h"

#define NIMG 256
#define P 64   /* pixels */
#define H 64   /* hidden */
#define Z 2

struct vae {
    struct nn_linear_layer e1, e_loc, e_scale, d1, d2;
    float data[NIMG * P];
};

static void reg(ppl_ctx *ctx, const char *prefix, struct nn_linear_layer *const *ls, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        struct nn_tensor *ps[2];
        int k = nn_linear_layer_params(ls[i], ps);
        const char *nm[2] = {ppl_name(ctx, "%s.weight", names[i]), ppl_name(ctx, "%s.bias", names[i])};
        ppl_module(ctx, prefix, ps, nm, k);
    }
}

static void model(ppl_ctx *ctx, void *args)
{
    struct vae *v = args;
    nn_ctx *nn = ctx->nn;
    reg(ctx, "decoder", (struct nn_linear_layer *const[]){&v->d1, &v->d2}, (const char *const[]){"fc1", "fc2"}, 2);
    struct nn_tensor *x = nn_from_host(nn, 2, (int64_t[]){NIMG, P}, v->data);
    PPL_PLATE(ctx, p, "data", NIMG, 0, -1) {
        struct ppl_dist *prior = ppl_normal(ctx, nn_zeros_v(nn, Z), nn_full(nn, 1, (int64_t[]){Z}, 1.0f));
        struct nn_tensor *z = ppl_sample(ctx, "z", ppl_to_event(ctx, ppl_expand(ctx, prior, 2, (int64_t[]){NIMG, Z}), 1), NULL);
        struct nn_tensor *h = nn_tanh(nn, nn_linear_layer_forward(nn, &v->d1, z));
        struct nn_tensor *logits = nn_linear_layer_forward(nn, &v->d2, h);
        ppl_sample(ctx, "obs", ppl_to_event(ctx, ppl_bernoulli_logits(ctx, logits), 1), x);
    }
}

static void guide(ppl_ctx *ctx, void *args)
{
    struct vae *v = args;
    nn_ctx *nn = ctx->nn;
    reg(ctx, "encoder", (struct nn_linear_layer *const[]){&v->e1, &v->e_loc, &v->e_scale},
        (const char *const[]){"fc1", "loc", "scale"}, 3);
    struct nn_tensor *x = nn_from_host(nn, 2, (int64_t[]){NIMG, P}, v->data);
    PPL_PLATE(ctx, p, "data", NIMG, 0, -1) {
        struct nn_tensor *h = nn_tanh(nn, nn_linear_layer_forward(nn, &v->e1, x));
        struct nn_tensor *loc = nn_linear_layer_forward(nn, &v->e_loc, h);
        struct nn_tensor *scale = nn_exp(nn, nn_linear_layer_forward(nn, &v->e_scale, h));
        ppl_sample(ctx, "z", ppl_to_event(ctx, ppl_normal(ctx, loc, scale), 1), NULL);
    }
}

/* squares, crosses, horizontal and vertical bars at random positions */
static void make_shapes(float *data, struct nn_rng *r)
{
    for (int n = 0; n < NIMG; n++) {
        float *im = data + n * P;
        int kind = n % 4, cx = 2 + (int)(nn_rng_uniform01(r) * 4), cy = 2 + (int)(nn_rng_uniform01(r) * 4);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int dx = x - cx, dy = y - cy, on;
                if (kind == 0) on = abs(dx) <= 1 && abs(dy) <= 1;
                else if (kind == 1) on = (dx == 0 && abs(dy) <= 2) || (dy == 0 && abs(dx) <= 2);
                else if (kind == 2) on = dy == 0;
                else on = dx == 0;
                im[y * 8 + x] = on ? 1.0f : 0.0f;
            }
    }
}

int main(void)
{
    struct nn_err err = {0};
    static struct vae v;
    struct nn_rng r;
    nn_rng_seed(&r, 1);
    make_shapes(v.data, &r);
    if (nn_linear_layer_init(&v.e1, P, H, true, NN_DEV_CPU, &r, &err) ||
        nn_linear_layer_init(&v.e_loc, H, Z, true, NN_DEV_CPU, &r, &err) ||
        nn_linear_layer_init(&v.e_scale, H, Z, true, NN_DEV_CPU, &r, &err) ||
        nn_linear_layer_init(&v.d1, Z, H, true, NN_DEV_CPU, &r, &err) ||
        nn_linear_layer_init(&v.d2, H, P, true, NN_DEV_CPU, &r, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    nn_ctx *nn = nn_ctx_new(NULL, &err);
    struct ppl_param_store *store = ppl_store_new();
    ppl_ctx *ctx = nn ? ppl_ctx_new(nn, store, 0, &err) : NULL;
    if (!ctx) return fprintf(stderr, "%s\n", err.msg), 1;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cfg.lr = 1e-2f;
    struct ppl_svi svi;
    ppl_svi_init(&svi, model, guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    float first = NAN, loss = NAN;
    for (int i = 0; i <= 600; i++) {
        loss = ppl_svi_step(ctx, &svi, &v);
        if (isnan(loss)) return fprintf(stderr, "%s\n", ppl_message(ctx)), 1;
        if (i == 0) first = loss;
        if (i % 100 == 0) printf("step %4d  loss per image %.3f\n", i, (double)loss / NIMG);
    }
    if (ppl_store_save(store, "vae_params.safetensors", NULL, &err)) fprintf(stderr, "%s\n", err.msg);
    else printf("saved vae_params.safetensors (%d params)\n", store->n);
    ppl_ctx_free(ctx);
    ppl_store_free(store);
    nn_ctx_free(nn);
    struct nn_linear_layer *ls[5] = {&v.e1, &v.e_loc, &v.e_scale, &v.d1, &v.d2};
    for (int i = 0; i < 5; i++) nn_linear_layer_free(ls[i]);
    return loss < first ? 0 : 1;
}
