/* The per-site overhead benchmark (see bench.h). */
#include <math.h>
#include <stdlib.h>
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

#define BLOCKS 7

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* microseconds per step over BLOCKS blocks of `steps` steps (after 10 warm-up steps): the
 * fastest block in t[0] and the median in t[1]; false on failure. On a shared machine the
 * fastest block is the overhead itself, the median what a run sees. */
static bool time_steps(ppl_ctx *ctx, ppl_fn model, ppl_fn guide, int steps, double *t, FILE *out)
{
    struct ppl_svi svi;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    ppl_svi_init(&svi, model, guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    double block[BLOCKS];
    for (int b = -1; b < BLOCKS; b++) {
        double t0 = now();
        for (int i = 0; i < (b < 0 ? 10 : steps); i++)
            if (isnan(ppl_svi_step(ctx, &svi, NULL))) {
                fprintf(out, "ppl bench: %s\n", ppl_message(ctx));
                return false;
            }
        if (b >= 0) block[b] = (now() - t0) / steps * 1e6;
    }
    qsort(block, BLOCKS, sizeof *block, cmp_double);
    t[0] = block[0];
    t[1] = block[BLOCKS / 2];
    return true;
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
    double sc[2], vec[2];
    if (!time_steps(ctx, scalar_model, scalar_guide, 40, sc, out) ||
        !time_steps(ctx, vector_model, vector_guide, 400, vec, out))
        goto done;
    fprintf(out, "ppl overhead (SVI step, Trace_ELBO, model + guide, Adam; fastest / median of %d blocks)\n", BLOCKS);
    fprintf(out, "  %d scalar sites:            %8.1f / %8.1f us/step  %6.3f / %6.3f us/site\n", NSITES, sc[0], sc[1],
            sc[0] / NSITES, sc[1] / NSITES);
    fprintf(out, "  1 vectorised site (%d el.): %8.1f / %8.1f us/step  %6.3f / %6.3f us/element\n", NSITES, vec[0],
            vec[1], vec[0] / NSITES, vec[1] / NSITES);
    rc = 0;
done:
    ppl_ctx_free(ctx);
    ppl_store_free(store);
    nn_ctx_free(nn);
    return rc;
}
