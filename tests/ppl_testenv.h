/* tests/ppl_testenv.h: a ppl context, param store and nn context for one test. */
#ifndef VDSM_PPL_TESTENV_H
#define VDSM_PPL_TESTENV_H

#include <criterion/criterion.h>

#include "ppl/ppl.h"

struct env {
    nn_ctx *nn;
    struct ppl_param_store *store;
    ppl_ctx *ctx;
};

static inline struct env env_new(uint64_t seed)
{
    struct env e;
    struct nn_err err = {0};
    e.nn = nn_ctx_new(&(struct nn_ctx_config){.data_capacity = (size_t)256 << 20, .meta_capacity = (size_t)64 << 20}, &err);
    cr_assert(e.nn, "%s", err.msg);
    e.store = ppl_store_new();
    e.ctx = ppl_ctx_new(e.nn, e.store, seed, &err);
    cr_assert(e.ctx, "%s", err.msg);
    return e;
}

static inline void env_free(struct env *e)
{
    ppl_ctx_free(e->ctx);
    ppl_store_free(e->store);
    nn_ctx_free(e->nn);
}

#define ENV_OK(e) cr_assert_eq(ppl_status((e).ctx), NN_OK, "%s", ppl_message((e).ctx))

static inline struct nn_tensor *sc(ppl_ctx *ctx, float v) { return nn_scalar(ctx->nn, v); }

static inline float param_value(struct env *e, const char *name)
{
    float v = 0;
    struct nn_err err = {0};
    cr_assert_eq(ppl_store_get_host(e->store, name, &v, 1, &err), NN_OK, "%s", err.msg);
    return v;
}

#endif
