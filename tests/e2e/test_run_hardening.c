/* End to end: a run directory cannot be misled or shared. Damaged, truncated and poisoned
 * checkpoints are skipped for older good ones (at start, on a NaN rollback, by generate); the
 * run directory is locked; an incompatible spec changes nothing and names the keys; a signal
 * stops training with a checkpoint that resumes exactly, a second signal at once. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/spec/spec.h"
#include "vdsm/run/checkpoint.h"
#include "vdsm/train/train.h"

extern char **environ;

static char tmp[256], data_dir[300];

static void make_data(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-harden-XXXXXX");
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

/* stage 1 only, 2 experts (small checkpoints), a checkpoint every epoch */
static const char *small_sets[] = {"stages=[encdec]", "stage1.epochs=3", "stage1.batches_per_epoch=2",
                                   "stage1.batch_size=2", "stage1.seq_len=3", "runtime.checkpoint_every=1",
                                   "runtime.keep_last=3", "runtime.threads=1", "model.n_e_w=2",
                                   "output.grids_every=0",
                                   "stage1.schedules.pose_kl={curve: constant, value: 1}"};
#define NSMALL ((int)(sizeof small_sets / sizeof small_sets[0]))

static void load_spec(struct vdsm_spec *spec, const char *const *extra, int nextra)
{
    const char *sets[40];
    char path_set[400];
    snprintf(path_set, sizeof path_set, "dataset.path=%s", data_dir);
    int n = 0;
    sets[n++] = path_set;
    for (int i = 0; i < NSMALL; i++) sets[n++] = small_sets[i];
    for (int i = 0; i < nextra; i++) sets[n++] = extra[i];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, n, spec, &e), NN_OK, "%s", e.msg);
}

static nn_status train(const struct vdsm_spec *spec, const char *run, struct nn_err *e)
{
    struct vdsm_train_opts o = {.run_dir = run, .quiet = true, .log = stderr};
    return vdsm_train(spec, &o, e);
}

static void train_ok(const struct vdsm_spec *spec, const char *run)
{
    struct nn_err e = {0};
    cr_assert_eq(train(spec, run, &e), NN_OK, "%s", e.msg);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t got = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[got] = 0;
    return buf;
}

static char *file_in(const char *run, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", run, name);
    char *s = slurp(p);
    cr_assert(s, "no %s", p);
    return s;
}

static void ckpt_path(char *out, size_t n, const char *run, int epoch)
{
    snprintf(out, n, "%s/checkpoints/ckpt-s1-e%06d.safetensors", run, epoch);
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* the values of "loss" in metrics.jsonl, one per line, as written */
static char *losses(const char *run)
{
    char *text = file_in(run, "metrics.jsonl"), *out = calloc(1, 1 << 16);
    for (char *p = strstr(text, "\"loss\":"); p; p = strstr(p + 1, "\"loss\":")) {
        p += 7;
        strncat(out, p, strcspn(p, ","));
        strcat(out, "\n");
    }
    free(text);
    return out;
}

Test(e2e_harden, truncated_newest_checkpoint_is_skipped_with_a_message, .init = make_data, .fini = cleanup,
     .timeout = 300)
{
    struct vdsm_spec spec;
    load_spec(&spec, NULL, 0);
    char run[400], c3[600];
    snprintf(run, sizeof run, "%s/t", tmp);
    train_ok(&spec, run);
    ckpt_path(c3, sizeof c3, run, 3);
    struct stat sb;
    cr_assert_eq(stat(c3, &sb), 0);
    cr_assert_eq(truncate(c3, sb.st_size / 2), 0);
    /* generate's opening of the run skips it, and says so */
    struct vdsm_run r;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_run_open(run, NN_DEV_CPU, &r, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(r.ckpt.epoch, 2, "opened %s", r.ckpt.path);
    cr_assert(strstr(r.notes, "skipped") && strstr(r.notes, "ckpt-s1-e000003") && strstr(r.notes, "data_offsets"),
              "%s", r.notes);
    vdsm_run_close(&r);
    /* training one more epoch resumes from epoch 2 */
    vdsm_spec_free(&spec);
    const char *more[] = {"stage1.epochs=4"};
    load_spec(&spec, more, 1);
    train_ok(&spec, run);
    char *log = file_in(run, "train.log");
    cr_assert(strstr(log, "skipped ") && strstr(log, "ckpt-s1-e000002.safetensors (epoch 2"), "%s", log);
    free(log);
    vdsm_spec_free(&spec);
}

/* A copy of a run that kept only its stage-2 checkpoints (they hold every network) resumes
 * stage 2; stage 1 is not trained again. */
Test(e2e_harden, stage_two_checkpoints_alone_resume_stage_two, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *both[] = {"stages=[encdec, seq]", "stage1.epochs=1", "stage2.epochs=1", "stage2.batches_per_epoch=2",
                          "stage2.batch_size=2", "stage2.seq_len=3", "stage2.schedules.pose_kl={curve: constant, value: 1}"};
    load_spec(&spec, both, 7);
    char run[400], p[1000];
    snprintf(run, sizeof run, "%s/s2", tmp);
    train_ok(&spec, run);
    snprintf(p, sizeof p, "rm %s/checkpoints/ckpt-s1-*.safetensors", run);
    cr_assert_eq(system(p), 0);
    vdsm_spec_free(&spec);
    const char *longer[] = {"stages=[encdec, seq]", "stage1.epochs=1", "stage2.epochs=2", "stage2.batches_per_epoch=2",
                            "stage2.batch_size=2", "stage2.seq_len=3", "stage2.schedules.pose_kl={curve: constant, value: 1}"};
    load_spec(&spec, longer, 7);
    train_ok(&spec, run);
    char *log = file_in(run, "train.log");
    cr_assert(strstr(log, "stage 1: already trained (stage 2 began: ") &&
              strstr(log, "stage 2: resuming from") && strstr(log, "ckpt-s2-e000001.safetensors (epoch 1"), "%s", log);
    const char *again = strstr(log, "stage 1: already trained");
    cr_assert(!strstr(again, "stage 1 (encdec)"), "stage 1 trained again:\n%s", log);
    snprintf(p, sizeof p, "%s/checkpoints/ckpt-s2-e000002.safetensors", run);
    cr_assert(exists(p), "no %s", p);
    snprintf(p, sizeof p, "%s/checkpoints/ckpt-s1-e000001.safetensors", run);
    cr_assert(!exists(p), "stage 1 trained again: %s", p);
    free(log);
    vdsm_spec_free(&spec);
}

Test(e2e_harden, renamed_tensor_and_flipped_byte_are_refused, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    load_spec(&spec, NULL, 0);
    char run[400], c3[600], c2[600];
    snprintf(run, sizeof run, "%s/f", tmp);
    train_ok(&spec, run);
    ckpt_path(c3, sizeof c3, run, 3);
    ckpt_path(c2, sizeof c2, run, 2);
    /* one byte of a tensor name in e3's header; one data byte in e2 */
    FILE *f = fopen(c3, "r+b");
    char *head = calloc(1, 1 << 16);
    cr_assert(fread(head, 1, (1 << 16) - 1, f) > 0);
    char *q = strstr(head + 8, "\":{\"dtype\"");
    cr_assert(q, "no tensor entry in the header");
    fseek(f, (long)(q - head) - 1, SEEK_SET);   /* the name's last character */
    fputc('X', f);
    fclose(f);
    free(head);
    struct stat sb;
    cr_assert_eq(stat(c2, &sb), 0);
    f = fopen(c2, "r+b");
    fseek(f, sb.st_size - 12345, SEEK_SET);
    int c = fgetc(f);
    fseek(f, sb.st_size - 12345, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    struct vdsm_run r;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_run_open(run, NN_DEV_CPU, &r, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(r.ckpt.epoch, 1, "opened %s", r.ckpt.path);
    cr_assert(strstr(r.notes, "ckpt-s1-e000003") && strstr(r.notes, "ckpt-s1-e000002") &&
              strstr(r.notes, "checksum mismatch"), "%s", r.notes);
    vdsm_run_close(&r);
    /* loading e3 directly says which file and what */
    struct ppl_param_store *st = ppl_store_new();
    struct vdsm_net net;
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    cr_assert_eq(vdsm_net_init(&net, &spec, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_net_register(&net, st, &e), NN_OK, "%s", e.msg);
    struct vdsm_ckpt_info info;
    cr_assert_neq(vdsm_ckpt_load(c3, st, &info, &e), NN_OK);
    cr_assert(strstr(e.msg, c3), "%s", e.msg);
    ppl_store_free(st);
    vdsm_net_free(&net);
    vdsm_spec_free(&spec);
}

/* A NaN written (with a valid checksum) into a newer checkpoint: the start of a run and the
 * NaN rollback both pass over it to the newest good one. */
Test(e2e_harden, poisoned_checkpoint_is_skipped_by_resume_and_rollback, .init = make_data, .fini = cleanup,
     .timeout = 300)
{
    struct vdsm_spec spec;
    load_spec(&spec, NULL, 0);
    char run[400], c3[600];
    snprintf(run, sizeof run, "%s/n", tmp);
    train_ok(&spec, run);
    ckpt_path(c3, sizeof c3, run, 3);
    /* e3's contents, one value NaN, saved as a newer checkpoint (epoch 99) */
    struct ppl_param_store *st = ppl_store_new();
    struct nn_err e = {0};
    cr_assert_eq(ppl_store_load(st, c3, &e), NN_OK, "%s", e.msg);
    struct vdsm_ckpt_info info;
    cr_assert_eq(vdsm_ckpt_read_info(c3, &info, &e), NN_OK, "%s", e.msg);
    struct ppl_param_entry *p = st->e[0];
    float *v = calloc((size_t)nn_numel(p->u), sizeof *v);
    cr_assert_eq(nn_tensor_to_host(p->u, v, &e), NN_OK);
    v[0] = NAN;
    cr_assert_eq(nn_tensor_from_host(p->u, v, &e), NN_OK);
    free(v);
    info.epoch = 99;
    cr_assert_eq(vdsm_ckpt_save(run, st, &info, 10, &e), NN_OK, "%s", e.msg);
    ppl_store_free(st);
    /* epoch 99 >= epochs: without the check the stage would count as done from the poison */
    vdsm_spec_free(&spec);
    const char *more[] = {"stage1.epochs=5"};
    load_spec(&spec, more, 1);
    setenv("VDSM_INJECT_NAN_STEP", "8", 1); /* the last step of epoch 4 */
    nn_status rc = train(&spec, run, &e);
    unsetenv("VDSM_INJECT_NAN_STEP");
    cr_assert_eq(rc, NN_OK, "%s", e.msg);
    char *log = file_in(run, "train.log");
    cr_assert(strstr(log, "ckpt-s1-e000099.safetensors: tensor '") && strstr(log, "non-finite"), "%s", log);
    cr_assert(strstr(log, "resuming from") && strstr(log, "ckpt-s1-e000003.safetensors (epoch 3"), "%s", log);
    cr_assert(strstr(log, "loss is NaN; rolled back to") && strstr(log, "ckpt-s1-e000003.safetensors (epoch 3)"),
              "the rollback did not move past the poisoned checkpoint:\n%s", log);
    free(log);
    vdsm_spec_free(&spec);
}

static void hold_lock(const char *run, int *fd)
{
    char p[600];
    snprintf(p, sizeof p, "%s/.lock", run);
    mkdir(run, 0755);
    *fd = open(p, O_RDWR | O_CREAT, 0644);
    cr_assert(*fd >= 0);
    cr_assert_eq(flock(*fd, LOCK_EX | LOCK_NB), 0);
    dprintf(*fd, "%ld vdsm train\n", (long)getpid());
}

Test(e2e_harden, a_locked_run_is_refused_and_a_stale_lock_is_not, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *one[] = {"stage1.epochs=1"};
    load_spec(&spec, one, 1);
    char run[400], spec_yaml[600], pid[32];
    snprintf(run, sizeof run, "%s/l", tmp);
    snprintf(spec_yaml, sizeof spec_yaml, "%s/spec.yaml", run);
    int fd;
    hold_lock(run, &fd);
    struct nn_err e = {0};
    cr_assert_neq(train(&spec, run, &e), NN_OK);
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    cr_assert(strstr(e.msg, "in use by") && strstr(e.msg, pid), "%s", e.msg);
    cr_assert(!exists(spec_yaml), "a refused run wrote its spec");
    /* the CLI's generate is refused too, at once */
    const char *bd = getenv("VDSM_BUILD_DIR");
    cr_assert(bd, "VDSM_BUILD_DIR unset (run through ctest)");
    char exe[400], errp[600];
    snprintf(exe, sizeof exe, "%s/vdsm", bd);
    snprintf(errp, sizeof errp, "%s/gen.err", tmp);
    char *argv[] = {exe, "generate", run, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t child;
    cr_assert_eq(posix_spawn(&child, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    char *msg = slurp(errp);
    cr_assert(msg && strstr(msg, pid), "%s", msg ? msg : "(no stderr)");
    free(msg);
    /* released (as when its holder dies): the file left behind does not block */
    close(fd);
    train_ok(&spec, run);
    cr_assert(exists(spec_yaml));
    vdsm_spec_free(&spec);
}

Test(e2e_harden, incompatible_spec_changes_nothing_and_names_the_key, .init = make_data, .fini = cleanup,
     .timeout = 300)
{
    struct vdsm_spec spec;
    const char *one[] = {"stage1.epochs=1"};
    load_spec(&spec, one, 1);
    char run[400], prev[600];
    snprintf(run, sizeof run, "%s/i", tmp);
    snprintf(prev, sizeof prev, "%s/spec.yaml.prev", run);
    train_ok(&spec, run);
    vdsm_spec_free(&spec);
    char *before = file_in(run, "spec.yaml"), *metrics = file_in(run, "metrics.jsonl");
    const char *z16[] = {"stage1.epochs=1", "model.z_dim=16"};
    load_spec(&spec, z16, 2);
    struct nn_err e = {0};
    cr_assert_neq(train(&spec, run, &e), NN_OK);
    cr_assert(strstr(e.msg, "model.z_dim (8 -> 16)") && strstr(e.msg, "ckpt-s1-e000001"), "%s", e.msg);
    char *after = file_in(run, "spec.yaml"), *metrics2 = file_in(run, "metrics.jsonl");
    cr_assert_str_eq(after, before, "spec.yaml changed");
    cr_assert_str_eq(metrics2, metrics);
    cr_assert(!exists(prev), "spec.yaml was rotated");
    vdsm_spec_free(&spec);
    /* many changed keys: the list is cut with "..." and the checkpoint's reason still ends the message */
    const char *many[] = {"stage1.epochs=1", "model.z_dim=16", "model.n_e_w=5", "model.dynamics_dim=7",
                          "model.lstm_hidden=24", "stage1.lr=0.0123", "stage1.batch_size=3", "stage1.seq_len=5",
                          "stage2.lr=0.0456", "stage2.batch_size=3", "stage2.seq_len=5", "runtime.seed=9"};
    load_spec(&spec, many, sizeof many / sizeof *many);
    memset(&e, 0, sizeof e);
    cr_assert_neq(train(&spec, run, &e), NN_OK);
    cr_assert(strstr(e.msg, "model.z_dim (8 -> 16)") && strstr(e.msg, ", ...; "), "%s", e.msg);
    cr_assert(strstr(e.msg, "move them away to start over"), "the reason was cut: %s", e.msg);
    free(before);
    free(after);
    free(metrics);
    free(metrics2);
    vdsm_spec_free(&spec);
}

static pid_t spawn_train(const char *run, const char *const *extra, int nextra, const char *err_path)
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
    argv[n++] = exe, argv[n++] = "train", argv[n++] = spec, argv[n++] = "--quiet";
    argv[n++] = "--run-dir", argv[n++] = rd, argv[n++] = "--set", argv[n++] = ps;
    for (int i = 0; i < NSMALL; i++) argv[n++] = "--set", argv[n++] = (char *)small_sets[i];
    for (int i = 0; i < nextra; i++) argv[n++] = "--set", argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_path) posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* waits until RUN/metrics.jsonl has a line (training is under way) */
static void wait_for_metrics(const char *run, pid_t pid)
{
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    for (int i = 0; i < 6000; i++) {
        struct stat sb;
        if (stat(p, &sb) == 0 && sb.st_size > 0) return;
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "train ended early (status %d)", status);
        usleep(10000);
    }
    cr_assert_fail("no metrics after 60 s");
}

static const char *long_epochs[] = {"stage1.batches_per_epoch=6"};

Test(e2e_harden, sigterm_stops_with_a_checkpoint_that_resumes_exactly, .init = make_data, .fini = cleanup,
     .timeout = 400)
{
    struct vdsm_spec spec;
    load_spec(&spec, long_epochs, 1);
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    train_ok(&spec, a);
    pid_t pid = spawn_train(b, long_epochs, 1, NULL);
    wait_for_metrics(b, pid);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM, "status %d", status);
    char *log = file_in(b, "train.log");
    cr_assert(strstr(log, "stopped by a signal") && strstr(log, "checkpoint "), "%s", log);
    cr_assert(!strstr(log, "done:"), "%s", log);
    free(log);
    train_ok(&spec, b);
    char *la = losses(a), *lb = losses(b);
    cr_assert_str_eq(lb, la, "losses after a stop and resume differ:\n%s\nuninterrupted:\n%s", lb, la);
    free(la);
    free(lb);
    vdsm_spec_free(&spec);
}

Test(e2e_harden, a_second_signal_stops_at_once, .init = make_data, .fini = cleanup, .timeout = 300)
{
    char run[400], errp[600];
    snprintf(run, sizeof run, "%s/s", tmp);
    snprintf(errp, sizeof errp, "%s/train.err", tmp);
    pid_t pid = spawn_train(run, long_epochs, 1, errp);
    wait_for_metrics(run, pid);
    cr_assert_eq(kill(pid, SIGINT), 0);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    /* both may be pending at once, and either handler may run first */
    cr_assert(WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT),
              "status %d: not ended by the second signal", status);
    char *msg = slurp(errp);   /* the first one was caught (the default action prints nothing) */
    cr_assert(msg && strstr(msg, "stopping after the current step"), "%s", msg ? msg : "(no stderr)");
    free(msg);
}

static void touch(const char *run, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", run, name);
    FILE *f = fopen(p, "w");
    cr_assert(f, "%s", p);
    fputs("partial", f);
    fclose(f);
}

/* killed while the end-of-run images were made: the next run makes them, and removes the
 * temporary files of the interrupted writes */
Test(e2e_harden, missing_outputs_of_a_finished_run_are_made, .init = make_data, .fini = cleanup, .timeout = 300)
{
    struct vdsm_spec spec;
    const char *one[] = {"stage1.epochs=1"};
    load_spec(&spec, one, 1);
    char run[400], p[1000];
    snprintf(run, sizeof run, "%s/o", tmp);
    train_ok(&spec, run);
    snprintf(p, sizeof p, "rm -rf %s/images %s/report.html", run, run);
    cr_assert_eq(system(p), 0);
    snprintf(p, sizeof p, "%s/images", run);
    cr_assert_eq(mkdir(p, 0755), 0);
    touch(run, "images/.recon.png.tmp");
    touch(run, "report.html.tmp");
    touch(run, "checkpoints/ckpt-s1-e000002.safetensors.tmp");
    /* a reader without the lock (vdsm report) may see another writer's file in progress */
    struct vdsm_ckpt_info info;
    bool found;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_ckpt_find_latest(run, 0, &info, &found, &e), NN_OK, "%s", e.msg);
    snprintf(p, sizeof p, "%s/checkpoints/ckpt-s1-e000002.safetensors.tmp", run);
    cr_assert(exists(p), "a reader removed %s", p);
    train_ok(&spec, run);
    char *log = file_in(run, "train.log");
    cr_assert(strstr(log, "making them"), "%s", log);
    free(log);
    const char *made[] = {"report.html", "images/generate.json", "images/recon.png"};
    const char *gone[] = {"images/.recon.png.tmp", "report.html.tmp", "checkpoints/ckpt-s1-e000002.safetensors.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", run, made[i]);
        cr_assert(exists(p), "%s not made", p);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", run, gone[i]);
        cr_assert(!exists(p), "%s left", p);
    }
    /* complete outputs are left alone */
    train_ok(&spec, run);
    log = file_in(run, "train.log");
    char *first = strstr(log, "making them");
    cr_assert(first && !strstr(first + 1, "making them"), "made again:\n%s", log);
    free(log);
    vdsm_spec_free(&spec);
}

/* vdsm data stopped by a signal leaves no half-written frames.npy.tmp */
Test(e2e_harden, a_stopped_data_command_removes_its_temporary_files, .init = make_data, .fini = cleanup, .timeout = 120)
{
    const char *bd = getenv("VDSM_BUILD_DIR");
    cr_assert(bd, "VDSM_BUILD_DIR unset (run through ctest)");
    char exe[400], out[400], frames_tmp[500];
    snprintf(exe, sizeof exe, "%s/vdsm", bd);
    snprintf(out, sizeof out, "%s/big", tmp);
    snprintf(frames_tmp, sizeof frames_tmp, "%s/frames.npy.tmp", out);
    char *argv[] = {exe, "data", "pendulum", "--sequences", "2000", "--frames", "20", "--out", out, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    for (int i = 0; i < 3000 && !exists(frames_tmp); i++) {
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "vdsm data ended early");
        usleep(10000);
    }
    cr_assert(exists(frames_tmp), "no %s", frames_tmp);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    cr_assert(!exists(frames_tmp), "%s left behind", frames_tmp);
}

/* the error a run ends with is in its train.log too; vdsm report names a missing run */
Test(e2e_harden, messages_reach_the_log_and_name_a_missing_run, .init = make_data, .fini = cleanup, .timeout = 120)
{
    struct vdsm_spec spec;
    const char *sets[] = {"stage1.epochs=1", "runtime.nan_retries=0"};
    load_spec(&spec, sets, 2);
    char run[400];
    snprintf(run, sizeof run, "%s/m", tmp);
    setenv("VDSM_INJECT_NAN_STEP", "1", 1);
    struct nn_err e = {0};
    nn_status rc = train(&spec, run, &e);
    unsetenv("VDSM_INJECT_NAN_STEP");
    cr_assert_eq(rc, NN_NAN, "%s", e.msg);
    char *log = file_in(run, "train.log");
    char want[NN_ERR_MSG_LEN + 16];
    snprintf(want, sizeof want, "error: %s", e.msg);
    cr_assert(strstr(log, want), "%s", log);
    free(log);
    vdsm_spec_free(&spec);

    const char *bd = getenv("VDSM_BUILD_DIR");
    cr_assert(bd, "VDSM_BUILD_DIR unset (run through ctest)");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s/vdsm report %s/none 2>%s/report.err", bd, tmp, tmp);
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    snprintf(cmd, sizeof cmd, "%s/report.err", tmp);
    char *msg = slurp(cmd);
    cr_assert(msg && strstr(msg, "/none: no such run"), "%s", msg ? msg : "(none)");
    free(msg);
}

/* a checkpoint past its stage's start without one trained parameter's optimizer state would
 * resume with a fresh Adam for it: it is skipped */
Test(e2e_harden, a_checkpoint_missing_optimizer_state_is_not_resumed, .init = make_data, .fini = cleanup,
     .timeout = 300)
{
    struct vdsm_spec spec;
    const char *two[] = {"stage1.epochs=2"};
    load_spec(&spec, two, 1);
    char run[400], c2[600];
    snprintf(run, sizeof run, "%s/a", tmp);
    train_ok(&spec, run);
    ckpt_path(c2, sizeof c2, run, 2);
    struct ppl_param_store *st = ppl_store_new();
    struct nn_err e = {0};
    cr_assert_eq(ppl_store_load(st, c2, &e), NN_OK, "%s", e.msg);
    struct ppl_param_entry *enc = ppl_store_find(st, "vdsm.enc.encoder.0.weight");
    cr_assert(enc && enc->has_pend, "no optimizer state for the encoder in %s", c2);
    enc->has_pend = false;   /* saved without it, with a valid checksum */
    struct vdsm_ckpt_info info;
    cr_assert_eq(vdsm_ckpt_read_info(c2, &info, &e), NN_OK, "%s", e.msg);
    info.epoch = 99;
    cr_assert_eq(vdsm_ckpt_save(run, st, &info, 10, &e), NN_OK, "%s", e.msg);
    ppl_store_free(st);
    vdsm_spec_free(&spec);
    const char *three[] = {"stage1.epochs=3"};
    load_spec(&spec, three, 1);
    train_ok(&spec, run);
    char *log = file_in(run, "train.log");
    cr_assert(strstr(log, "ckpt-s1-e000099.safetensors: no optimizer state for the trained parameter "
                          "'vdsm.enc.encoder.0.weight'"), "%s", log);
    cr_assert(strstr(log, "resuming from") && strstr(log, "ckpt-s1-e000002.safetensors (epoch 2"), "%s", log);
    free(log);
    vdsm_spec_free(&spec);
}
