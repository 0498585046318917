/* vdsm judge + vdsm eval end to end on a tiny model (label e2e): a small pendulum set, a
 * quick.yaml run trained for one batch per stage, a narrow judge, then every protocol. Asserts
 * the pipeline, exit codes and the structure of eval.json / eval.md, not quality. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/io/npy.h"

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

/* the whole file, in a buffer that the next call reuses */
static const char *slurp(const char *path)
{
    static char buf[1 << 18];
    FILE *f = fopen(path, "rb");
    cr_assert(f, "no %s", path);
    buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
    fclose(f);
    return buf;
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

static void load_npy(const char *rel, struct vdsm_npy_array *a, enum vdsm_dtype t, int ndim)
{
    char path[512];
    struct nn_err e = {0};
    snprintf(path, sizeof path, "%s/exp/%s", dir, rel);
    cr_assert_eq(vdsm_npy_load(path, a, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(a->h.dtype, t, "%s", rel);
    cr_assert_eq(a->h.ndim, ndim, "%s", rel);
}

/* rows [n, F] float32 of an exported latent file, F > 0, finite */
static const float *latents(const char *rel, struct vdsm_npy_array *a, size_t n)
{
    load_npy(rel, a, VDSM_DT_F32, 2);
    cr_assert_eq(a->h.shape[0], n, "%s rows", rel);
    cr_assert_gt(a->h.shape[1], 0, "%s columns", rel);
    const float *v = a->data;
    for (size_t i = 0; i < a->h.count; i++) cr_assert(isfinite(v[i]), "%s[%zu] = %g", rel, i, v[i]);
    return v;
}

/* the latents beside the clips: a transfer clip was decoded from its dynamics source's dynamics
 * (as in set (a), which keeps each clip's dynamics) and its identity source's identity (as in set
 * (b), which keeps each clip's identity) */
static void check_export_latents(size_t n, size_t test0)
{
    struct vdsm_npy_array ad, bi, td, ti, ts;
    const float *a_dyn = latents("judge-seed0/a_keep_dynamics_sample_identity_dynamics.npy", &ad, n);
    const float *b_id = latents("judge-seed0/b_keep_identity_sample_dynamics_identity.npy", &bi, n);
    const float *t_dyn = latents("judge-seed0/transfer_dynamics.npy", &td, n);
    const float *t_id = latents("judge-seed0/transfer_identity.npy", &ti, n);
    load_npy("judge-seed0/transfer_sources.npy", &ts, VDSM_DT_I32, 2);
    size_t d = ad.h.shape[1], e = bi.h.shape[1];
    cr_assert_eq(td.h.shape[1], d);
    cr_assert_eq(ti.h.shape[1], e);
    const int32_t *src = ts.data;
    for (size_t i = 0; i < n; i++) {
        size_t dyn = (size_t)src[2 * i] - test0, id = (size_t)src[2 * i + 1] - test0;
        cr_assert(dyn == i && id < n, "transfer clip %zu: sources %d, %d", i, src[2 * i], src[2 * i + 1]);
        for (size_t j = 0; j < d; j++) cr_assert_float_eq(t_dyn[i * d + j], a_dyn[dyn * d + j], 1e-6, "clip %zu dynamics", i);
        for (size_t j = 0; j < e; j++) cr_assert_float_eq(t_id[i * e + j], b_id[id * e + j], 1e-6, "clip %zu identity", i);
    }
    vdsm_npy_array_free(&ad), vdsm_npy_array_free(&bi), vdsm_npy_array_free(&td), vdsm_npy_array_free(&ti);
    vdsm_npy_array_free(&ts);
}

/* --export: per protocol and seed, frames/labels/sources of every scored set and export.json;
 * the labels are the data set's labels of the clips the JSON says they come from */
static void check_export(void)
{
    char path[512];
    struct nn_err e = {0};
    struct vdsm_dataset ds;
    snprintf(path, sizeof path, "%s/data", dir);
    cr_assert_eq(vdsm_dataset_open(path, &ds, &e), NN_OK, "%s", e.msg);
    size_t n = ds.meta.test[1] - ds.meta.test[0];
    static const char *const sets[] = {"judge-seed0/a_keep_dynamics_sample_identity", "judge-seed1/transfer",
                                       "consistency-seed0/recon", "consistency-seed0/prior"};
    for (int s = 0; s < 4; s++) {
        struct vdsm_npy_array fr, lab, src;
        char rel[256];
        snprintf(rel, sizeof rel, "%s_frames.npy", sets[s]);
        load_npy(rel, &fr, VDSM_DT_U8, 5);
        snprintf(rel, sizeof rel, "%s_labels.npy", sets[s]);
        load_npy(rel, &lab, VDSM_DT_I32, 2);
        snprintf(rel, sizeof rel, "%s_sources.npy", sets[s]);
        load_npy(rel, &src, VDSM_DT_I32, 2);
        size_t want[5] = {n, ds.t, ds.h, ds.w, ds.c};
        for (int d = 0; d < 5; d++) cr_assert_eq(fr.h.shape[d], want[d], "%s frames dim %d", sets[s], d);
        cr_assert_eq(lab.h.shape[0], n);
        cr_assert_eq(lab.h.shape[1], ds.k);
        cr_assert_eq(src.h.shape[1], 2);
        const int32_t *l = lab.data, *so = src.data;
        const uint8_t *px = fr.data;
        size_t nonzero = 0;
        for (size_t i = 0; i < fr.h.count; i++) nonzero += px[i] != 0;
        cr_assert_gt(nonzero, 0, "%s: all frames black", sets[s]);
        for (size_t i = 0; i < n; i++)
            for (size_t h = 0; h < ds.k; h++) {
                int32_t dyn = so[2 * i], id = so[2 * i + 1];
                if (s == 3) {
                    cr_assert(dyn == -1 && id == -1 && l[i * ds.k + h] == -1, "prior: no sources, no labels");
                    continue;
                }
                int32_t row = ds.meta.factors[h].identity ? (s == 0 ? dyn : id) : dyn;
                cr_assert(row >= (int32_t)ds.meta.test[0] && row < (int32_t)ds.meta.test[1], "%s: source %d", sets[s], row);
                cr_assert_eq(l[i * ds.k + h], ds.labels[(size_t)row * ds.k + h], "%s clip %zu factor %zu", sets[s], i, h);
            }
        vdsm_npy_array_free(&fr), vdsm_npy_array_free(&lab), vdsm_npy_array_free(&src);
    }
    check_export_latents(n, ds.meta.test[0]);
    struct vdsm_npy_array cl;
    latents("consistency-seed0/prior_dynamics.npy", &cl, n);
    vdsm_npy_array_free(&cl);
    snprintf(path, sizeof path, "%s/exp/judge-seed1/export.json", dir);
    cJSON *j = read_json(path);
    cr_assert_str_eq(at(j, "protocol")->valuestring, "judge");
    cr_assert_eq(at(j, "seed")->valueint, 1);
    cr_assert(strstr(at(j, "checkpoint")->valuestring, "checkpoints/"));
    cr_assert_str_eq(at(j, "sets/b_keep_identity_sample_dynamics/scored_heads")->valuestring, "identity");
    cr_assert_str_eq(at(j, "sets/transfer/labels")->valuestring, "transfer_labels.npy");
    cr_assert_str_eq(at(j, "sets/transfer/identity")->valuestring, "transfer_identity.npy");
    cr_assert_str_eq(at(j, "sets/transfer/dynamics")->valuestring, "transfer_dynamics.npy");
    cr_assert_eq(cJSON_GetArraySize(at(j, "factors")), (int)ds.k);
    cJSON_Delete(j);
    vdsm_dataset_close(&ds);
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
    /* a continuation with no epoch left to train still writes its --out */
    cr_assert_eq(run("judge train data --from data/judge.safetensors --out again.safetensors --epochs 1%s%s", "", ""), 0,
                 "judge train --from (see %s/log.txt)", dir);
    char again[1100];
    snprintf(again, sizeof again, "%s/again.safetensors", dir);
    cr_assert_eq(access(again, R_OK), 0, "judge train --from wrote no %s", again);
    /* usage errors and missing inputs */
    cr_assert_eq(run("eval run%s%s", "", ""), 2);
    cr_assert_eq(run("eval run --protocol bogus%s%s", "", ""), 2);
    cr_assert_eq(run("eval nowhere --protocol recon%s%s", "", ""), 1);
    cr_assert_eq(run("eval run --protocol judge --judge missing.safetensors%s%s", "", ""), 1);
    cr_assert_eq(run("eval --help%s%s", "", ""), 0);
    cr_assert_eq(run("judge --help%s%s", "", ""), 0);
    cr_assert_eq(run("eval run --protocol judge,recon --seeds 2 --batch 4 --export exp%s%s", "", ""), 0,
                 "eval (see %s/log.txt)", dir);
    cr_assert_eq(run("eval run --protocol consistency --seeds 1 --dsa-epochs 1 --dsa-width 4 --batch 4 --export exp%s%s",
                     "", ""),
                 0, "eval consistency (see %s/log.txt)", dir);

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
    /* a width-4 judge after one epoch is far under 99% on real clips, and eval says so */
    snprintf(path, sizeof path, "%s/log.txt", dir);
    const char *logtxt = slurp(path);
    cr_assert(strstr(logtxt, "vdsm eval: note: the judge") && strstr(logtxt, "under ~99%"), "no weak-judge note in the log");
    /* consistency: every factor, shares in [0, 1] */
    mean_in(r, "consistency/factors/bob_colour/consistency", 0, 1);
    mean_in(r, "consistency/factors/damping/consistency", 0, 1);
    mean_in(r, "consistency/factors/damping/prior_samples/is", 1 - 1e-6, 3 + 1e-6);
    cr_assert_str_eq(at(r, "consistency/factors/damping/kind")->valuestring, "dynamics");
    /* disagreements: distinct (real, reconstruction) label pairs, most clips first, as many clips
     * in all as the consistency share leaves (one seed) */
    int scored = at(r, "consistency/scored_clips")->valueint, disagreeing_factors = 0;
    const cJSON *fac;
    cJSON_ArrayForEach(fac, at(r, "consistency/factors"))
    {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(fac, "disagreements"), *d;
        cr_assert(cJSON_IsArray(list), "%s: no disagreements list", fac->string);
        double clips = 0, last = 1e300;
        cJSON_ArrayForEach(d, list)
        {
            double c = cJSON_GetObjectItemCaseSensitive(d, "clips")->valuedouble;
            cr_assert(c >= 1 && c <= last, "%s: %g clips after %g", fac->string, c, last);
            cr_assert_str_neq(cJSON_GetObjectItemCaseSensitive(d, "real")->valuestring,
                              cJSON_GetObjectItemCaseSensitive(d, "reconstruction")->valuestring);
            clips += c, last = c;
        }
        double cons = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(fac, "consistency"), "mean")->valuedouble;
        cr_assert_float_eq(clips, (1 - cons) * scored, 1e-6, "%s: %g disagreeing clips, consistency %g of %d", fac->string,
                           clips, cons, scored);
        disagreeing_factors += clips > 0;
    }
    /* recon */
    cr_assert_gt(mean_in(r, "recon/bits_per_dim", 0, 100), 0);
    cr_assert(cJSON_IsNumber(at(r, "recon/psnr_frame_db")));
    double mse = at(r, "recon/mse_sequence")->valuedouble;
    cr_assert(mse > 0 && mse < 1, "mse %g", mse);
    /* identity routing: the spec's 4 experts, shares of the test clips summing to 1, as many
     * experts in use as have a share, the mean top weight between uniform and one-hot */
    const cJSON *share = at(r, "recon/expert_share"), *sv;
    cr_assert_eq(cJSON_GetArraySize(share), 4);
    double total = 0;
    int nonzero = 0;
    cJSON_ArrayForEach(sv, share) total += sv->valuedouble, nonzero += sv->valuedouble > 0;
    cr_assert_float_eq(total, 1.0, 1e-9);
    cr_assert_eq(at(r, "recon/experts_used")->valueint, nonzero);
    double top = at(r, "recon/top_weight_mean")->valuedouble;
    cr_assert(top >= 0.25 - 1e-6 && top <= 1 + 1e-6, "top weight %g", top);
    /* by_class: the four dynamics factors (no identity one), each spreading every test clip
     * over its classes, the clip-weighted class errors adding up to the totals */
    static const char *const dyn[] = {"initial_angle", "initial_velocity", "length", "damping"};
    const cJSON *by = at(r, "recon/by_class"), *cls;
    cr_assert_eq(cJSON_GetArraySize(by), 4);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(by, "bob_colour"));
    double test_clips = at(r, "recon/test_clips")->valuedouble, mse_frame = at(r, "recon/mse_frame")->valuedouble;
    for (int f = 0; f < 4; f++) {
        const cJSON *fo = cJSON_GetObjectItemCaseSensitive(by, dyn[f]);
        cr_assert(fo, "by_class has no %s", dyn[f]);
        double clips = 0, se_frame = 0, se_seq = 0;
        cJSON_ArrayForEach(cls, fo)
        {
            double c = cJSON_GetObjectItemCaseSensitive(cls, "clips")->valuedouble;
            double ms = cJSON_GetObjectItemCaseSensitive(cls, "mse_sequence")->valuedouble;
            cr_assert_gt(c, 0);
            cr_assert_float_eq(cJSON_GetObjectItemCaseSensitive(cls, "psnr_sequence_db")->valuedouble,
                               -10 * log10(ms), 1e-9);
            clips += c, se_seq += c * ms;
            se_frame += c * cJSON_GetObjectItemCaseSensitive(cls, "mse_frame")->valuedouble;
        }
        cr_assert_float_eq(clips, test_clips, 1e-9, "%s: %g clips of %g", dyn[f], clips, test_clips);
        cr_assert_float_eq(se_seq / clips, mse, 1e-9 * mse, "%s", dyn[f]);
        cr_assert_float_eq(se_frame / clips, mse_frame, 1e-9 * mse_frame, "%s", dyn[f]);
    }
    cJSON_Delete(r);

    snprintf(path, sizeof path, "%s/run/eval.md", dir);
    const char *md = slurp(path);
    cr_assert(strstr(md, "| protocol | metric |"));
    cr_assert(strstr(md, "| judge | (a) dynamics kept, identity sampled: IS | initial_angle |"));
    cr_assert(strstr(md, "| consistency | consistency % | bob_colour |"));
    cr_assert_eq(strstr(md, "Consistency disagreements") != NULL, disagreeing_factors > 0);
    cr_assert(strstr(md, "| recon | test -ELBO, bits per dim |"));
    cr_assert(strstr(md, "| recon | identity: experts used"));
    cr_assert(strstr(md, "Sequence-path PSNR by class") && strstr(md, "\n- damping: "), "%s", md);
    check_export();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
