/* One full VDSM SVI step of each stage on the CPU and on the GPU, from the same weights, the
 * same input and the same random stream (Philox, seeded alike): the losses agree within
 * tolerance with TF32 off, and so does the loss of the step after the optimizer's update.
 * The spec is specs/quick.yaml (tiny widths, the same graph as the full model: encoder,
 * mixture-of-experts decoder with grouped transposed convolutions, LSTMs, gated transition).
 * Skipped when no CUDA device is present. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpu_check.h"
#include "vdsm/model/vdsm.h"

#define LOSS_TOL 1e-4   /* first step: same weights, same draws */
#define NEXT_TOL 1e-3   /* second step: after one Adam update on each side */

struct side {
    nn_ctx *nn;
    struct ppl_param_store *store;
    ppl_ctx *ppl;
    struct vdsm_net net;
};

static void side_open(struct side *s, const struct vdsm_spec *spec, enum nn_device dev)
{
    struct nn_err err = {0};
    struct nn_ctx_config cfg = {.data_capacity = (size_t)512 << 20, .meta_capacity = (size_t)64 << 20, .device = dev};
    s->nn = nn_ctx_new(&cfg, &err);
    cr_assert(s->nn, "nn_ctx_new: %s", err.msg);
    s->store = ppl_store_new();
    s->ppl = ppl_ctx_new(s->nn, s->store, 1234, &err);
    cr_assert(s->ppl, "ppl_ctx_new: %s", err.msg);
    struct nn_rng rng;
    nn_rng_seed(&rng, 7);
    cr_assert_eq(vdsm_net_init(&s->net, spec, dev, &rng, &err), NN_OK, "vdsm_net_init: %s", err.msg);
    cr_assert_eq(vdsm_net_register(&s->net, s->store, &err), NN_OK, "%s", err.msg);
}

static void side_close(struct side *s)
{
    ppl_ctx_free(s->ppl);
    ppl_store_free(s->store);
    vdsm_net_free(&s->net);
    nn_ctx_free(s->nn);
}

/* the GPU network takes the CPU network's weights */
static void copy_weights(struct side *gpu, const struct side *cpu)
{
    struct nn_err err = {0};
    cr_assert_eq(gpu->net.nparams, cpu->net.nparams);
    for (int i = 0; i < cpu->net.nparams; i++) {
        const struct nn_tensor *t = cpu->net.params[i].t;
        float *h = malloc((size_t)nn_numel(t) * sizeof *h);
        cr_assert(h);
        cr_assert_eq(nn_tensor_to_host(t, h, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(nn_tensor_from_host(gpu->net.params[i].t, h, &err), NN_OK, "%s", err.msg);
        free(h);
    }
}

/* as the trainer's svi_setup for the stage (Adam, Trace_ELBO, per-site terms on) */
static void svi_for(struct ppl_svi *svi, const struct vdsm_spec *spec, int stage)
{
    const struct vdsm_spec_stage *ss = stage == 1 ? &spec->stage1 : &spec->stage2;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cfg.lr = (float)ss->lr;
    ppl_svi_init(svi, stage == 1 ? vdsm_encdec_model : vdsm_seq_model, stage == 1 ? vdsm_encdec_guide : vdsm_seq_guide,
                 NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    svi->elbo.want_terms = true;
    svi->elbo.validate = true;
}

static void step_pair(struct side *c, struct side *g, const struct vdsm_spec *spec, int stage, const float *x,
                      const int64_t *shape)
{
    struct ppl_svi sc, sg;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_net_set_stage(&c->net, stage, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_net_set_stage(&g->net, stage, &e), NN_OK, "%s", e.msg);
    ppl_store_reset_optim(c->store);
    ppl_store_reset_optim(g->store);
    svi_for(&sc, spec, stage);
    svi_for(&sg, spec, stage);
    float lc[2], lg[2];
    for (int k = 0; k < 2; k++) {
        struct vdsm_args ac = {.net = &c->net, .temp = 2, .anneal_id = 0.5f, .anneal_t = 3, .anneal_dyn = 0.7f,
                               .training = true};
        struct vdsm_args ag = ac;
        ag.net = &g->net;
        ac.x = nn_from_host(c->nn, 5, shape, x);
        ag.x = nn_from_host(g->nn, 5, shape, x);
        lc[k] = ppl_svi_step(c->ppl, &sc, &ac);
        lg[k] = ppl_svi_step(g->ppl, &sg, &ag);
        cr_assert(isfinite(lc[k]), "stage %d step %d: CPU loss %g: %s", stage, k, (double)lc[k], ppl_message(c->ppl));
        cr_assert(isfinite(lg[k]), "stage %d step %d: GPU loss %g: %s", stage, k, (double)lg[k], ppl_message(g->ppl));
    }
    double e0 = fabs((double)lg[0] - lc[0]) / fabs((double)lc[0]);
    double e1 = fabs((double)lg[1] - lc[1]) / fabs((double)lc[1]);
    cr_log_info("stage %d: CPU losses %.7g %.7g, GPU %.7g %.7g (relative %.2g, %.2g)", stage, (double)lc[0],
                (double)lc[1], (double)lg[0], (double)lg[1], e0, e1);
    cr_assert(e0 < LOSS_TOL, "stage %d first step: CPU loss %.8g, GPU %.8g (relative %.3g)", stage, (double)lc[0],
              (double)lg[0], e0);
    cr_assert(e1 < NEXT_TOL, "stage %d second step: CPU loss %.8g, GPU %.8g (relative %.3g)", stage, (double)lc[1],
              (double)lg[1], e1);
}

Test(gpu_vdsm, svi_step_stage1_and_stage2)
{
    gpu_test_init();
    const char *sets[] = {"stage1.batch_size=3", "stage2.batch_size=3"};
    struct vdsm_spec spec;
    struct nn_err err = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/specs/quick.yaml", VDSM_SOURCE_DIR);
    cr_assert_eq(vdsm_spec_load(path, sets, 2, &spec, &err), NN_OK, "%s", err.msg);
    struct side c, g;
    side_open(&c, &spec, NN_DEV_CPU);
    side_open(&g, &spec, NN_DEV_CUDA);
    copy_weights(&g, &c);
    int64_t shape[5] = {3, spec.stage1.seq_len, spec.dataset.channels, 64, 64};
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * 64 * 64);
    float *x = host_rand(n, 0, 1, 99);
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.5f ? 1.0f : 0.0f;
    step_pair(&c, &g, &spec, 1, x, shape);
    shape[1] = spec.stage2.seq_len;
    step_pair(&c, &g, &spec, 2, x, shape);
    free(x);
    side_close(&g);
    side_close(&c);
    vdsm_spec_free(&spec);
}
