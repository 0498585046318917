/* vdsm/sweep/launch.c: the local launcher: child `vdsm train` processes, --jobs at a time.
 *
 * Each run is a child process (fork + exec of the same program), so a crash, an abort or a
 * NaN that gives up ends that run only; its output goes to RUN/sweep.log, and the last line
 * of it (the error message) is what the sweep reports. A child dies with its launcher
 * (PR_SET_PDEATHSIG), so a killed rank leaves no orphan training on: its runs are resumed by
 * the next invocation. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/run/setup.h"
#include "vdsm/sweep/internal.h"

struct job {
    int point;     /* index into sw->pts; -1 = free slot */
    pid_t pid;
    int lock;
    double t0;
};

struct launcher {
    const struct vdsm_sweep *sw;
    const struct vdsm_sweep_opts *o;
    struct vdsm_sweep_summary *sum;
    FILE *log;
    bool tty;
    char who[64];
    int threads, running;
    double t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(struct launcher *l)
{
    const struct vdsm_sweep_summary *s = l->sum;
    int left = s->total - s->skipped - s->done - s->failed - l->running;
    fprintf(l->log, "%s%s%s: %d/%d finished (%d before), %d failed, %d running, %d to go  [%.0f s]%s",
            l->tty ? "\r\033[K" : "", l->who, l->sw->name, s->skipped + s->done, s->total, s->skipped, s->failed,
            l->running, left, now_s() - l->t0, l->tty ? "" : "\n");
    fflush(l->log);
}

static void say(struct launcher *l, const char *fmt, const char *name, const char *detail)
{
    if (l->tty) fputs("\r\033[K", l->log);
    fprintf(l->log, "%s", l->who);
    fprintf(l->log, fmt, name, detail);
    fputc('\n', l->log);
}

/* The last non-empty line of RUN/sweep.log (the child's error message), for the report. */
static void last_line(const struct vdsm_sweep_point *p, char *out, size_t n)
{
    char path[VDSM_SWEEP_PATH], line[1024];
    out[0] = '\0';
    if (!vdsm_path_join(path, sizeof path, p->dir, "sweep.log")) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *s = strrchr(line, '\r') ? strrchr(line, '\r') + 1 : line; /* a progress line's last state */
        if (*s) snprintf(out, n, "%s", s);
    }
    fclose(f);
}

static void child(const struct launcher *l, const struct vdsm_sweep_point *p)
{
    char spec[VDSM_SWEEP_PATH], logp[VDSM_SWEEP_PATH], threads[16];
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!vdsm_path_join(spec, sizeof spec, p->dir, "spec.yaml") || !vdsm_path_join(logp, sizeof logp, p->dir, "sweep.log"))
        _exit(126);
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, STDIN_FILENO);
    snprintf(threads, sizeof threads, "%d", l->threads);
    const char *exe = l->o->exe ? l->o->exe : "/proc/self/exe";
    char *argv[] = {"vdsm", "train", spec, "--run-dir", p->dir, "--quiet", "--threads", threads, NULL};
    execv(exe, argv);
    fprintf(stderr, "vdsm sweep: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
}

static nn_status start(struct launcher *l, struct job *j, int idx, struct nn_err *err)
{
    const struct vdsm_sweep_point *p = &l->sw->pts[idx];
    char host[256] = "?", line[400];
    int lock = vdsm__sweep_lock(p);
    if (lock < 0) { /* another launcher trains it now */
        l->sum->skipped++;
        say(l, "%s: trained by another launcher now, left to it%s", p->name, "");
        return NN_OK;
    }
    fflush(l->log);
    pid_t pid = fork();
    if (pid < 0) {
        close(lock);
        return nn_err_set(err, NN_IO, "%s: cannot start a process: %s", p->name, strerror(errno));
    }
    if (pid == 0) child(l, p);
    gethostname(host, sizeof host - 1);
    snprintf(line, sizeof line, "running %s %ld", host, (long)pid);
    if (vdsm__sweep_set_status(p, line, err)) return err->code;
    *j = (struct job){.point = idx, .pid = pid, .lock = lock, .t0 = now_s()};
    l->running++;
    say(l, "%s: started%s", p->name, "");
    return NN_OK;
}

static nn_status finish(struct launcher *l, struct job *j, int status, struct nn_err *err)
{
    const struct vdsm_sweep_point *p = &l->sw->pts[j->point];
    char line[1200], why[1024], detail[1100];
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) {
        snprintf(line, sizeof line, "done %016llx", (unsigned long long)p->hash);
        l->sum->done++;
        snprintf(detail, sizeof detail, " (%.1f s)", now_s() - j->t0);
        say(l, "%s: done%s", p->name, detail);
    } else {
        last_line(p, why, sizeof why);
        if (WIFSIGNALED(status)) snprintf(detail, sizeof detail, "killed by signal %d%s%s", WTERMSIG(status), *why ? ": " : "", why);
        else snprintf(detail, sizeof detail, "exit %d%s%s", WEXITSTATUS(status), *why ? ": " : "", why);
        snprintf(line, sizeof line, "failed %s", detail);
        l->sum->failed++;
        say(l, "%s: FAILED: %s", p->name, detail);
    }
    nn_status st = vdsm__sweep_set_status(p, line, err);
    close(j->lock);
    j->point = -1;
    l->running--;
    return st;
}

/* Waits for one child and records how it ended. */
static nn_status reap(struct launcher *l, struct job *jobs, int njobs, struct nn_err *err)
{
    int status;
    pid_t pid;
    do pid = waitpid(-1, &status, 0);
    while (pid < 0 && errno == EINTR);
    if (pid < 0) return nn_err_set(err, NN_INTERNAL, "waitpid: %s", strerror(errno));
    for (int i = 0; i < njobs; i++)
        if (jobs[i].point >= 0 && jobs[i].pid == pid) return finish(l, &jobs[i], status, err);
    return NN_OK; /* not one of ours */
}

static bool mine(const struct vdsm_sweep_opts *o, int i)
{
    return o->only >= 0 ? i == o->only : i % o->nranks == o->rank;
}

nn_status vdsm_sweep_run(const struct vdsm_sweep *sw, const struct vdsm_sweep_opts *o, struct vdsm_sweep_summary *sum,
                         struct nn_err *err)
{
    struct launcher l = {.sw = sw, .o = o, .sum = sum, .log = o->log ? o->log : stdout, .t0 = now_s()};
    int njobs = o->jobs > 0 ? o->jobs : 1, ranks_here = o->only >= 0 ? 1 : (o->local_ranks > 0 ? o->local_ranks : 1);
    memset(sum, 0, sizeof *sum);
    if (o->only >= sw->n) return nn_err_set(err, NN_INVALID, "%s: --only %d, but the sweep has points 0 to %d", sw->file, o->only, sw->n - 1);
    l.tty = isatty(fileno(l.log)) && o->nranks <= 1; /* mpirun's forwarded output interleaves lines */
    if (o->nranks > 1 && o->only < 0) snprintf(l.who, sizeof l.who, "rank %d/%d: ", o->rank, o->nranks);
    l.threads = o->threads > 0 ? o->threads : vdsm_cpu_count() / (njobs * ranks_here);
    if (l.threads < 1) l.threads = 1;
    int *todo = malloc(sizeof *todo * (size_t)(sw->n + 1));
    struct job *jobs = malloc(sizeof *jobs * (size_t)njobs);
    if (!todo || !jobs) {
        free(todo), free(jobs);
        return nn_err_set(err, NN_OOM, "out of memory");
    }
    int ntodo = 0;
    for (int i = 0; i < sw->n; i++) {
        if (!mine(o, i)) continue;
        sum->total++;
        char detail[600];
        enum vdsm_run_state s = vdsm_sweep_state(&sw->pts[i], detail, sizeof detail);
        if (s == VDSM_RUN_DONE) sum->skipped++;
        else todo[ntodo++] = i;
        if (s == VDSM_RUN_FAILED) say(&l, "%s: failed before (%s); trying again", sw->pts[i].name, detail);
    }
    for (int i = 0; i < njobs; i++) jobs[i].point = -1;
    fprintf(l.log, "%s%s: %d points here, %d finished before; %d at a time, %d thread%s each\n", l.who, sw->name,
            sum->total, sum->skipped, njobs, l.threads, l.threads == 1 ? "" : "s");
    nn_status st = NN_OK;
    int next = 0;
    while (!st && (next < ntodo || l.running > 0)) {
        for (int i = 0; i < njobs && next < ntodo && !st; i++)
            if (jobs[i].point < 0) st = start(&l, &jobs[i], todo[next++], err);
        progress(&l);
        if (!st && l.running > 0) st = reap(&l, jobs, njobs, err);
    }
    while (l.running > 0) { /* the launcher failed: let the started runs finish and record them */
        struct nn_err ignore = {0};
        if (reap(&l, jobs, njobs, &ignore)) break;
    }
    progress(&l);
    if (l.tty) fputc('\n', l.log);
    free(todo);
    free(jobs);
    return st;
}
