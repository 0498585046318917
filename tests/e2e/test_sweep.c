/* End to end: vdsm sweep and vdsm compare on tiny pendulum runs. Expansion (grid, zip,
 * variants, seeds, names), a validation error as file:line:col, a failing point reported while
 * the others finish, resume after a killed run, compare's table, the Slurm script and --only,
 * and two MPI ranks sharing a sweep (skipped when mpirun is absent). */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/sweep/compare.h"
#include "vdsm/sweep/sweep.h"

static char tmp[256], data_dir[300], vdsm_bin[512];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-sweep-XXXXXX");
    cr_assert(mkdtemp(tmp));
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp);
    const char *bd = getenv("VDSM_BUILD_DIR");
    snprintf(vdsm_bin, sizeof vdsm_bin, "%s/vdsm", bd ? bd : "build");
}

static void teardown(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static void make_data(void)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 64;
    o.frames = 8;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(data_dir, &o, &e), NN_OK, "%s", e.msg);
}

/* A sweep file in tmp whose `set` makes each run take about a second: stage 1 only, 1-batch
 * epochs, a small mixture, one test id in the outputs. body: the rest of the file. */
static const char *write_sweep(const char *file, int epochs, const char *body)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", tmp, file);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f,
            "spec: %s\nout: %s/out-%s\nset:\n  dataset.path: %s\n  stages: [encdec]\n  stage1.epochs: %d\n"
            "  stage1.batches_per_epoch: 1\n  stage1.batch_size: 2\n  stage1.seq_len: 2\n  model.n_e_w: 2\n"
            "  output.grids_every: 0\n  output.num_test_ids: 1\n  runtime.checkpoint_every: 1\n"
            "  runtime.step_memory_mb: 64\n%s",
            tu_source_path("specs/quick.yaml"), tmp, file, data_dir, epochs, body);
    fclose(f);
    return path;
}

/* Runs a shell command in tmp; returns its exit status; its output (stdout + stderr) in out. */
static int sh(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t n, const char *fmt, ...)
{
    char cmd[3000], inner[1800], logp[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inner, sizeof inner, fmt, ap);
    va_end(ap);
    snprintf(logp, sizeof logp, "%s/sh.out", tmp);
    snprintf(cmd, sizeof cmd, "cd %s && (%s) > %s 2>&1", tmp, inner, logp);
    int st = system(cmd);
    FILE *f = fopen(logp, "r");
    size_t got = f ? fread(out, 1, n - 1, f) : 0;
    out[got] = '\0';
    if (f) fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t got = fread(buf, 1, (1 << 20) - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static char *run_file(const char *sweep, const char *point, const char *file)
{
    char p[800];
    snprintf(p, sizeof p, "%s/out-%s/%s/%s", tmp, sweep, point, file);
    return slurp(p);
}

static double final_loss(const char *sweep, const char *point)
{
    char *m = run_file(sweep, point, "metrics.jsonl");
    cr_assert(m, "no metrics for %s", point);
    double loss = NAN;
    for (char *p = strstr(m, "\"loss\":"); p; p = strstr(p + 1, "\"loss\":")) loss = atof(p + 7);
    free(m);
    return loss;
}

static bool exists(const char *p)
{
    struct stat st;
    return !stat(p, &st);
}

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 240);

Test(sweep, expansion_names_and_validation)
{
    const char *f = write_sweep("grid.yaml", 2,
                                "axes:\n  stage1.lr: [0.002, 0.001]\n  stage2.lr: [0.01]\n"
                                "  stage1.schedules.pose_kl: [{curve: constant, value: 1}, {curve: linear, from: 0, to: 1}]\n"
                                "variants:\n  plain:\n  wide: {model.z_dim: 16}\nseeds: [3, 4]\n");
    struct vdsm_sweep sw;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sweep_load(f, NULL, &sw, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(sw.n, 2 * 2 * 1 * 2 * 2);
    /* variants outermost, the last axis fastest, seeds innermost; labels the shortest unique suffix */
    cr_assert_str_eq(sw.pts[0].name, "plain,stage1.lr=0.002,stage2.lr=0.01,pose_kl=constant,seed=3");
    cr_assert_str_eq(sw.pts[1].name, "plain,stage1.lr=0.002,stage2.lr=0.01,pose_kl=constant,seed=4");
    cr_assert_str_eq(sw.pts[2].name, "plain,stage1.lr=0.002,stage2.lr=0.01,pose_kl=linear,seed=3");
    cr_assert_str_eq(sw.pts[4].group, "plain,stage1.lr=0.001,stage2.lr=0.01,pose_kl=constant");
    cr_assert_str_eq(sw.pts[8].variant, "wide");
    cr_assert_eq(sw.pts[9].seed, 4);
    cr_assert(strstr(sw.pts[8].yaml, "  z_dim: 16\n"), "the variant's override is in the resolved spec");
    cr_assert(strstr(sw.pts[5].yaml, "  seed: 4\n"));
    cr_assert(strstr(sw.pts[5].yaml, "lr: 0.001\n"));
    vdsm_sweep_free(&sw);

    f = write_sweep("zip.yaml", 2, "mode: zip\naxes:\n  stage1.lr: [0.002, 0.001]\n  stage1.batch_size: [2, 3]\n");
    cr_assert_eq(vdsm_sweep_load(f, NULL, &sw, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(sw.n, 2);
    cr_assert_str_eq(sw.pts[1].name, "lr=0.001,batch_size=3");
    vdsm_sweep_free(&sw);

    /* a value out of range: the error names the sweep file, the value's line and column */
    f = write_sweep("bad.yaml", 2, "axes:\n  stage1.lr: [0.002, -1]\n");
    cr_assert_neq(vdsm_sweep_load(f, NULL, &sw, &e), NN_OK);
    char want[500];
    snprintf(want, sizeof want, "%s:16:22: stage1.lr:", f);
    cr_assert(strstr(e.msg, want), "got: %s", e.msg);
    /* an unknown key in a variant: at the key */
    nn_err_clear(&e);
    f = write_sweep("bad2.yaml", 2, "variants:\n  a:\n    model.z_dmi: 3\n");
    cr_assert_neq(vdsm_sweep_load(f, NULL, &sw, &e), NN_OK);
    snprintf(want, sizeof want, "%s:17:5: model.z_dmi: unknown key (did you mean", f);
    cr_assert(strstr(e.msg, want), "got: %s", e.msg);
    /* an unknown axis key: at the key, not at its first value */
    nn_err_clear(&e);
    f = write_sweep("bad4.yaml", 2, "axes:\n  stage1.lrr: [0.1]\n");
    cr_assert_neq(vdsm_sweep_load(f, NULL, &sw, &e), NN_OK);
    snprintf(want, sizeof want, "%s:16:3: stage1.lrr: unknown key (did you mean", f);
    cr_assert(strstr(e.msg, want), "got: %s", e.msg);
    /* zip axes of different lengths; the CLI exits 2 and writes nothing */
    f = write_sweep("bad3.yaml", 2, "mode: zip\naxes:\n  stage1.lr: [0.002, 0.001]\n  stage1.batch_size: [2]\n");
    char out[4096];
    cr_assert_eq(sh(out, sizeof out, "%s sweep %s", vdsm_bin, f), 2, "%s", out);
    snprintf(want, sizeof want, "%s:18:22: axes.stage1.batch_size: zip mode needs axes of one length", f);
    cr_assert(strstr(out, want), "got: %s", out);
    struct stat st;
    snprintf(want, sizeof want, "%s/out-bad3.yaml", tmp);
    cr_assert_neq(stat(want, &st), 0, "an invalid sweep made its directory");
}

Test(sweep, runs_failure_and_compare)
{
    make_data();
    const char *f = write_sweep("s.yaml", 2, "variants:\n  good: {}\n  broken: {dataset.path: nowhere}\nseeds: [1, 2]\n");
    char out[16384];
    int rc = sh(out, sizeof out, "%s sweep %s --jobs 2", vdsm_bin, f);
    cr_assert_eq(rc, 1, "a failed point makes the exit status 1: %s", out);
    cr_assert(strstr(out, "broken,seed=1: FAILED: exit 1: vdsm train:"), "%s", out);
    cr_assert(strstr(out, "nowhere/meta.yaml"), "the run's own message is reported: %s", out);
    cr_assert(strstr(out, "good,seed=2: done"), "%s", out);
    cr_assert(strstr(out, "2 of 4 runs failed"), "%s", out);
    char *s = run_file("s.yaml", "good,seed=1", "sweep.status");
    cr_assert(s && !strncmp(s, "done ", 5), "%s", s ? s : "(none)");
    free(s);
    s = run_file("s.yaml", "broken,seed=2", "sweep.status");
    cr_assert(s && !strncmp(s, "failed exit 1", 13), "%s", s ? s : "(none)");
    free(s);
    cr_assert((s = run_file("s.yaml", "good,seed=1", "report.html")), "the run's report");
    free(s);
    s = run_file("s.yaml", "good,seed=1", "spec.yaml.prev");
    cr_assert(!s, "training rewrote the sweep's spec.yaml (the resolved spec does not read back the same)");
    /* again: the finished points are skipped, the failed ones tried again */
    rc = sh(out, sizeof out, "%s sweep %s", vdsm_bin, f);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "4 points here, 2 finished before"), "%s", out);
    cr_assert(strstr(out, "broken,seed=1: failed before"), "%s", out);
    cr_assert(!strstr(out, "good,seed=1: started"), "%s", out);

    /* compare: a row per point, mean and std over the two seeds */
    rc = sh(out, sizeof out, "%s compare %s/out-s.yaml", vdsm_bin, tmp);
    cr_assert_eq(rc, 0, "%s", out);
    double l1 = final_loss("s.yaml", "good,seed=1"), l2 = final_loss("s.yaml", "good,seed=2");
    double mean = (l1 + l2) / 2, sd = fabs(l1 - l2) / sqrt(2);
    char *csv = slurp(strcat(strcpy((char[400]){0}, tmp), "/out-s.yaml/compare/compare.csv"));
    cr_assert(csv);
    cr_assert(!strncmp(csv, "point,runs,s1 loss mean,s1 loss std,", 36), "%s", csv);
    char *row = strstr(csv, "\ngood,2,");
    cr_assert(row, "%s", csv);
    double m = strtod(row + 8, &row), d = strtod(row + 1, NULL);
    cr_assert(fabs(m - mean) <= 1e-6 * fabs(mean), "mean %g, want %g", m, mean);
    cr_assert(fabs(d - sd) <= 1e-4 * fabs(sd) + 1e-9, "std %g, want %g", d, sd);
    cr_assert(strstr(csv, "\nbroken,2,,,"), "the failed point has empty cells: %s", csv);
    cr_assert(strstr(csv, "s1 z mean") && strstr(csv, "s1 obs mean") && strstr(csv, "s1 ID mean"), "site columns: %s", csv);
    free(csv);
    cr_assert(strstr(out, "| point | runs | s1 loss |"), "%s", out);
    cr_assert(strstr(out, "| good | 2 | "), "%s", out);
    cr_assert(strstr(out, " ± "), "%s", out);
    char *html = slurp(strcat(strcpy((char[400]){0}, tmp), "/out-s.yaml/compare/compare.html"));
    cr_assert(html && strstr(html, "href=\"../good,seed=1/report.html\""), "%s", html ? html : "(none)");
    cr_assert(strstr(html, "curves/s1_loss.svg"));
    free(html);
    struct stat st;
    char p[500];
    snprintf(p, sizeof p, "%s/out-s.yaml/compare/curves/s1_pose_kl.png", tmp);
    cr_assert_eq(stat(p, &st), 0, "no %s", p);
    snprintf(p, sizeof p, "%s/out-s.yaml/compare/curves/s1_site_z.svg", tmp);
    cr_assert_eq(stat(p, &st), 0, "no %s", p);

    /* runs given by directory: grouped by their specs, whatever their names */
    rc = sh(out, sizeof out, "%s compare out-s.yaml/good,seed=1 out-s.yaml/good,seed=2 --out cmp", vdsm_bin);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "| good | 2 | "), "%s", out);
}

/* Starts `vdsm sweep f` in the background (output to tmp/k.out). */
static pid_t start_sweep(const char *f)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char logp[400];
        snprintf(logp, sizeof logp, "%s/k.out", tmp);
        if (!freopen(logp, "a", stdout) || !freopen(logp, "a", stderr)) _exit(126);
        execl(vdsm_bin, "vdsm", "sweep", f, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits until the run has written checkpoint `ck` while a launcher trains it; returns the pid
 * of its training process (from sweep.status). */
static pid_t wait_training(const char *ck, const char *status)
{
    for (int i = 0; i < 6000; i++) {
        if (exists(ck)) {
            char *s = slurp(status);
            pid_t pid = s && !strncmp(s, "running ", 8) ? (pid_t)atol(strrchr(s, ' ') + 1) : 0;
            free(s);
            if (pid) return pid;
        }
        usleep(10000);
    }
    cr_assert_fail("the run never reached %s", ck);
    return 0;
}

static bool gone(pid_t pid)
{
    char p[64], st[512];
    snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(p, "r");
    if (!f) return true;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *paren = strrchr(st, ')');
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

Test(sweep, resume_after_kill)
{
    make_data();
    const char *f = write_sweep("k.yaml", 7, "");
    char out[16384], ck[600], status[600];
    snprintf(status, sizeof status, "%s/out-k.yaml/base/sweep.status", tmp);
    /* 1: the run's training process is killed: the sweep reports it and exits 1 */
    snprintf(ck, sizeof ck, "%s/out-k.yaml/base/checkpoints/ckpt-s1-e000002.safetensors", tmp);
    pid_t sweep = start_sweep(f), train = wait_training(ck, status);
    cr_assert_eq(kill(train, SIGKILL), 0);
    int st;
    cr_assert_eq(waitpid(sweep, &st, 0), sweep);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "the sweep reports the killed run");
    char *s = slurp(status);
    cr_assert(s && strstr(s, "failed killed by signal 9"), "%s", s ? s : "(none)");
    free(s);
    /* 2: the launcher dies (a dead MPI rank): its training process goes with it */
    snprintf(ck, sizeof ck, "%s/out-k.yaml/base/checkpoints/ckpt-s1-e000004.safetensors", tmp);
    sweep = start_sweep(f);
    train = wait_training(ck, status);
    cr_assert_eq(kill(sweep, SIGKILL), 0);
    cr_assert_eq(waitpid(sweep, &st, 0), sweep);
    for (int i = 0; i < 500 && !gone(train); i++) usleep(10000);
    cr_assert(gone(train), "the run's training outlived its launcher");
    cr_assert_eq(sh(out, sizeof out, "%s sweep %s --list", vdsm_bin, f), 0);
    cr_assert(strstr(out, "   0  pending  base  ") && strstr(out, "# interrupted (host pid: "), "%s", out);
    /* 3: the next invocation resumes and finishes it */
    int rc = sh(out, sizeof out, "%s sweep %s", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    char *log = run_file("k.yaml", "base", "train.log");
    int resumes = 0;
    for (char *p = log; p && (p = strstr(p, "stage 1: resuming from")); p++) resumes++;
    cr_assert_eq(resumes, 2, "%s", log);
    cr_assert(!strstr(log, "different spec"), "%s", log);
    free(log);
    char *m = run_file("k.yaml", "base", "metrics.jsonl");
    int lines = 0;
    for (char *p = m; p && (p = strchr(p, '\n')); p++) lines++;
    cr_assert_eq(lines, 7, "one metrics line per epoch after the resumes: %s", m);
    cr_assert(strstr(m, "\"epoch\":6,"));
    free(m);
    s = slurp(status);
    cr_assert(s && !strncmp(s, "done ", 5));
    free(s);
    rc = sh(out, sizeof out, "%s sweep %s", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "1 points here, 1 finished before"), "%s", out);
}

Test(sweep, slurm_script_and_only)
{
    make_data();
    const char *f = write_sweep("a.yaml", 1, "seeds: [1, 2, 3]\n");
    char out[8192], p[500];
    int rc = sh(out, sizeof out, "%s sweep %s --emit slurm --cpus 2 --time 1:00:00 --sbatch --partition=x", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(p, sizeof p, "%s/out-a.yaml/sweep.slurm", tmp);
    char *s = slurp(p);
    cr_assert(s);
    cr_assert(strstr(s, "#SBATCH --array=0-2\n"), "%s", s);
    cr_assert(strstr(s, "#SBATCH --cpus-per-task=2\n#SBATCH --output="), "%s", s);
    cr_assert(strstr(s, "#SBATCH --time=1:00:00\n#SBATCH --partition=x\n"), "%s", s);
    cr_assert(strstr(s, " --only \"$SLURM_ARRAY_TASK_ID\""), "%s", s);
    free(s);
    /* what array task 1 runs: point 1 only, in the same run directory */
    rc = sh(out, sizeof out, "%s sweep %s --only 1", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    rc = sh(out, sizeof out, "%s sweep %s --list", vdsm_bin, f);
    cr_assert(strstr(out, "   0  pending  base,seed=1"), "%s", out);
    cr_assert(strstr(out, "   1  done     base,seed=2"), "%s", out);
    cr_assert(strstr(out, "   2  pending  base,seed=3"), "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s sweep %s --only 3", vdsm_bin, f), 1, "%s", out);
}

Test(sweep, mpi_two_ranks)
{
    char out[16384];
    if (sh(out, sizeof out, "command -v mpirun") != 0) {
        cr_skip_test("mpirun not found (install openmpi-bin); the MPI path is not tested");
        return;
    }
    make_data();
    const char *f = write_sweep("mpi.yaml", 1, "seeds: [1, 2, 3]\n");
    int rc = sh(out, sizeof out, "mpirun --oversubscribe --allow-run-as-root -np 2 %s sweep %s", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    /* rank r takes the points with index % 2 == r */
    cr_assert(strstr(out, "rank 0/2: mpi: 2 points here"), "%s", out);
    cr_assert(strstr(out, "rank 1/2: mpi: 1 points here"), "%s", out);
    cr_assert(strstr(out, "rank 0/2: base,seed=1: done"), "%s", out);
    cr_assert(strstr(out, "rank 1/2: base,seed=2: done"), "%s", out);
    cr_assert(strstr(out, "rank 0/2: base,seed=3: done"), "%s", out);
    rc = sh(out, sizeof out, "%s sweep %s --list", vdsm_bin, f);
    cr_assert(strstr(out, "   0  done") && strstr(out, "   1  done") && strstr(out, "   2  done"), "%s", out);
    /* a later invocation under MPI finds nothing left */
    rc = sh(out, sizeof out, "mpirun --oversubscribe --allow-run-as-root -np 2 %s sweep %s", vdsm_bin, f);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "rank 0/2: mpi: 2 points here, 2 finished before"), "%s", out);
}
