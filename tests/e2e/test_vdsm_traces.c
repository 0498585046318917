/* The traces of both stages at the Sprites and MUG settings: the sites, their batch and event
 * shapes, their plates, as Pyro's format_shapes would show them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vdsm/model/vdsm.h"

struct fixture {
    struct vdsm_spec spec;
    struct vdsm_net net;
    nn_ctx *nn;
    struct ppl_param_store *store;
    ppl_ctx *ppl;
};

static void open_fixture_with(struct fixture *f, const char *spec_file, const char *extra)
{
    struct nn_err e = {0};
    const char *sets[] = {"stage1.batch_size=2", "stage2.batch_size=2", extra};
    cr_assert_eq(vdsm_spec_load(tu_source_path(spec_file), sets, extra ? 3 : 2, &f->spec, &e), NN_OK, "%s", e.msg);
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    cr_assert_eq(vdsm_net_init(&f->net, &f->spec, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    f->nn = tu_ctx();
    f->store = ppl_store_new();
    cr_assert_eq(vdsm_net_register(&f->net, f->store, &e), NN_OK, "%s", e.msg);
    f->ppl = ppl_ctx_new(f->nn, f->store, 3, &e);
    cr_assert(f->ppl, "%s", e.msg);
}

static void open_fixture(struct fixture *f, const char *spec_file) { open_fixture_with(f, spec_file, NULL); }

static void close_fixture(struct fixture *f)
{
    ppl_ctx_free(f->ppl);
    ppl_store_free(f->store);
    nn_ctx_free(f->nn);
    vdsm_net_free(&f->net);
    vdsm_spec_free(&f->spec);
}

static void expect_site(const struct ppl_trace *tr, const char *name, int nbatch, const int64_t *batch, int nevent,
                        const int64_t *event)
{
    const struct ppl_site *s = ppl_trace_find(tr, name);
    cr_assert(s, "site '%s' missing", name);
    const struct ppl_dist *d = s->msg.dist;
    cr_assert_eq(d->batch_ndim, nbatch, "site %s: batch ndim %d, expected %d", name, d->batch_ndim, nbatch);
    cr_assert_eq(d->event_ndim, nevent, "site %s: event ndim %d", name, d->event_ndim);
    for (int i = 0; i < nbatch; i++)
        cr_assert_eq(d->shape[i], batch[i], "site %s: batch dim %d is %lld, expected %lld", name, i,
                     (long long)d->shape[i], (long long)batch[i]);
    for (int i = 0; i < nevent; i++)
        cr_assert_eq(d->shape[nbatch + i], event[i], "site %s: event dim %d is %lld, expected %lld", name, i,
                     (long long)d->shape[nbatch + i], (long long)event[i]);
}

/* traces guide, then the model replayed against it; prints both tables to `table` */
static void trace_pair(struct fixture *f, ppl_fn model, ppl_fn guide, struct vdsm_args *a, struct ppl_trace *gt,
                       struct ppl_trace *mt, char **table)
{
    ppl_trace_init(gt);
    ppl_trace_init(mt);
    PPL_WITH(f->ppl, &gt->m) guide(f->ppl, a);
    cr_assert_eq(ppl_status(f->ppl), NN_OK, "guide: %s", ppl_message(f->ppl));
    struct ppl_replay rp;
    ppl_replay_init(&rp, gt);
    PPL_WITH(f->ppl, &rp.m) {
        PPL_WITH(f->ppl, &mt->m) model(f->ppl, a);
    }
    cr_assert_eq(ppl_status(f->ppl), NN_OK, "model: %s", ppl_message(f->ppl));
    size_t len;
    FILE *out = open_memstream(table, &len);
    ppl_trace_log_prob(f->ppl, gt);
    ppl_trace_log_prob(f->ppl, mt);
    ppl_trace_print(f->ppl, gt, out);
    ppl_trace_print(f->ppl, mt, out);
    fclose(out);
    cr_assert_eq(ppl_status(f->ppl), NN_OK, "%s", ppl_message(f->ppl));
}

static void check_stages(const char *spec_file)
{
    struct fixture f;
    open_fixture(&f, spec_file);
    int64_t B = 2, E = f.spec.model.n_e_w, Z = f.spec.model.z_dim, D = f.spec.model.dynamics_dim, P = 3 * 64 * 64;
    int64_t T1 = f.spec.stage1.pair ? 2 * f.spec.stage1.seq_len : f.spec.stage1.seq_len, T2 = f.spec.stage2.seq_len;
    struct ppl_trace gt, mt;
    char *table;

    /* stage 1 */
    struct nn_err e = {0};
    cr_assert_eq(vdsm_net_set_stage(&f.net, 1, &e), NN_OK);
    struct vdsm_args a = {.net = &f.net, .temp = 1, .anneal_id = 1, .anneal_t = 1, .anneal_dyn = 1};
    a.x = nn_rand(f.nn, f.ppl->rng, 5, (int64_t[]){B, T1, 3, 64, 64});
    trace_pair(&f, vdsm_encdec_model, vdsm_encdec_guide, &a, &gt, &mt, &table);
    expect_site(&gt, "ID", 2, (int64_t[]){B, 1}, 1, (int64_t[]){E});
    expect_site(&gt, "z", 2, (int64_t[]){B, T1}, 1, (int64_t[]){Z});
    expect_site(&mt, "ID", 2, (int64_t[]){B, 1}, 1, (int64_t[]){E});
    expect_site(&mt, "z", 2, (int64_t[]){B, T1}, 1, (int64_t[]){Z});
    expect_site(&mt, "obs", 2, (int64_t[]){B, T1}, 1, (int64_t[]){P});
    cr_assert(strstr(table, "individuals") && strstr(table, "time"), "plates missing from the table:\n%s", table);
    free(table);
    nn_ctx_step_reset(f.nn);

    /* stage 2 */
    cr_assert_eq(vdsm_net_set_stage(&f.net, 2, &e), NN_OK);
    a.x = nn_rand(f.nn, f.ppl->rng, 5, (int64_t[]){B, T2, 3, 64, 64});
    trace_pair(&f, vdsm_seq_model, vdsm_seq_guide, &a, &gt, &mt, &table);
    for (int s = 0; s < 2; s++) {
        struct ppl_trace *tr = s ? &mt : &gt;
        expect_site(tr, "ID", 1, (int64_t[]){B}, 1, (int64_t[]){E});
        expect_site(tr, "dz", 1, (int64_t[]){B}, 1, (int64_t[]){D});
        for (int64_t t = 0; t < T2; t++) {
            char name[32];
            snprintf(name, sizeof name, "z_%lld", (long long)t);
            expect_site(tr, name, 1, (int64_t[]){B}, 1, (int64_t[]){Z});
        }
    }
    expect_site(&mt, "images", 2, (int64_t[]){B, T2}, 1, (int64_t[]){P});
    cr_assert(strstr(table, "batch_loop") && strstr(table, "ID_plate"), "plates missing from the table:\n%s", table);
    free(table);
    close_fixture(&f);
}

Test(e2e_vdsm_traces, sprites_settings, .timeout = 300) { check_stages("specs/sprites.yaml"); }
Test(e2e_vdsm_traces, mug_settings, .timeout = 300) { check_stages("specs/mug.yaml"); }

/* every scale a network makes is at least model.min_scale: the scale parameter of each
 * network-made Normal site, in both stages' guides and the transition prior */
static void expect_min_scale(struct fixture *f, const struct ppl_trace *tr, const char *name, float lo)
{
    const struct ppl_site *s = ppl_trace_find(tr, name);
    cr_assert(s, "site '%s' missing", name);
    struct nn_tensor *scale = nn_contiguous(f->nn, s->msg.dist->p[1]);
    for (int64_t i = 0; i < nn_numel(scale); i++)
        cr_assert_geq(scale->data[i], lo, "site %s: scale %g below %g", name, (double)scale->data[i], (double)lo);
}

Test(e2e_vdsm_traces, min_scale_floors_every_network_scale, .timeout = 300)
{
    struct fixture f;
    open_fixture_with(&f, "specs/quick.yaml", "model.min_scale=0.75");
    struct ppl_trace gt, mt;
    char *table;
    struct nn_err e = {0};
    struct vdsm_args a = {.net = &f.net, .temp = 1, .anneal_id = 1, .anneal_t = 1, .anneal_dyn = 1};
    for (int stage = 1; stage <= 2; stage++) {
        cr_assert_eq(vdsm_net_set_stage(&f.net, stage, &e), NN_OK);
        int64_t T = stage == 1 ? f.spec.stage1.seq_len : f.spec.stage2.seq_len;
        a.x = nn_rand(f.nn, f.ppl->rng, 5, (int64_t[]){2, T, 3, 64, 64});
        if (stage == 1) {
            trace_pair(&f, vdsm_encdec_model, vdsm_encdec_guide, &a, &gt, &mt, &table);
            expect_min_scale(&f, &gt, "ID", 0.75f);
            expect_min_scale(&f, &gt, "z", 0.75f);
        } else {
            trace_pair(&f, vdsm_seq_model, vdsm_seq_guide, &a, &gt, &mt, &table);
            expect_min_scale(&f, &gt, "dz", 0.75f);
            expect_min_scale(&f, &gt, "z_1", 0.75f);
            expect_min_scale(&f, &mt, "z_1", 0.75f);
        }
        free(table);
        nn_ctx_step_reset(f.nn);
    }
    close_fixture(&f);
}

/* model.conv_width scales every conv of the frame encoder and expert decoder (rounded, at least
 * one channel) and nothing else; the model and guide still trace at the data's shapes */
static void expect_widths(const struct vdsm_net *n, const int enc[5], const int dec[4])
{
    for (int i = 0; i < 5; i++)
        cr_assert_eq(n->enc.conv[i].weight->shape[0], enc[i], "encoder conv %d: %lld channels, expected %d", i,
                     (long long)n->enc.conv[i].weight->shape[0], enc[i]);
    cr_assert_eq(n->enc.muvar.weight->shape[1], enc[4]);
    for (int l = 0; l < 5; l++) {
        int64_t cout = l == 4 ? 3 : dec[l];
        cr_assert_eq(n->dec.ew[l]->shape[2], cout, "decoder layer %d: %lld channels, expected %lld", l,
                     (long long)n->dec.ew[l]->shape[2], (long long)cout);
        if (l) cr_assert_eq(n->dec.ew[l]->shape[1], dec[l - 1]);
    }
}

Test(e2e_vdsm_traces, conv_width_scales_the_conv_channels, .timeout = 300)
{
    struct fixture f;
    open_fixture(&f, "specs/quick.yaml");
    expect_widths(&f.net, (const int[]){32, 32, 64, 64, 256}, (const int[]){512, 256, 128, 64});
    close_fixture(&f);
    open_fixture_with(&f, "specs/quick.yaml", "model.conv_width=0.01");
    expect_widths(&f.net, (const int[]){1, 1, 1, 1, 3}, (const int[]){5, 3, 1, 1});
    close_fixture(&f);

    open_fixture_with(&f, "specs/quick.yaml", "model.conv_width=0.5");
    expect_widths(&f.net, (const int[]){16, 16, 32, 32, 128}, (const int[]){256, 128, 64, 32});
    struct ppl_trace gt, mt;
    char *table;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_net_set_stage(&f.net, 1, &e), NN_OK);
    int64_t T = f.spec.stage1.pair ? 2 * f.spec.stage1.seq_len : f.spec.stage1.seq_len;
    struct vdsm_args a = {.net = &f.net, .temp = 1, .anneal_id = 1, .anneal_t = 1, .anneal_dyn = 1};
    a.x = nn_rand(f.nn, f.ppl->rng, 5, (int64_t[]){2, T, 3, 64, 64});
    trace_pair(&f, vdsm_encdec_model, vdsm_encdec_guide, &a, &gt, &mt, &table);
    expect_site(&mt, "obs", 2, (int64_t[]){2, T}, 1, (int64_t[]){3 * 64 * 64});
    free(table);
    close_fixture(&f);
}
