/* nn/profile.h: per-op forward/backward times and call counts over steps, attached and
 * detached at will, and the printed table. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/ops.h"
#include "nn/profile.h"
#include "testutil.h"

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const struct nn_profile_op *find(const struct nn_profile *p, const char *op)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->ops[i].op, op)) return &p->ops[i];
    return NULL;
}

/* loss = sum(relu(a @ w)); a needs no gradient, w does */
static void step(nn_ctx *ctx, struct nn_tensor *w)
{
    nn_ctx_step_reset(ctx);
    float av[64 * 32];
    tu_fill_uniform(av, 64 * 32, -1, 1, 3);
    struct nn_tensor *a = nn_from_host(ctx, 2, (int64_t[]){64, 32}, av);
    struct nn_tensor *loss = nn_sum(ctx, nn_relu(ctx, nn_matmul(ctx, a, w)), -1, false);
    loss = nn_sum(ctx, loss, 0, false);
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
}

Test(nn_profile, counts_and_times_per_op)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_err err = {0};
    struct nn_tensor *w = nn_tensor_new(NN_DEV_CPU, 2, (int64_t[]){32, 16}, true, &err);
    cr_assert(w);
    float wv[32 * 16];
    tu_fill_uniform(wv, 32 * 16, -1, 1, 5);
    memcpy(w->data, wv, sizeof wv);
    step(ctx, w); /* not profiled */
    struct nn_profile *p = nn_profile_new();
    cr_assert(p);
    nn_profile_attach(ctx, p);
    double t0 = wall();
    for (int i = 0; i < 3; i++) step(ctx, w);
    double elapsed = wall() - t0;
    nn_profile_attach(ctx, NULL);
    step(ctx, w); /* not profiled either */

    const struct nn_profile_op *mm = find(p, "matmul"), *relu = find(p, "relu"), *sum = find(p, "sum");
    cr_assert(mm && relu && sum);
    cr_assert_eq(mm->fwd_n, 3);
    cr_assert_eq(mm->bwd_n, 3);
    cr_assert_eq(relu->fwd_n, 3);
    cr_assert_eq(relu->bwd_n, 3);
    cr_assert_eq(sum->fwd_n, 6); /* two sums per step, one name */
    cr_assert_eq(sum->bwd_n, 6);
    double total = 0;
    for (int i = 0; i < p->n; i++) {
        cr_assert(p->ops[i].fwd_s >= 0 && p->ops[i].bwd_s >= 0, "%s", p->ops[i].op);
        total += p->ops[i].fwd_s + p->ops[i].bwd_s;
    }
    cr_assert(total > 0 && total <= elapsed, "ops %g s, steps %g s", total, elapsed);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nn_profile_print(p, f, 3, elapsed / 3);
    fclose(f);
    cr_assert(strstr(buf, "matmul") && strstr(buf, "relu") && strstr(buf, "(rest: "), "%s", buf);
    const char *line = strstr(buf, "\n  sum ");
    double calls = -1;
    cr_assert(line && sscanf(line + 7, "%lf", &calls) == 1 && calls == 2, "sum: 2 calls per step\n%s", buf);
    free(buf);

    nn_profile_clear(p);
    cr_assert_eq(p->n, 0);
    nn_profile_free(p);
    nn_tensor_free(w);
    nn_ctx_free(ctx);
}
