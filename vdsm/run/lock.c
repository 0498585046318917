/* The run directory's lock: flock on RUN/.lock, holder's PID inside. */
#include "vdsm/run/lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/run/checkpoint.h"

/* "PID who" of the holder, or "" */
static void holder(int fd, char *out, size_t n)
{
    char buf[256];
    ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
    out[0] = '\0';
    if (k <= 0) return;
    buf[k] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    if (pid > 0) snprintf(out, n, "process %ld%s%s%s", pid, *end ? " (" : "", *end ? end + 1 : "", *end ? ")" : "");
}

nn_status vdsm_run_lock(const char *run_dir, bool create, const char *who, struct vdsm_run_lock *lk,
                        struct nn_err *err)
{
    char path[VDSM_PATH_MAX];
    lk->fd = -1;
    struct stat sb;
    if (stat(run_dir, &sb) || !S_ISDIR(sb.st_mode)) {
        if (!create) return nn_err_set(err, NN_IO, "%s: no such run (not a directory)", run_dir);
        if (vdsm_mkdirs(run_dir, err)) return err->code;
    }
    if (!vdsm_path_join(path, sizeof path, run_dir, ".lock")) return nn_err_set(err, NN_INVALID, "%s: path too long", run_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return nn_err_set(err, NN_IO, "%s: cannot open the run's lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        char h[200];
        holder(fd, h, sizeof h);
        close(fd);
        if (e == EWOULDBLOCK)
            return nn_err_set(err, NN_IO, "%s: the run is in use by %s; wait for it to finish or stop it", run_dir,
                              h[0] ? h : "another process");
        return nn_err_set(err, NN_IO, "%s: cannot lock: %s", path, strerror(e));
    }
    char line[200];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), who ? who : "vdsm");
    if (ftruncate(fd, 0) || pwrite(fd, line, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        return nn_err_set(err, NN_IO, "%s: cannot write: %s", path, strerror(e));
    }
    lk->fd = fd;
    return NN_OK;
}

void vdsm_run_unlock(struct vdsm_run_lock *lk)
{
    if (lk->fd >= 0) close(lk->fd);
    lk->fd = -1;
}

static void remove_tmp(const char *dir, bool dot_only)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".tmp") || (dot_only && de->d_name[0] != '.')) continue;
        char p[VDSM_PATH_MAX];
        struct stat sb;
        if (vdsm_path_join(p, sizeof p, dir, de->d_name) && !lstat(p, &sb) && S_ISREG(sb.st_mode)) unlink(p);
    }
    closedir(d);
}

void vdsm_run_clean(const char *dir)
{
    char sub[VDSM_PATH_MAX];
    remove_tmp(dir, false);   /* report.html.tmp, metrics.jsonl.tmp, eval.json.tmp, ... */
    if (vdsm_path_join(sub, sizeof sub, dir, "images")) remove_tmp(sub, true);   /* generate's .NAME.tmp */
    if (vdsm_path_join(sub, sizeof sub, dir, "checkpoints")) remove_tmp(sub, false);
}
