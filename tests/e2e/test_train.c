/* End to end: vdsm train on a tiny pendulum set. The loss falls; an interrupted run (stopped
 * after some steps, or killed with SIGKILL at random moments, during checkpoint writes too)
 * resumes to exactly the uninterrupted run's losses and final checkpoint; an injected NaN rolls
 * back. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/dataset.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/spec/spec.h"
#include "vdsm/run/checkpoint.h"
#include "vdsm/train/train.h"

extern char **environ;

static char tmp[256], data_dir[300];

static void make_data(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-train-XXXXXX");
    cr_assert(mkdtemp(tmp));
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp);
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 32;
    o.frames = 8;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(data_dir, &o, &e), NN_OK, "%s", e.msg);
}

static void cleanup(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

/* small enough for a few seconds per stage, yet both stages with checkpoints every epoch */
static const char *small_sets[] = {"stage1.epochs=3", "stage1.batches_per_epoch=2", "stage1.batch_size=2",
                                   "stage1.seq_len=3", "stage2.epochs=2", "stage2.batches_per_epoch=2",
                                   "stage2.batch_size=2", "stage2.seq_len=3", "runtime.checkpoint_every=1",
                                   "runtime.keep_last=2", "runtime.threads=1",
                                   "stage2.schedules.pose_kl={curve: constant, value: 1}"};
#define NSMALL ((int)(sizeof small_sets / sizeof small_sets[0]))

static void load_spec(struct vdsm_spec *spec, const char *const *extra, int nextra)
{
    const char *sets[32];
    char path_set[400];
    snprintf(path_set, sizeof path_set, "dataset.path=%s", data_dir);
    int n = 0;
    sets[n++] = path_set;
    for (int i = 0; i < NSMALL; i++) sets[n++] = small_sets[i];
    for (int i = 0; i < nextra; i++) sets[n++] = extra[i];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, n, spec, &e), NN_OK, "%s", e.msg);
}

/* the values of one key of metrics.jsonl as text, one per line (lines without it skipped),
 * exactly as written */
static char *field(const char *run, const char *key)
{
    char path[400];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    char *out = calloc(1, 1 << 16), line[8192];
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, key);
        if (!p) continue; /* e.g. stage-1 sites on stage-2 lines */
        p += strlen(key);
        size_t k = strcspn(p, ",");
        strncat(out, p, k);
        strcat(out, "\n");
    }
    fclose(f);
    return out;
}

static char *losses(const char *run) { return field(run, "\"loss\":"); }

/* mean binary entropy of the pixel values: the best a Bernoulli likelihood can do */
static double entropy_floor(const char *dir)
{
    struct vdsm_dataset ds;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_dataset_open(dir, &ds, &e), NN_OK, "%s", e.msg);
    double h[256], sum = 0;
    for (int v = 0; v < 256; v++) {
        double x = v / 255.0;
        x = x < 1e-7 ? 1e-7 : x > 1 - 1e-7 ? 1 - 1e-7 : x;
        h[v] = -(x * log(x) + (1 - x) * log(1 - x));
    }
    const uint8_t *p = vdsm_dataset_seq(&ds, 0);
    size_t n = ds.n * ds.seq_bytes;
    for (size_t i = 0; i < n; i++) sum += h[p[i]];
    vdsm_dataset_close(&ds);
    return sum / (double)n;
}

/* the run's train.log (malloc'd) */
static char *read_log(const char *run)
{
    char path[500];
    snprintf(path, sizeof path, "%s/train.log", run);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    char *buf = calloc(1, 1 << 16);
    size_t got = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[got] = 0;
    return buf;
}

static void train(const struct vdsm_spec *spec, const char *run, long max_steps)
{
    struct vdsm_train_opts o = {.run_dir = run, .quiet = true, .max_steps = max_steps, .log = stderr};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_train(spec, &o, &e), NN_OK, "%s", e.msg);
}

Test(e2e_train, quick_spec_trains_both_stages_and_loss_falls, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    char run[400], path_set[400];
    snprintf(run, sizeof run, "%s/quick", tmp);
    snprintf(path_set, sizeof path_set, "dataset.path=%s", data_dir);
    /* the spec's schedules over a quarter of its stage-1 epochs: the whole spec is 300 steps */
    const char *sets[] = {path_set, "stage1.epochs=20"};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, 2, &spec, &e), NN_OK, "%s", e.msg);
    train(&spec, run, 0);
    /* The annealed loss mixes in changing KL weights, so judge the reconstruction term. A
     * Bernoulli likelihood of grey levels cannot beat their binary entropy: measure the excess
     * over that floor, per pixel, and ask that training at least halve it. */
    double floor = entropy_floor(data_dir);
    double n = (double)spec.stage1.batch_size * spec.stage1.seq_len * 64 * 64 * 3;
    char *l = field(run, "\"model:obs\":");
    double first = 0, best = 1e300, v;
    int i = 0;
    for (char *p = l; sscanf(p, "%lf", &v) == 1 && i < spec.stage1.epochs; p = strchr(p, '\n') + 1, i++) {
        double excess = -v / n - floor;
        if (i == 0) first = excess;
        else if (excess < best) best = excess;
    }
    cr_assert_eq(i, spec.stage1.epochs);
    cr_assert(best < 0.5 * first, "stage-1 reconstruction did not improve: excess over the entropy floor %g nats/pixel "
              "in epoch 1, best later %g", first, best);
    free(l);
    struct vdsm_ckpt_info info;
    bool found;
    cr_assert_eq(vdsm_ckpt_find_latest(run, 2, &info, &found, &e), NN_OK);
    cr_assert(found && info.epoch == spec.stage2.epochs, "stage 2 did not finish");
    vdsm_spec_free(&spec);
}

/* Trains spec into tmp/<tag>-a uninterrupted and into tmp/<tag>-b stopped mid-epoch, mid-stage and
 * across the stage boundary, asserts the two runs' losses are the same to the bit and returns
 * them (free it) */
static char *resume_matches_uninterrupted(const struct vdsm_spec *spec, const char *tag)
{
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/%s-a", tmp, tag);
    snprintf(b, sizeof b, "%s/%s-b", tmp, tag);
    train(spec, a, 0);
    train(spec, b, 3);
    train(spec, b, 4);
    train(spec, b, 0);
    char *la = losses(a), *lb = losses(b);
    cr_assert_str_eq(lb, la, "%s: resumed run's losses differ:\n%s\nuninterrupted:\n%s", tag, lb, la);
    free(lb);
    return la;
}

Test(e2e_train, resume_reproduces_the_uninterrupted_losses, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    load_spec(&spec, NULL, 0);
    free(resume_matches_uninterrupted(&spec, "fp32"));
    vdsm_spec_free(&spec);
}

/* In bf16 too a resumed run equals the uninterrupted one to the bit, and it is not the fp32 run */
Test(e2e_train, resume_is_exact_in_bf16, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec, spec32;
    const char *bf16[] = {"runtime.precision=bf16"};
    load_spec(&spec, bf16, 1);
    load_spec(&spec32, NULL, 0);
    char *l16 = resume_matches_uninterrupted(&spec, "bf16");
    char c[400];
    snprintf(c, sizeof c, "%s/fp32", tmp);
    train(&spec32, c, 0);
    char *l32 = losses(c);
    cr_assert_str_neq(l32, l16, "the bf16 run's losses equal the fp32 run's: bf16 is not in effect");
    free(l16), free(l32);
    vdsm_spec_free(&spec);
    vdsm_spec_free(&spec32);
}

static pid_t spawn_train(const char *run)
{
    const char *bd = getenv("VDSM_BUILD_DIR");
    cr_assert(bd, "VDSM_BUILD_DIR unset (run through ctest)");
    static char exe[400], spec[400], rd[400], ps[400];
    snprintf(exe, sizeof exe, "%s/vdsm", bd);
    snprintf(spec, sizeof spec, "%s", tu_source_path("specs/quick.yaml"));
    snprintf(rd, sizeof rd, "%s", run);
    snprintf(ps, sizeof ps, "dataset.path=%s", data_dir);
    char *argv[64];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "train";
    argv[n++] = spec;
    argv[n++] = "--quiet";
    argv[n++] = "--run-dir";
    argv[n++] = rd;
    argv[n++] = "--set";
    argv[n++] = ps;
    for (int i = 0; i < NSMALL; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)small_sets[i];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

Test(e2e_train, sigkill_at_random_moments_then_resume, .init = make_data, .fini = cleanup, .timeout = 600)
{
    struct vdsm_spec spec;
    load_spec(&spec, NULL, 0);
    char a[400], c[400];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(c, sizeof c, "%s/c", tmp);
    train(&spec, a, 0);
    srand((unsigned)time(NULL));
    int killed = 0;
    for (int k = 0; k < 6; k++) {
        pid_t pid = spawn_train(c);
        usleep((useconds_t)(200000 + rand() % 2500000));
        int status;
        if (kill(pid, SIGKILL) == 0) killed++;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
    }
    pid_t pid = spawn_train(c);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "final resume failed (status %d)", status);
    char *la = losses(a), *lc = losses(c);
    cr_assert_str_eq(lc, la, "after %d kills the losses differ:\n%s\nuninterrupted:\n%s", killed, lc, la);
    free(la);
    free(lc);
    /* and the final checkpoints are the same to the bit (values, optimizer state, metadata) */
    char pa[600], pc[600];
    snprintf(pa, sizeof pa, "%s/checkpoints/ckpt-s2-e%06d.safetensors", a, spec.stage2.epochs);
    snprintf(pc, sizeof pc, "%s/checkpoints/ckpt-s2-e%06d.safetensors", c, spec.stage2.epochs);
    FILE *fa = fopen(pa, "rb"), *fc = fopen(pc, "rb");
    cr_assert(fa && fc, "%s or %s missing", pa, pc);
    long at = 0;
    int ka, kc;
    do {
        ka = fgetc(fa), kc = fgetc(fc);
        cr_assert_eq(ka, kc, "after %d kills the final checkpoints differ at byte %ld", killed, at);
        at++;
    } while (ka != EOF);
    fclose(fa);
    fclose(fc);
    vdsm_spec_free(&spec);
}

Test(e2e_train, corrupt_newest_checkpoint_is_skipped, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *extra[] = {"stages=[encdec]"};
    load_spec(&spec, extra, 1);
    char run[400], bad[600];
    snprintf(run, sizeof run, "%s/r", tmp);
    train(&spec, run, 0);
    /* a newer file that is truncated, and a leftover .tmp of an interrupted write */
    snprintf(bad, sizeof bad, "%s/checkpoints/ckpt-s1-e000099.safetensors", run);
    FILE *f = fopen(bad, "wb");
    cr_assert(f);
    fputs("\x10\x00\x00", f);
    fclose(f);
    struct vdsm_ckpt_info info;
    bool found;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_ckpt_find_latest(run, 1, &info, &found, &e), NN_OK);
    cr_assert(found);
    cr_assert_eq(info.epoch, spec.stage1.epochs, "picked %s", info.path);
    vdsm_spec_free(&spec);
}

Test(e2e_train, injected_nan_rolls_back_then_gives_up_when_told, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *extra[] = {"stages=[encdec]"};
    load_spec(&spec, extra, 1);
    char run[400];
    snprintf(run, sizeof run, "%s/n", tmp);
    setenv("VDSM_INJECT_NAN_STEP", "3", 1);
    train(&spec, run, 0);
    char *buf = read_log(run);
    cr_assert(strstr(buf, "loss is NaN; rolled back to"), "no rollback in the log:\n%s", buf);
    cr_assert(strstr(buf, "learning rate x0.8"), "%s", buf);
    free(buf);
    vdsm_spec_free(&spec);

    /* with no retries allowed the run stops with a clear message */
    const char *extra2[] = {"stages=[encdec]", "runtime.nan_retries=0"};
    load_spec(&spec, extra2, 2);
    snprintf(run, sizeof run, "%s/n0", tmp);
    struct vdsm_train_opts o = {.run_dir = run, .quiet = true, .log = stderr};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_train(&spec, &o, &e), NN_NAN);
    cr_assert(strstr(e.msg, "gave up after 0 rollbacks"), "%s", e.msg);
    unsetenv("VDSM_INJECT_NAN_STEP");
    vdsm_spec_free(&spec);
}

/* A non-finite gradient at a checkpoint step leaves a finite loss and NaN parameters: the
 * trainer rolls back instead of writing them, so no checkpoint ever holds a NaN. */
Test(e2e_train, nan_parameters_are_never_checkpointed, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *extra[] = {"stages=[encdec]"};
    load_spec(&spec, extra, 1);
    char run[400];
    snprintf(run, sizeof run, "%s/p", tmp);
    setenv("VDSM_INJECT_NAN_PARAMS_STEP", "4", 1); /* the last step of epoch 2, a checkpoint */
    train(&spec, run, 0);
    unsetenv("VDSM_INJECT_NAN_PARAMS_STEP");
    char *buf = read_log(run);
    cr_assert(strstr(buf, "step 4: parameter '") && strstr(buf, "is not finite after the update"),
              "no rollback for the NaN parameter in the log:\n%s", buf);
    cr_assert(strstr(buf, "(epoch 1)"), "not rolled back to the epoch-1 checkpoint:\n%s", buf);
    free(buf);
    for (int epoch = 2; epoch <= 3; epoch++) {
        char path[600];
        snprintf(path, sizeof path, "%s/checkpoints/ckpt-s1-e%06d.safetensors", run, epoch);
        struct ppl_param_store *st = ppl_store_new();
        struct nn_err e = {0};
        cr_assert_eq(ppl_store_load(st, path, &e), NN_OK, "%s", e.msg);
        const struct ppl_param_entry *bad = ppl_store_find_nonfinite(st);
        cr_assert_null(bad, "%s holds a non-finite '%s'", path, bad ? bad->name : "");
        ppl_store_free(st);
    }
    vdsm_spec_free(&spec);
}
