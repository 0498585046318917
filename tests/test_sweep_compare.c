/* tests/test_sweep_compare.c: vdsm compare's table from hand-written run directories: grouping
 * over seeds by spec, the final loss, each site's share of it, eval.json's numbers (spreads by
 * their mean), mean and sample std, empty cells, and the files written. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdsm/sweep/compare.h"

static char tmp[256];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-test-compare-XXXXXX");
    cr_assert(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static void put(const char *run, const char *file, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", tmp, run);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", tmp, run, file);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* a run whose last stage-1 row has the given loss and z terms */
static void run(const char *name, const char *variant, int seed, double loss, double model_z, const char *eval)
{
    char spec[400], m[1200];
    snprintf(spec, sizeof spec, "name: t\nmodel:\n  z_dim: %s\nruntime:\n  seed: %d\noutput:\n  run_dir: \"%s\"\n",
             variant, seed, name);
    put(name, "spec.yaml", spec);
    snprintf(m, sizeof m,
             "{\"stage\":1,\"epoch\":0,\"step\":1,\"loss\":99,\"terms\":{\"model:z\":-9,\"guide:z\":1,\"model:obs\":-90},"
             "\"schedule\":{\"pose_kl\":30}}\n"
             "{\"stage\":1,\"epoch\":1,\"step\":2,\"loss\":%.17g,\"terms\":{\"model:z\":%.17g,\"guide:z\":1,\"model:obs\":-50},"
             "\"schedule\":{\"pose_kl\":1}}\n",
             loss, model_z);
    put(name, "metrics.jsonl", m);
    if (eval) put(name, "eval.json", eval);
}

static int col(const struct vdsm_compare *c, const char *name)
{
    for (int k = 0; k < c->ncols; k++)
        if (!strcmp(c->cols[k], name)) return k;
    cr_assert_fail("no column '%s'", name);
    return -1;
}

TestSuite(compare, .init = setup, .fini = teardown);

Test(compare, groups_means_and_eval)
{
    run("a,seed=1", "8", 1, 10, -5, "{\"run\":\"x\",\"recon\":{\"bits_per_dim\":{\"mean\":2.5,\"std\":0.1,\"values\":[2.4,2.6]},"
                                   "\"psnr_frame_db\":20}}");
    run("a,seed=2", "8", 2, 14, -7, "{\"recon\":{\"bits_per_dim\":{\"mean\":3.5,\"std\":0.1},\"psnr_frame_db\":22}}");
    run("other-name", "16", 1, 30, -3, NULL);
    char p[3][400];
    const char *in[3];
    for (int i = 0; i < 3; i++) snprintf(p[i], sizeof p[i], "%s/%s", tmp, i == 0 ? "a,seed=1" : i == 1 ? "a,seed=2" : "other-name"), in[i] = p[i];
    struct vdsm_compare c;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_compare_load(in, 3, &c, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(c.ngroups, 2, "runs that differ only by seed are one group");
    cr_assert_str_eq(c.groups[0].label, "a");
    cr_assert_eq(c.groups[0].n, 2);
    cr_assert_str_eq(c.groups[1].label, "other-name");
    int loss = col(&c, "s1 loss"), z = col(&c, "s1 z"), obs = col(&c, "s1 obs");
    int bpd = col(&c, "eval.recon.bits_per_dim"), psnr = col(&c, "eval.recon.psnr_frame_db");
    cr_assert_float_eq(c.groups[0].mean[loss], 12, 1e-12);
    cr_assert_float_eq(c.groups[0].std[loss], sqrt(8), 1e-12);
    cr_assert_float_eq(c.groups[0].mean[z], 5, 1e-12, "-(model + guide), the mean of 4 and 6");
    cr_assert_float_eq(c.groups[0].mean[obs], 50, 1e-12);
    cr_assert_float_eq(c.groups[0].mean[bpd], 3, 1e-12, "a spread counts as its mean");
    cr_assert_float_eq(c.groups[0].mean[psnr], 21, 1e-12);
    cr_assert_float_eq(c.groups[1].mean[loss], 30, 1e-12);
    cr_assert(isnan(c.groups[1].std[loss]), "one run has no std");
    cr_assert(isnan(c.groups[1].mean[bpd]), "no eval.json: no value");
    char cell[96];
    vdsm_compare_cell(&c.groups[0], loss, cell, sizeof cell);
    cr_assert_str_eq(cell, "12 ± 2.83");
    vdsm_compare_cell(&c.groups[1], loss, cell, sizeof cell);
    cr_assert_str_eq(cell, "30");
    vdsm_compare_cell(&c.groups[1], bpd, cell, sizeof cell);
    cr_assert_str_eq(cell, "");

    char out[400], f[500];
    snprintf(out, sizeof out, "%s/cmp", tmp);
    cr_assert_eq(vdsm_compare_write(&c, out, &e), NN_OK, "%s", e.msg);
    vdsm_compare_free(&c);
    static const char *const files[] = {"compare.md", "compare.csv", "runs.csv", "compare.html", "curves/s1_loss.svg",
                                        "curves/s1_loss.png", "curves/s1_site_z.svg", "curves/s1_pose_kl.png"};
    struct stat st;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(f, sizeof f, "%s/%s", out, files[i]);
        cr_assert_eq(stat(f, &st), 0, "no %s", files[i]);
    }
    snprintf(f, sizeof f, "%s/compare.csv", out);
    FILE *fp = fopen(f, "r");
    char line[2048];
    cr_assert(fgets(line, sizeof line, fp));
    const char *head = "point,runs,s1 loss mean,s1 loss std,s1 z mean,s1 z std,s1 obs mean,";
    cr_assert(!strncmp(line, head, strlen(head)), "%s", line);
    cr_assert(fgets(line, sizeof line, fp));
    cr_assert(!strncmp(line, "a,2,12,2.82842712,5,", strlen("a,2,12,2.82842712,5,")), "%s", line);
    fclose(fp);
    snprintf(f, sizeof f, "%s/compare.html", out);
    fp = fopen(f, "r");
    char *html = calloc(1, 1 << 16);
    cr_assert(fread(html, 1, (1 << 16) - 1, fp) > 0);
    fclose(fp);
    cr_assert(strstr(html, "<a href=\"../a,seed=1/report.html\">"), "links relative to the page");
    free(html);
}

Test(compare, refuses_what_is_not_a_run)
{
    const char *in[] = {tmp};
    struct vdsm_compare c;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_compare_load(in, 1, &c, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "neither a sweep directory"), "%s", e.msg);
}
