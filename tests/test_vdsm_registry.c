/* tests/test_vdsm_registry.c: the model registry (vdsm/model/registry.h) and the spec keys
 * stage1.model / stage2.model that name its rows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/model/registry.h"
#include "vdsm/spec/spec.h"

static nn_status load(const char *text, const char *const *sets, int nsets, struct vdsm_spec *s, struct nn_err *e)
{
    return vdsm_spec_load_mem(text, strlen(text), "x.yaml", ".", sets, nsets, s, e);
}

static void expect_error(const char *text, const char *const *sets, int nsets, const char *want)
{
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_neq(load(text, sets, nsets, &s, &e), NN_OK, "expected an error for: %s", text);
    cr_assert(strstr(e.msg, want), "message\n  %s\ndoes not contain\n  %s", e.msg, want);
}

Test(vdsm_registry, table_is_well_formed)
{
    int per_stage[3] = {0};
    for (size_t i = 0; i < vdsm_nmodels; i++) {
        const struct vdsm_model_variant *v = &vdsm_models[i];
        cr_assert(v->stage == 1 || v->stage == 2, "%s: stage %d", v->name, v->stage);
        cr_assert(v->model && v->guide && v->doc && *v->doc, "%s: incomplete row", v->name);
        cr_assert_eq(vdsm_model_find(v->name), v, "%s: name not unique", v->name);
        per_stage[v->stage]++;
    }
    cr_assert(per_stage[1] >= 2 && per_stage[2] >= 2);
    cr_assert_str_eq(vdsm_model_default(1)->name, "encdec");
    cr_assert_str_eq(vdsm_model_default(2)->name, "seq");
    cr_assert_null(vdsm_model_find("nope"));
}

Test(vdsm_registry, default_is_the_canonical_pair)
{
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_eq(load("name: t\n", NULL, 0, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(s.stage1.model, vdsm_model_default(1));
    cr_assert_eq(s.stage2.model, vdsm_model_default(2));
    char *y = vdsm_spec_to_yaml(&s);
    cr_assert(strstr(y, "stage1:\n  model: encdec\n"), "%s", y);
    cr_assert(strstr(y, "stage2:\n  model: seq\n"), "%s", y);
    free(y);
    vdsm_spec_free(&s);
}

Test(vdsm_registry, spec_and_set_select_a_variant_and_round_trip)
{
    struct vdsm_spec s, t;
    struct nn_err e = {0};
    const char *sets[] = {"stage2.model=seq_iid_pose"};
    cr_assert_eq(load("stage1:\n  model: encdec_laplace\n", sets, 1, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_str_eq(s.stage1.model->name, "encdec_laplace");
    cr_assert_eq(s.stage1.model->stage, 1);
    cr_assert_str_eq(s.stage2.model->name, "seq_iid_pose");
    char *y = vdsm_spec_to_yaml(&s);
    cr_assert_eq(load(y, NULL, 0, &t, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(t.stage1.model, s.stage1.model);
    cr_assert_eq(t.stage2.model, s.stage2.model);
    cr_assert_eq(vdsm_spec_hash(&s), vdsm_spec_hash(&t));
    free(y);
    vdsm_spec_free(&s);
    vdsm_spec_free(&t);
}

Test(vdsm_registry, unknown_name_is_a_positioned_error)
{
    expect_error("stage1:\n  epochs: 10\n  model: encdec_lapalce\n", NULL, 0,
                 "x.yaml:3:10: stage1.model: unknown model 'encdec_lapalce' (stage 1 takes: encdec, encdec_laplace)");
    expect_error("name: t\n", (const char *[]){"stage2.model=lstm"}, 1,
                 "--set stage2.model=lstm: stage2.model: unknown model 'lstm' (stage 2 takes: seq, seq_iid_pose)");
    expect_error("stage1:\n  model: [encdec]\n", NULL, 0, "x.yaml:2:10: stage1.model:");
}

Test(vdsm_registry, a_name_of_the_other_stage_is_refused)
{
    expect_error("stage2:\n  model: encdec\n", NULL, 0,
                 "x.yaml:2:10: stage2.model: 'encdec' is a stage-1 model (stage 2 takes: seq, seq_iid_pose)");
    expect_error("stage1:\n  model: seq_iid_pose\n", NULL, 0,
                 "x.yaml:2:10: stage1.model: 'seq_iid_pose' is a stage-2 model (stage 1 takes: encdec, encdec_laplace)");
}
