/* Per-op time of a step (nn/profile.h). */
#include "nn/profile.h"

#include "nn/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct nn_profile *nn_profile_new(void) { return calloc(1, sizeof(struct nn_profile)); }

void nn_profile_free(struct nn_profile *p)
{
    if (!p) return;
    free(p->ops);
    free(p);
}

void nn_profile_clear(struct nn_profile *p) { p->n = 0; }

void nn_profile_attach(nn_ctx *ctx, struct nn_profile *p)
{
    ctx->prof = p;
    if (p) p->mark = nn__profile_now(ctx);
}

/* op names are string literals: compare the pointer first */
static struct nn_profile_op *entry(struct nn_profile *p, const char *op)
{
    for (int i = 0; i < p->n; i++)
        if (p->ops[i].op == op || !strcmp(p->ops[i].op, op)) return &p->ops[i];
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        struct nn_profile_op *o = realloc(p->ops, (size_t)cap * sizeof *o);
        if (!o) return NULL;
        p->ops = o;
        p->cap = cap;
    }
    struct nn_profile_op *e = &p->ops[p->n++];
    *e = (struct nn_profile_op){.op = op};
    return e;
}

double nn__profile_now(nn_ctx *ctx)
{
    if (ctx->device != NN_DEV_CPU) ctx->be->sync(&ctx->err);
    return wall();
}

void nn__profile_fwd(nn_ctx *ctx, const char *op)
{
    struct nn_profile *p = ctx->prof;
    double now = nn__profile_now(ctx);
    struct nn_profile_op *e = entry(p, op);
    if (e) e->fwd_s += now - p->mark, e->fwd_n++;
    p->mark = now;
}

void nn__profile_bwd(nn_ctx *ctx, const char *op, double t0)
{
    struct nn_profile *p = ctx->prof;
    double now = nn__profile_now(ctx);
    struct nn_profile_op *e = entry(p, op);
    if (e) e->bwd_s += now - t0, e->bwd_n++;
    p->mark = now;
}

static int by_total(const void *a, const void *b)
{
    const struct nn_profile_op *x = a, *y = b;
    double tx = x->fwd_s + x->bwd_s, ty = y->fwd_s + y->bwd_s;
    return tx < ty ? 1 : tx > ty ? -1 : strcmp(x->op, y->op);
}

void nn_profile_print(const struct nn_profile *p, FILE *out, int steps, double step_seconds)
{
    if (steps < 1) steps = 1;
    struct nn_profile_op *o = malloc((size_t)(p->n ? p->n : 1) * sizeof *o);
    if (!o) return;
    memcpy(o, p->ops, (size_t)p->n * sizeof *o);
    qsort(o, (size_t)p->n, sizeof *o, by_total);
    double sum = 0;
    fprintf(out, "  %-28s %8s %10s %10s %10s %6s\n", "op (per step)", "calls", "fwd ms", "bwd ms", "total ms", "share");
    for (int i = 0; i < p->n; i++) {
        double t = (o[i].fwd_s + o[i].bwd_s) / steps;
        sum += t;
        fprintf(out, "  %-28s %8.0f %10.1f %10.1f %10.1f %5.1f%%\n", o[i].op, (double)o[i].fwd_n / steps,
                1e3 * o[i].fwd_s / steps, 1e3 * o[i].bwd_s / steps, 1e3 * t,
                step_seconds > 0 ? 100 * t / step_seconds : 0.0);
    }
    if (step_seconds > 0)
        fprintf(out, "  %-28s %8s %10s %10s %10.1f %5.1f%%\n", "(rest: optimizer, ELBO, data)", "", "", "",
                1e3 * (step_seconds - sum), 100 * (step_seconds - sum) / step_seconds);
    free(o);
}
