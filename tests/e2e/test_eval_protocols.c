/* vdsm judge + vdsm eval end to end on a tiny model (label e2e): a small pendulum set, a
 * quick.yaml run trained for one batch per stage, a narrow judge, then every protocol. Asserts
 * the pipeline, exit codes and the structure of eval.json / eval.md, not quality. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/vdsm_eval_e2e_XXXXXX";
static char vdsm[1024];

static int run(const char *fmt, const char *a, const char *b)
{
    static char cmd[12288], inner[8192];
    snprintf(inner, sizeof inner, fmt, a, b);
    snprintf(cmd, sizeof cmd, "cd %s && %s/vdsm %s >> %s/log.txt 2>&1", dir,
             getenv("VDSM_BUILD_DIR") ? getenv("VDSM_BUILD_DIR") : "build", inner, dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "no %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *o = cJSON_Parse(buf);
    cr_assert(o, "%s: not JSON", path);
    return o;
}

static const cJSON *at(const cJSON *o, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *save = NULL, *k = strtok_r(tmp, "/", &save); k; k = strtok_r(NULL, "/", &save)) {
        o = cJSON_GetObjectItemCaseSensitive(o, k);
        cr_assert(o, "eval.json: no '%s' (in %s)", k, path);
    }
    return o;
}

static double mean_in(const cJSON *o, const char *path, double lo, double hi)
{
    const cJSON *m = at(at(o, path), "mean");
    cr_assert(cJSON_IsNumber(m), "%s/mean not a number", path);
    cr_assert(m->valuedouble >= lo && m->valuedouble <= hi, "%s/mean %g outside [%g, %g]", path, m->valuedouble, lo, hi);
    return m->valuedouble;
}

Test(e2e_eval, judge_consistency_recon, .timeout = 240)
{
    cr_assert(mkdtemp(dir));
    snprintf(vdsm, sizeof vdsm, "%s", getenv("VDSM_SOURCE_DIR") ? getenv("VDSM_SOURCE_DIR") : ".");
    cr_assert_eq(run("data pendulum --sequences 40 --frames 4 --out data%s%s", "", ""), 0);
    char sets[2048];
    snprintf(sets, sizeof sets,
             "--set dataset.path=data --set stage1.epochs=1 --set stage2.epochs=1 --set stage1.batches_per_epoch=1 "
             "--set stage2.batches_per_epoch=1 --set stage1.schedules.pose_kl='{curve: constant, value: 1}' "
             "--set stage2.schedules.pose_kl='{curve: constant, value: 1}' --set model.lstm_hidden=8 --run-dir run");
    cr_assert_eq(run("train %s/specs/quick.yaml %s --quiet", vdsm, sets), 0, "vdsm train failed (see %s/log.txt)", dir);
    cr_assert_eq(run("judge train data --width 4 --epochs 1 --batch 8%s%s", "", ""), 0, "judge train (see %s/log.txt)", dir);
    /* usage errors and missing inputs */
    cr_assert_eq(run("eval run%s%s", "", ""), 2);
    cr_assert_eq(run("eval run --protocol bogus%s%s", "", ""), 2);
    cr_assert_eq(run("eval nowhere --protocol recon%s%s", "", ""), 1);
    cr_assert_eq(run("eval run --protocol judge --judge missing.safetensors%s%s", "", ""), 1);
    cr_assert_eq(run("eval --help%s%s", "", ""), 0);
    cr_assert_eq(run("judge --help%s%s", "", ""), 0);
    cr_assert_eq(run("eval run --protocol judge,recon --seeds 2 --batch 4%s%s", "", ""), 0, "eval (see %s/log.txt)", dir);
    cr_assert_eq(run("eval run --protocol consistency --seeds 1 --dsa-epochs 1 --dsa-width 4 --batch 4%s%s", "", ""), 0,
                 "eval consistency (see %s/log.txt)", dir);

    char path[256];
    snprintf(path, sizeof path, "%s/run/eval.json", dir);
    cJSON *r = read_json(path);
    cr_assert_str_eq(at(r, "dataset")->valuestring, "pendulum");
    /* the second call kept the first call's protocols */
    cr_assert(strstr(at(r, "judge/protocol")->valuestring, "judge"));
    cr_assert(strstr(at(r, "consistency/protocol")->valuestring, "consistency"));
    cr_assert(strstr(at(r, "recon/protocol")->valuestring, "reconstruction"));
    /* judge (a): dynamics heads only; (b): identity heads only */
    mean_in(r, "judge/a_keep_dynamics_sample_identity/initial_angle/accuracy", 0, 1);
    mean_in(r, "judge/a_keep_dynamics_sample_identity/initial_angle/is", 1 - 1e-6, 6 + 1e-6);
    mean_in(r, "judge/a_keep_dynamics_sample_identity/initial_angle/h_y", 0, 1.7918);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(at(r, "judge/a_keep_dynamics_sample_identity"), "bob_colour"));
    mean_in(r, "judge/b_keep_identity_sample_dynamics/bob_colour/accuracy", 0, 1);
    mean_in(r, "judge/b_keep_identity_sample_dynamics/background/h_yx", 0, 1.3863);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(at(r, "judge/b_keep_identity_sample_dynamics"), "damping"));
    cr_assert_eq(cJSON_GetArraySize(at(r, "judge/b_keep_identity_sample_dynamics/bob_size/accuracy/values")), 2);
    mean_in(r, "judge/transfer/dynamics_follow_source/length/accuracy", 0, 1);
    mean_in(r, "judge/transfer/identity_follow_source/rod_colour/accuracy", 0, 1);
    cr_assert(cJSON_IsNumber(at(r, "judge/judge_test_accuracy/bob_colour")));
    /* consistency: every factor, shares in [0, 1] */
    mean_in(r, "consistency/factors/bob_colour/consistency", 0, 1);
    mean_in(r, "consistency/factors/damping/consistency", 0, 1);
    mean_in(r, "consistency/factors/damping/prior_samples/is", 1 - 1e-6, 3 + 1e-6);
    cr_assert_str_eq(at(r, "consistency/factors/damping/kind")->valuestring, "dynamics");
    /* recon */
    cr_assert_gt(mean_in(r, "recon/bits_per_dim", 0, 100), 0);
    cr_assert(cJSON_IsNumber(at(r, "recon/psnr_frame_db")));
    double mse = at(r, "recon/mse_sequence")->valuedouble;
    cr_assert(mse > 0 && mse < 1, "mse %g", mse);
    cJSON_Delete(r);

    snprintf(path, sizeof path, "%s/run/eval.md", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    static char md[1 << 18];
    md[fread(md, 1, sizeof md - 1, f)] = 0;
    fclose(f);
    cr_assert(strstr(md, "| protocol | metric |"));
    cr_assert(strstr(md, "| judge | (a) dynamics kept, identity sampled: IS | initial_angle |"));
    cr_assert(strstr(md, "| consistency | consistency % | bob_colour |"));
    cr_assert(strstr(md, "| recon | test -ELBO, bits per dim |"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
