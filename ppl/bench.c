/* The per-site overhead benchmark (see bench.h). */
#include <math.h>
#include <time.h>

#include "ppl/bench.h"
#include "ppl/ppl.h"

#define NSITES 1000

/* site names "z0".."z999", formatted once (formatting them per step with snprintf would add
 * ~0.3 us per site, which is the model's cost, not ppl's) */
static char site_names[NSITES][8];

static void scalar_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *zero = nn_scalar(ctx->nn, 0.0f), *one = nn_scalar(ctx->nn, 1.0f);
    for (int i = 0; i < NSITES; i++) ppl_sample(ctx, site_names[i], ppl_normal(ctx, zero, one), NULL);
}

static void scalar_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = ppl_param_fill(ctx, "m", 0, NULL, 0.1f, PPL_REAL);
    struct nn_tensor *s = ppl_param_fill(ctx, "s", 0, NULL, 0.9f, PPL_POSITIVE);
    for (int i = 0; i < NSITES; i++) ppl_sample(ctx, site_names[i], ppl_normal(ctx, m, s), NULL);
}

static void vector_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    PPL_PLATE(ctx, p, "n", NSITES, 0, -1)
        ppl_sample(ctx, "z", ppl_normal(ctx, nn_scalar(ctx->nn, 0.0f), nn_scalar(ctx->nn, 1.0f)), NULL);
}

static void vector_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    int64_t n = NSITES;
    struct nn_tensor *m = ppl_param_fill(ctx, "vm", 1, &n, 0.1f, PPL_REAL);
    struct nn_tensor *s = ppl_param_fill(ctx, "vs", 1, &n, 0.9f, PPL_POSITIVE);
    PPL_PLATE(ctx, p, "n", NSITES, 0, -1) ppl_sample(ctx, "z", ppl_normal(ctx, m, s), NULL);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* microseconds per step, or a negative value on failure */
static double time_steps(ppl_ctx *ctx, ppl_fn model, ppl_fn guide, int steps, FILE *out)
{
    struct ppl_svi svi;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    ppl_svi_init(&svi, model, guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    double t0 = 0;
    for (int i = -10; i < steps; i++) {
        if (i == 0) t0 = now();
        if (isnan(ppl_svi_step(ctx, &svi, NULL))) {
            fprintf(out, "ppl bench: %s\n", ppl_message(ctx));
            return -1;
        }
    }
    return (now() - t0) / steps * 1e6;
}

int ppl_bench_overhead(FILE *out)
{
    struct nn_err err = {0};
    nn_ctx *nn = nn_ctx_new(&(struct nn_ctx_config){.data_capacity = (size_t)256 << 20, .meta_capacity = (size_t)256 << 20}, &err);
    struct ppl_param_store *store = ppl_store_new();
    ppl_ctx *ctx = nn && store ? ppl_ctx_new(nn, store, 1, &err) : NULL;
    int rc = 1;
    for (int i = 0; i < NSITES; i++) snprintf(site_names[i], sizeof site_names[i], "z%d", i);
    if (!ctx) {
        fprintf(out, "ppl bench: %s\n", err.msg);
        goto done;
    }
    double scalar = time_steps(ctx, scalar_model, scalar_guide, 200, out);
    double vector = scalar < 0 ? -1 : time_steps(ctx, vector_model, vector_guide, 2000, out);
    if (vector < 0) goto done;
    fprintf(out, "ppl overhead (SVI step, Trace_ELBO, model + guide, Adam)\n");
    fprintf(out, "  %d scalar sites:            %9.1f us/step  %7.3f us/site\n", NSITES, scalar, scalar / NSITES);
    fprintf(out, "  1 vectorised site (%d el.): %9.1f us/step  %7.3f us/element\n", NSITES, vector, vector / NSITES);
    rc = 0;
done:
    ppl_ctx_free(ctx);
    ppl_store_free(store);
    nn_ctx_free(nn);
    return rc;
}
