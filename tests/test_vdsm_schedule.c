/* tests/test_vdsm_schedule.c: the original release's four annealing curves against values from
 * its formulas (tests/fixtures/gen_vdsm_schedule.py, numpy + scipy), scipy's spline
 * interpolation, and the general curves' shapes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vdsm/schedule/schedule.h"
#include "vdsm/spec/tree.h"

struct ref {
    char name[64];
    int n;
    double v[512];
};

/* Reads one named line of tests/fixtures/vdsm_schedule.txt. */
static void ref_get(const char *name, struct ref *r)
{
    FILE *f = fopen(tu_source_path("tests/fixtures/vdsm_schedule.txt"), "r");
    cr_assert(f, "vdsm_schedule.txt missing");
    static char line[65536];
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok = strtok_r(line, " \n", &save);
        if (!tok || strcmp(tok, name)) continue;
        r->n = atoi(strtok_r(NULL, " \n", &save));
        cr_assert(r->n > 0 && r->n <= 512);
        for (int i = 0; i < r->n; i++) r->v[i] = strtod(strtok_r(NULL, " \n", &save), NULL);
        fclose(f);
        snprintf(r->name, sizeof r->name, "%s", name);
        return;
    }
    fclose(f);
    cr_assert_fail("no case %s in vdsm_schedule.txt", name);
}

static struct vdsm_schedule parse(const char *yaml)
{
    char doc[1024];
    snprintf(doc, sizeof doc, "s: %s\n", yaml);
    struct vdsm_node *root;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_yaml_load_mem(doc, strlen(doc), "test", &root, &e), NN_OK, "%s", e.msg);
    struct vdsm_schedule s;
    cr_assert_eq(vdsm_schedule_parse(vdsm_node_get(root, "s"), "s", &s, &e), NN_OK, "%s", e.msg);
    vdsm_node_free(root);
    return s;
}

static void compare(const struct vdsm_schedule *s, const char *name)
{
    struct ref r;
    ref_get(name, &r);
    for (int i = 0; i < r.n; i++) {
        double got = vdsm_schedule_value(s, i, r.n), want = r.v[i];
        cr_assert(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "%s epoch %d: got %.17g want %.17g", name, i,
                  got, want);
    }
}

struct cfg {
    const char *name;
    double ts, te;
    int tf;
    double is, ie;
    int jf;
    double t[6];
    double ds, de;
    int df;
};

/* the same configurations as gen_vdsm_schedule.py */
static const struct cfg cfgs[] = {
    {"mug1", 1, 10, 2, 0.1, 1, 3, {30.0, 0.2, 0.4, 1, 0.5, 0.8}, 0.1, 0.6, 1},
    {"mug2", 10, 10, 1, 0.1, 1, 3, {0.1, 0.4, 0.4, 1, 0.5, 0.8}, 0.1, 1.0, 1},
    {"sprites1", 1, 10, 2, 0.1, 1, 3, {30.0, 0.2, 0.4, 1, 0.5, 0.8}, 0.1, 0.6, 1},
    {"defaults", 2.0, 1, 1, 0.1, 0.8, 2, {10, 0.1, 0.1, 1, 0.3, 0.6}, 0.01, 1, 1},
    {"odd", 1, 10, 3, 0.1, 1, 4, {30.0, 0.2, 0.4, 1, 0.5, 0.8}, 0.1, 1.0, 2},
    {"odd2", 0.5, 4, 2, 0, 1, 3, {5, 1, 2, 0.5, 0.3, 0.6}, 0.2, 0.9, 3},
};

Test(vdsm_schedule, original_curves_match_the_release)
{
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        const struct cfg *k = &cfgs[c];
        char y[512], name[96];
        snprintf(y, sizeof y, "{curve: original_temp_id, temp_id_start: %.17g, temp_id_end: %.17g, temp_id_frac: %d}",
                 k->ts, k->te, k->tf);
        struct vdsm_schedule s = parse(y);
        snprintf(name, sizeof name, "%s.temp_id", k->name);
        compare(&s, name);
        snprintf(y, sizeof y, "{curve: original_anneal_id, anneal_start_id: %.17g, anneal_end_id: %.17g, anneal_frac_id: %d}",
                 k->is, k->ie, k->jf);
        s = parse(y);
        snprintf(name, sizeof name, "%s.anneal_id", k->name);
        compare(&s, name);
        snprintf(y, sizeof y,
                 "{curve: original_anneal_t, anneal_start_t: %.17g, anneal_mid_t1: %.17g, anneal_mid_t2: %.17g, "
                 "anneal_end_t: %.17g, anneal_t_midfrac1: %.17g, anneal_t_midfrac2: %.17g}",
                 k->t[0], k->t[1], k->t[2], k->t[3], k->t[4], k->t[5]);
        s = parse(y);
        snprintf(name, sizeof name, "%s.anneal_t", k->name);
        compare(&s, name);
        snprintf(y, sizeof y,
                 "{curve: original_anneal_dynamics, anneal_start_dynamics: %.17g, anneal_end_dynamics: %.17g, "
                 "anneal_frac_dynamics: %d}",
                 k->ds, k->de, k->df);
        s = parse(y);
        snprintf(name, sizeof name, "%s.anneal_dynamics", k->name);
        compare(&s, name);
    }
}

Test(vdsm_schedule, bspline_matches_scipy)
{
    static const int ns[3][3] = {{2, 5, 9}, {3, 5, 9}, {4, 5, 9}};
    for (int k = 1; k <= 3; k++)
        for (int j = 0; j < 3; j++) {
            char name[64];
            struct ref x, y, xq, yq;
            int n = ns[k - 1][j];
            snprintf(name, sizeof name, "bspline.k%d.n%d.x", k, n), ref_get(name, &x);
            snprintf(name, sizeof name, "bspline.k%d.n%d.y", k, n), ref_get(name, &y);
            snprintf(name, sizeof name, "bspline.k%d.n%d.xq", k, n), ref_get(name, &xq);
            snprintf(name, sizeof name, "bspline.k%d.n%d.yq", k, n), ref_get(name, &yq);
            double got[64];
            cr_assert(vdsm_bspline_interp(x.v, y.v, n, k, xq.v, got, xq.n));
            for (int q = 0; q < xq.n; q++)
                cr_assert(fabs(got[q] - yq.v[q]) <= 1e-11 * (1 + fabs(yq.v[q])), "k=%d n=%d q=%d: %.17g vs %.17g", k,
                          n, q, got[q], yq.v[q]);
        }
}

Test(vdsm_schedule, spline_in_fractions_equals_original_anneal_t)
{
    /* with x in epochs, a quadratic spline through the original's points is the original curve */
    struct vdsm_schedule s = parse("{curve: spline, degree: 2, x: epochs, points: [[0, 30], [125, 0.2], [200, 0.4], "
                                   "[249, 1]], clip: [0.005, 80]}");
    compare(&s, "mug1.anneal_t");
}

Test(vdsm_schedule, general_curves)
{
    struct vdsm_schedule c = parse("{curve: constant, value: 0.5}");
    cr_assert_float_eq(vdsm_schedule_value(&c, 7, 10), 0.5, 0);
    struct vdsm_schedule l = parse("{curve: linear, from: 0, to: 1, fraction: 0.5}");
    cr_assert_float_eq(vdsm_schedule_value(&l, 0, 10), 0.0, 1e-15);
    cr_assert_float_eq(vdsm_schedule_value(&l, 1, 10), 0.2, 1e-15);
    cr_assert_float_eq(vdsm_schedule_value(&l, 5, 10), 1.0, 1e-15);
    cr_assert_float_eq(vdsm_schedule_value(&l, 9, 10), 1.0, 1e-15);
    struct vdsm_schedule cs = parse("{curve: cosine, from: 1, to: 3, fraction: 1, start: 0}");
    cr_assert_float_eq(vdsm_schedule_value(&cs, 0, 10), 1.0, 1e-15);
    cr_assert_float_eq(vdsm_schedule_value(&cs, 5, 10), 2.0, 1e-12);
    struct vdsm_schedule sp = parse("{curve: spline, degree: 1, points: [[0, 0], [0.5, 1], [1, 0]]}");
    cr_assert_float_eq(vdsm_schedule_value(&sp, 0, 11), 0.0, 1e-12);
    cr_assert_float_eq(vdsm_schedule_value(&sp, 5, 11), 1.0, 1e-12);
    cr_assert_float_eq(vdsm_schedule_value(&sp, 10, 11), 0.0, 1e-12);
    cr_assert_float_eq(vdsm_schedule_value(&sp, 2, 11), 0.4, 1e-12);
    struct vdsm_schedule pw = parse("{curve: piecewise, pieces: [{until: 0.5, curve: constant, value: 2}, "
                                    "{curve: linear, from: 0, to: 1}], clip: [0, 1.5]}");
    cr_assert_float_eq(vdsm_schedule_value(&pw, 0, 10), 1.5, 0); /* clipped */
    cr_assert_float_eq(vdsm_schedule_value(&pw, 4, 10), 1.5, 0);
    cr_assert_float_eq(vdsm_schedule_value(&pw, 5, 10), 0.0, 1e-15);
    cr_assert_float_eq(vdsm_schedule_value(&pw, 7, 10), 0.4, 1e-15);
    vdsm_schedule_free(&pw);
}

Test(vdsm_schedule, format_round_trips)
{
    static const char *const ys[] = {
        "{curve: piecewise, pieces: [{until: 0.25, curve: cosine, from: 0, to: 2, fraction: 1}, "
        "{curve: spline, degree: 3, points: [[0, 1], [0.3, 2], [0.6, 0.5], [1, 1]]}]}",
        "{curve: original_anneal_t, anneal_start_t: 30, anneal_mid_t1: 0.2, anneal_mid_t2: 0.4, anneal_end_t: 1, "
        "anneal_t_midfrac1: 0.5, anneal_t_midfrac2: 0.8}",
        "{curve: original_anneal_dynamics, anneal_start_dynamics: 0.1, anneal_end_dynamics: 0.6, anneal_frac_dynamics: 3}",
    };
    for (int i = 0; i < 3; i++) {
        struct vdsm_schedule a = parse(ys[i]);
        char buf[1024];
        vdsm_schedule_format(&a, buf, sizeof buf);
        struct vdsm_schedule b = parse(buf);
        for (long e = 0; e < 40; e++)
            cr_assert_eq(vdsm_schedule_value(&a, e, 40), vdsm_schedule_value(&b, e, 40), "%s", buf);
        char buf2[1024];
        vdsm_schedule_format(&b, buf2, sizeof buf2);
        cr_assert_str_eq(buf, buf2);
        vdsm_schedule_free(&a);
        vdsm_schedule_free(&b);
    }
}

/* the KL-annealing curves against values worked out by hand from their definitions */
static void expect(const char *yaml, long epochs, const double *want)
{
    struct vdsm_schedule s = parse(yaml);
    for (long i = 0; i < epochs; i++)
        cr_assert(fabs(vdsm_schedule_value(&s, i, epochs) - want[i]) <= 1e-15, "%s epoch %ld: got %.17g want %.17g",
                  yaml, i, vdsm_schedule_value(&s, i, epochs), want[i]);
    vdsm_schedule_free(&s);
}

Test(vdsm_schedule, warmup)
{
    expect("{curve: warmup, epochs: 4}", 8, (double[]){0, 0.25, 0.5, 0.75, 1, 1, 1, 1});
    expect("{curve: warmup, epochs: 2, from: 0.5, to: 2.5}", 4, (double[]){0.5, 1.5, 2.5, 2.5});
}

Test(vdsm_schedule, sigmoid)
{
    /* 1 / (1 + e^5), 1 / (1 + e^-2) */
    double a = 1 / (1 + exp(5.0)), b = 1 / (1 + exp(-2.0));
    struct vdsm_schedule s = parse("{curve: sigmoid}"); /* from 0, to 1, center 0.5, steepness 10 */
    cr_assert_float_eq(vdsm_schedule_value(&s, 0, 10), 0.0066928509242848554, 1e-17);
    cr_assert_float_eq(vdsm_schedule_value(&s, 0, 10), a, 1e-17);
    cr_assert_float_eq(vdsm_schedule_value(&s, 5, 10), 0.5, 1e-17);
    cr_assert_float_eq(vdsm_schedule_value(&s, 7, 10), 0.88079707797788231, 1e-16);
    cr_assert_float_eq(vdsm_schedule_value(&s, 7, 10), b, 1e-16);
    struct vdsm_schedule t = parse("{curve: sigmoid, from: 0.1, to: 1, center: 0.25, steepness: 4}");
    /* epoch 5 of 10: u = 0.5, 0.1 + 0.9 / (1 + e^-1) */
    cr_assert_float_eq(vdsm_schedule_value(&t, 5, 10), 0.1 + 0.9 * 0.7310585786300049, 1e-15);
}

Test(vdsm_schedule, step)
{
    expect("{curve: step, at: 0.3}", 10, (double[]){0, 0, 0, 1, 1, 1, 1, 1, 1, 1});
    expect("{curve: step, from: 2, to: 1, at: 0.5}", 5, (double[]){2, 2, 2, 1, 1}); /* 2.5 -> epoch 3 */
    /* 4 jumps of 0.25 at 20%, 40%, 60%, 80% (0.2 + 2 * 0.2 is 0.6000000000000001: still epoch 6) */
    expect("{curve: step, steps: 4, at: 0.2, every: 0.2}", 10, (double[]){0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1});
}

Test(vdsm_schedule, cyclical)
{
    /* Fu et al.: T = 10, M = 2, R = 0.5: tau = (i mod 5) / 5 */
    expect("{curve: cyclical, cycles: 2, ratio: 0.5}", 10, (double[]){0, 0.4, 0.8, 1, 1, 0, 0.4, 0.8, 1, 1});
    /* M = 3: ceil(10/3) = 4 epochs a cycle, tau = (i mod 4) / (10/3): 0, 0.3, 0.6, 0.9 */
    expect("{curve: cyclical, cycles: 3, ratio: 0.5}", 10, (double[]){0, 0.6, 1, 1, 0, 0.6, 1, 1, 0, 0.6});
    /* defaults: 4 cycles, ratio 0.5; 8 epochs: tau = (i mod 2) / 2 */
    expect("{curve: cyclical, from: 0.5, to: 1.5}", 8, (double[]){0.5, 1.5, 0.5, 1.5, 0.5, 1.5, 0.5, 1.5});
}

Test(vdsm_schedule, kl_curves_round_trip)
{
    static const char *const ys[] = {
        "{curve: warmup, epochs: 7, from: 0.1, to: 2}",
        "{curve: sigmoid, from: 0, to: 1, center: 0.3, steepness: 12.5}",
        "{curve: step, from: 0, to: 1, at: 0.1, steps: 3, every: 0.2, clip: [0, 0.9]}",
        "{curve: cyclical, from: 0, to: 1, cycles: 5, ratio: 0.25}",
    };
    for (int i = 0; i < 4; i++) {
        struct vdsm_schedule a = parse(ys[i]);
        char buf[1024], buf2[1024];
        vdsm_schedule_format(&a, buf, sizeof buf);
        cr_assert_str_eq(buf, ys[i]);
        struct vdsm_schedule b = parse(buf);
        vdsm_schedule_format(&b, buf2, sizeof buf2);
        cr_assert_str_eq(buf, buf2);
        for (long e = 0; e < 40; e++) cr_assert_eq(vdsm_schedule_value(&a, e, 40), vdsm_schedule_value(&b, e, 40));
        vdsm_schedule_free(&a);
        vdsm_schedule_free(&b);
    }
}

Test(vdsm_schedule, kl_curves_refuse_bad_parameters)
{
    static const char *const bad[][2] = {
        {"{curve: warmup}", "curve warmup needs 'epochs'"},
        {"{curve: warmup, epochs: 0}", "s.epochs: expected an integer in [1, 100000000]"},
        {"{curve: step, steps: 3}", "curve step with 3 steps needs 'every' > 0"},
        {"{curve: cyclical, ratio: 0}", "s.ratio: expected a number in (0, 1]"},
        {"{curve: sigmoid, centre: 0.5}", "s.centre: unknown parameter of curve sigmoid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[256];
        snprintf(doc, sizeof doc, "s: %s\n", bad[i][0]);
        struct vdsm_node *root;
        struct nn_err e = {0};
        cr_assert_eq(vdsm_yaml_load_mem(doc, strlen(doc), "t.yaml", &root, &e), NN_OK);
        struct vdsm_schedule s;
        cr_assert_neq(vdsm_schedule_parse(vdsm_node_get(root, "s"), "s", &s, &e), NN_OK, "%s", bad[i][0]);
        cr_assert(strstr(e.msg, bad[i][1]), "%s: got '%s'", bad[i][0], e.msg);
        cr_assert(!strncmp(e.msg, "t.yaml:1:", 9), "no position: %s", e.msg);
        vdsm_node_free(root);
    }
}
