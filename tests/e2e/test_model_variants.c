/* End to end: model/guide pairs chosen by name in the spec train (tiny pendulum data, a couple
 * of steps per stage). The default names run the canonical pair (the same losses as a spec that
 * does not name them); a variant gives other, finite losses; the run's spec.yaml records it. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/spec/spec.h"
#include "vdsm/train/train.h"

static char tmp[256], data_dir[300];

static void make_data(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-variants-XXXXXX");
    cr_assert(mkdtemp(tmp));
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp);
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 16;
    o.frames = 6;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(data_dir, &o, &e), NN_OK, "%s", e.msg);
}

static void cleanup(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static const char *small_sets[] = {"stage1.epochs=1", "stage1.batches_per_epoch=2", "stage1.batch_size=2",
                                   "stage1.seq_len=3", "stage2.epochs=1", "stage2.batches_per_epoch=2",
                                   "stage2.batch_size=2", "stage2.seq_len=3", "runtime.threads=1",
                                   "model.lstm_hidden=8", "stage2.schedules.pose_kl={curve: constant, value: 1}",
                                   "output.grids_every=0", "output.gifs_every=0"};
#define NSMALL ((int)(sizeof small_sets / sizeof small_sets[0]))

/* trains specs/quick.yaml with the small settings and `extra` into tmp/name */
static void train(const char *name, const char *const *extra, int nextra, char *run, size_t len)
{
    const char *sets[32];
    char path_set[400];
    snprintf(path_set, sizeof path_set, "dataset.path=%s", data_dir);
    int n = 0;
    sets[n++] = path_set;
    for (int i = 0; i < NSMALL; i++) sets[n++] = small_sets[i];
    for (int i = 0; i < nextra; i++) sets[n++] = extra[i];
    struct vdsm_spec spec;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, n, &spec, &e), NN_OK, "%s", e.msg);
    snprintf(run, len, "%s/%s", tmp, name);
    struct vdsm_train_opts o = {.run_dir = run, .quiet = true, .log = stderr};
    cr_assert_eq(vdsm_train(&spec, &o, &e), NN_OK, "%s: %s", name, e.msg);
    vdsm_spec_free(&spec);
}

/* the `"loss":` values of one stage's metrics lines, as written */
static char *losses(const char *run, int stage)
{
    char path[400], line[8192], tag[32];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    snprintf(tag, sizeof tag, "\"stage\":%d,", stage);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    char *out = calloc(1, 1 << 14);
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "\"loss\":");
        if (!strstr(line, tag) || !p) continue;
        p += 7;
        double v = strtod(p, NULL);
        cr_assert(isfinite(v), "%s: loss %s", run, p);
        strncat(out, p, strcspn(p, ","));
        strcat(out, "\n");
    }
    fclose(f);
    cr_assert(*out, "%s: no stage-%d lines", run, stage);
    return out;
}

static bool spec_says(const char *run, const char *text)
{
    char path[400], buf[1 << 15];
    snprintf(path, sizeof path, "%s/spec.yaml", run);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

Test(e2e_variants, named_pairs_train, .init = make_data, .fini = cleanup, .timeout = 300)
{
    char canon[400], named[400], laplace[400], iid[400];
    train("canon", NULL, 0, canon, sizeof canon);
    train("named", (const char *[]){"stage1.model=encdec", "stage2.model=seq"}, 2, named, sizeof named);
    train("laplace", (const char *[]){"stage1.model=encdec_laplace", "stages=[encdec]"}, 2, laplace, sizeof laplace);
    train("iid", (const char *[]){"stage2.model=seq_iid_pose"}, 1, iid, sizeof iid);

    char *c1 = losses(canon, 1), *c2 = losses(canon, 2);
    char *n1 = losses(named, 1), *n2 = losses(named, 2);
    cr_assert_str_eq(n1, c1, "naming the default pair changed stage 1");
    cr_assert_str_eq(n2, c2, "naming the default pair changed stage 2");
    char *l1 = losses(laplace, 1);
    cr_assert_str_neq(l1, c1, "encdec_laplace trained the canonical model");
    cr_assert(spec_says(laplace, "  model: encdec_laplace\n"));
    char *i1 = losses(iid, 1), *i2 = losses(iid, 2);
    cr_assert_str_eq(i1, c1, "stage 1 of a stage-2 variant differs");
    cr_assert_str_neq(i2, c2, "seq_iid_pose trained the canonical model");
    cr_assert(spec_says(iid, "  model: seq_iid_pose\n"));
    free(c1), free(c2), free(n1), free(n2), free(l1), free(i1), free(i2);
}
