/* tests/test_vdsm_spec.c: YAML specs: the shipped specs load, extends / --set / defaults work,
 * the resolved spec round-trips with the same hash, and each kind of error names file:line:col
 * and the key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/spec/spec.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vdsm_spec_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[2][512];
    static int which;
    char *p = path[which++ & 1];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void expect_error(const char *text, const char *const *sets, int nsets, const char *want)
{
    const char *p = write_file("x.yaml", text);
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_neq(vdsm_spec_load(p, sets, nsets, &s, &e), NN_OK, "expected an error for: %s", text);
    char full[1024];
    snprintf(full, sizeof full, want, tmpdir);
    cr_assert(strstr(e.msg, full), "message\n  %s\ndoes not contain\n  %s", e.msg, full);
}

TestSuite(vdsm_spec, .init = setup, .fini = teardown);

Test(vdsm_spec, shipped_specs_load)
{
    static const char *const names[] = {"pendulum", "mug", "sprites", "sprites-lm", "mmnist", "quick", "quickstart"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "specs/%s.yaml", names[i]);
        struct vdsm_spec s;
        struct nn_err e = {0};
        cr_assert_eq(vdsm_spec_load(tu_source_path(rel), NULL, 0, &s, &e), NN_OK, "%s: %s", rel, e.msg);
        cr_assert_str_eq(s.name, names[i]);
        vdsm_spec_free(&s);
    }
}

Test(vdsm_spec, original_hyper_parameters)
{
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/sprites.yaml"), NULL, 0, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(s.model.n_e_w, 40);
    cr_assert_eq(s.model.z_dim, 30);
    cr_assert_eq(s.model.dynamics_dim, 50);
    cr_assert_eq(s.model.lstm_layers, 3);
    cr_assert_eq(s.model.lstm_hidden, 512);
    cr_assert_eq(s.stage1.seq_len, 8);
    cr_assert(s.stage1.pair);
    cr_assert_eq(s.stage2.seq_len, 8);
    cr_assert(!s.stage2.pair);
    cr_assert_eq(s.stage1.batch_size, 20);
    cr_assert_eq(s.stage1.schedules.pose_kl.curve, VDSM_CURVE_ORIG_ANNEAL_T);
    cr_assert_float_eq(s.stage1.schedules.pose_kl.from, 30.0, 1e-12);
    cr_assert_float_eq(s.model.encoder_leaky_slope, 1.0, 0);
    cr_assert_eq(s.stages, (unsigned)(VDSM_STAGE_ENCDEC | VDSM_STAGE_SEQ));
    vdsm_spec_free(&s);
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/mug.yaml"), NULL, 0, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(s.model.n_e_w, 15);
    cr_assert_eq(s.stage1.epochs, 250);
    cr_assert_eq(s.stage2.epochs, 200);
    cr_assert_eq(s.stage1.seq_len, 20);
    cr_assert(s.stage1.flip);
    cr_assert_float_eq(s.stage1.schedules.dynamics_kl.to, 0.6, 1e-12);
    cr_assert_float_eq(s.stage2.schedules.dynamics_kl.to, 1.0, 1e-12);
    vdsm_spec_free(&s);
}

Test(vdsm_spec, extends_merges_and_defaults_fill)
{
    write_file("base.yaml", "model:\n  z_dim: 12\n  n_e_w: 7\nstage1:\n  epochs: 20\n");
    const char *p = write_file("child.yaml", "extends: base.yaml\nmodel:\n  n_e_w: 9\n");
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(p, NULL, 0, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(s.model.z_dim, 12);     /* from the base */
    cr_assert_eq(s.model.n_e_w, 9);      /* child wins */
    cr_assert_eq(s.stage1.epochs, 20);
    cr_assert_eq(s.model.lstm_hidden, 512); /* schema default */
    cr_assert_str_eq(s.runtime.device, "cpu");
    vdsm_spec_free(&s);
}

Test(vdsm_spec, set_overrides)
{
    const char *p = write_file("x.yaml", "model:\n  n_e_w: 7\n");
    const char *sets[] = {"model.n_e_w=20", "runtime.device=cuda:1",
                          "stage1.schedules.pose_kl={curve: constant, value: 2.5}", "stages=[seq]"};
    struct vdsm_spec s;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(p, sets, 4, &s, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(s.model.n_e_w, 20);
    cr_assert_str_eq(s.runtime.device, "cuda:1");
    cr_assert_float_eq(vdsm_schedule_value(&s.stage1.schedules.pose_kl, 3, 10), 2.5, 0);
    cr_assert_eq(s.stages, (unsigned)VDSM_STAGE_SEQ);
    vdsm_spec_free(&s);
}

Test(vdsm_spec, roundtrip_and_hash)
{
    struct vdsm_spec a, b;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), NULL, 0, &a, &e), NN_OK, "%s", e.msg);
    char *y = vdsm_spec_to_yaml(&a);
    cr_assert(y);
    const char *p = write_file("resolved.yaml", y);
    cr_assert_eq(vdsm_spec_load(p, NULL, 0, &b, &e), NN_OK, "%s\n%s", e.msg, y);
    char *y2 = vdsm_spec_to_yaml(&b);
    cr_assert_str_eq(y, y2);
    cr_assert_eq(vdsm_spec_hash(&a), vdsm_spec_hash(&b));
    for (long i = 0; i < a.stage1.epochs; i++)
        cr_assert_float_eq(vdsm_schedule_value(&a.stage1.schedules.pose_kl, i, a.stage1.epochs),
                           vdsm_schedule_value(&b.stage1.schedules.pose_kl, i, b.stage1.epochs), 0);
    const char *sets[] = {"model.n_e_w=5"};
    struct vdsm_spec c;
    cr_assert_eq(vdsm_spec_load(p, sets, 1, &c, &e), NN_OK, "%s", e.msg);
    cr_assert_neq(vdsm_spec_hash(&a), vdsm_spec_hash(&c));
    free(y);
    free(y2);
    vdsm_spec_free(&a);
    vdsm_spec_free(&b);
    vdsm_spec_free(&c);
}

Test(vdsm_spec, wrong_type_names_position)
{
    expect_error("model:\n  z_dim: 30\n  n_e_w: abc\n", NULL, 0,
                 "%s/x.yaml:3:10: model.n_e_w: expected an integer in [1, 512], got 'abc'");
}

Test(vdsm_spec, out_of_range)
{
    expect_error("stage1:\n  lr: 0\n", NULL, 0, "%s/x.yaml:2:7: stage1.lr: expected a number in (0, 10], got '0'");
    expect_error("model:\n  likelihood: poisson\n", NULL, 0,
                 "x.yaml:2:15: model.likelihood: expected one of bernoulli|continuous_bernoulli|normal|bernoulli_clamped, got 'poisson'");
    expect_error("runtime:\n  device: gpu\n", NULL, 0, "x.yaml:2:11: runtime.device: expected cpu, cuda or cuda:N");
    expect_error("model:\n  n_e_w: \"3\"\n", NULL, 0, "x.yaml:2:10: model.n_e_w: expected an integer");
}

Test(vdsm_spec, unknown_key_with_hint)
{
    expect_error("model:\n  n_ew: 3\n", NULL, 0, "%s/x.yaml:2:3: model.n_ew: unknown key (did you mean n_e_w?)");
    expect_error("modle:\n  n_e_w: 3\n", NULL, 0, "x.yaml:1:1: modle: unknown key (did you mean model?)");
    expect_error("model: 3\n", NULL, 0, "x.yaml:1:8: model: expected a section");
}

Test(vdsm_spec, schedule_errors)
{
    expect_error("stage1:\n  schedules:\n    pose_kl: {curve: spline, degree: 4, points: [[0, 1], [1, 2]]}\n", NULL, 0,
                 "x.yaml:3:38: stage1.schedules.pose_kl.degree: expected an integer in [1, 3], got '4'");
    expect_error("stage1:\n  schedules:\n    pose_kl: {curve: cosine, form: 0, to: 1}\n", NULL, 0,
                 "stage1.schedules.pose_kl.form: unknown parameter of curve cosine");
    expect_error("stage1:\n  schedules:\n    pose_kl: {curve: cubic}\n", NULL, 0,
                 "x.yaml:3:22: stage1.schedules.pose_kl.curve: expected one of constant|");
    /* the original spline needs increasing points: too few epochs for these fractions */
    expect_error("stage2:\n  epochs: 4\n", NULL, 0, "stage2.schedules.pose_kl: with 4 epochs");
}

Test(vdsm_spec, set_errors_name_the_argument)
{
    const char *bad[] = {"model.n_e_w=abc"};
    expect_error("{}\n", bad, 1, "--set model.n_e_w=abc: model.n_e_w: expected an integer in [1, 512], got 'abc'");
    const char *unk[] = {"model.nope=1"};
    expect_error("{}\n", unk, 1, "--set model.nope=1: model.nope: unknown key");
    const char *noeq[] = {"model.n_e_w"};
    expect_error("{}\n", noeq, 1, "--set model.n_e_w: expected key.path=value");
}

Test(vdsm_spec, extends_errors)
{
    write_file("a.yaml", "extends: b.yaml\n");
    write_file("b.yaml", "extends: a.yaml\n");
    expect_error("extends: a.yaml\n", NULL, 0, "extends: 'a.yaml' extends itself (a cycle)");
    expect_error("extends: missing.yaml\n", NULL, 0, "x.yaml:1:10: extends: cannot open");
    write_file("bad.yaml", "model:\n  z_dim: -1\n");
    expect_error("extends: bad.yaml\n", NULL, 0, "%s/bad.yaml:2:10: model.z_dim: expected an integer");
}

Test(vdsm_spec, yaml_errors)
{
    expect_error("model:\n  z_dim: 3\n  z_dim: 4\n", NULL, 0, "x.yaml:3:3: duplicate key 'z_dim'");
    expect_error("model: [1, 2\n", NULL, 0, "x.yaml:");
    expect_error("- 1\n- 2\n", NULL, 0, "a spec must be a mapping");
    expect_error("a: &x 1\nb: *x\n", NULL, 0, "aliases are not supported");
}
