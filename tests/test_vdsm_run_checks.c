/* What is checked before a run directory is touched: an empty spec or stage list, a spec that
 * does not fit its data; the run directory's lock; and how many threads runtime.threads 0 means. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/dataset.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/spec/spec.h"
#include "vdsm/run/lock.h"
#include "vdsm/run/setup.h"
#include "vdsm/train/train.h"

static char tmp[64];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-runchk-XXXXXX");
    cr_assert(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(run_checks, .init = setup, .fini = teardown, .timeout = 60);

Test(run_checks, an_empty_spec_file_is_an_error)
{
    char p[128];
    snprintf(p, sizeof p, "%s/empty.yaml", tmp);
    FILE *f = fopen(p, "w");
    fputs("# nothing\n", f);
    fclose(f);
    struct vdsm_spec spec;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(p, NULL, 0, &spec, &e), NN_PARSE);
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "empty"), "%s", e.msg);
}

Test(run_checks, an_empty_stage_list_is_an_error)
{
    const char *sets[] = {"stages=[]"};
    struct vdsm_spec spec;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, 1, &spec, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "stages") && strstr(e.msg, "empty"), "%s", e.msg);
}

static void make_data(char *dir, size_t n)
{
    snprintf(dir, n, "%s/data", tmp);
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 8;
    o.frames = 6;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(dir, &o, &e), NN_OK, "%s", e.msg);
}

static nn_status train_with(const char *data, const char *extra, char *run, size_t nrun, struct nn_err *e)
{
    char ps[300];
    snprintf(ps, sizeof ps, "dataset.path=%s", data);
    snprintf(run, nrun, "%s/run", tmp);
    const char *sets[] = {ps, extra};
    struct vdsm_spec spec;
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, 2, &spec, e), NN_OK, "%s", e->msg);
    struct vdsm_train_opts o = {.run_dir = run, .quiet = true, .log = stderr};
    nn_status st = vdsm_train(&spec, &o, e);
    vdsm_spec_free(&spec);
    return st;
}

Test(run_checks, a_spec_that_does_not_fit_the_data_writes_nothing)
{
    char data[128], run[128];
    make_data(data, sizeof data);
    const char *bad[] = {"stage1.seq_len=7", "stage2.seq_len=9", "dataset.channels=1"};
    const char *key[] = {"stage1.seq_len: 7 frames, longer than the clips", "stage2.seq_len: 9 frames",
                         "dataset.channels: 1, but the frames"};
    for (int i = 0; i < 3; i++) {
        struct nn_err e = {0};
        cr_assert_neq(train_with(data, bad[i], run, sizeof run, &e), NN_OK, "%s accepted", bad[i]);
        cr_assert(strstr(e.msg, key[i]) && strstr(e.msg, data), "%s", e.msg);
        struct stat sb;
        cr_assert_neq(stat(run, &sb), 0, "%s: the run directory was made", bad[i]);
    }
}

Test(run_checks, the_lock_names_its_holder_and_a_stale_one_does_not_block)
{
    char run[128], lockp[160];
    snprintf(run, sizeof run, "%s/r", tmp);
    snprintf(lockp, sizeof lockp, "%s/.lock", run);
    struct vdsm_run_lock a, b;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_run_lock(run, false, "x", &a, &e), NN_IO);
    cr_assert(strstr(e.msg, "no such run"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_eq(vdsm_run_lock(run, true, "vdsm train", &a, &e), NN_OK, "%s", e.msg);
    /* a second open file description in this process conflicts as another process would */
    cr_assert_eq(vdsm_run_lock(run, false, "vdsm generate", &b, &e), NN_IO);
    char want[64];
    snprintf(want, sizeof want, "in use by process %ld (vdsm train)", (long)getpid());
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    vdsm_run_unlock(&a);
    /* a lock file naming a process long gone, with no flock held: not in the way */
    FILE *f = fopen(lockp, "w");
    fputs("999999 vdsm train\n", f);
    fclose(f);
    nn_err_clear(&e);
    cr_assert_eq(vdsm_run_lock(run, false, "vdsm eval", &b, &e), NN_OK, "%s", e.msg);
    vdsm_run_unlock(&b);
}

Test(run_checks, a_malformed_set_value_names_the_argument_and_the_problem)
{
    const char *sets[] = {"stage1.epochs=[1"};
    struct vdsm_spec spec;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, 1, &spec, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "--set stage1.epochs=[1: the value '[1' is not valid YAML ("), "%s", e.msg);
}

Test(run_checks, runtime_threads_0_follows_omp_num_threads_else_every_core)
{
    const char *saved = getenv("OMP_NUM_THREADS");
    char keep[32] = "";
    if (saved) snprintf(keep, sizeof keep, "%s", saved);
    int cores = vdsm_cpu_count();
    cr_assert(cores >= 1 && cores <= (int)sysconf(_SC_NPROCESSORS_ONLN));
    setenv("OMP_NUM_THREADS", "1", 1);
    cr_assert_eq(vdsm_set_threads(0), 1, "0 with OMP_NUM_THREADS=1 runs one thread");
    cr_assert_eq(vdsm_set_threads(3), 3, "a spec's count wins over the environment");
    setenv("OMP_NUM_THREADS", "two", 1);
    cr_assert_eq(vdsm_set_threads(0), cores, "an unreadable OMP_NUM_THREADS means every core");
    setenv("OMP_NUM_THREADS", "0", 1);
    cr_assert_eq(vdsm_set_threads(0), cores);
    unsetenv("OMP_NUM_THREADS");
    cr_assert_eq(vdsm_set_threads(0), cores);
    if (saved) setenv("OMP_NUM_THREADS", keep, 1);
}
