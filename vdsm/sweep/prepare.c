/* vdsm/sweep/prepare.c: the sweep directory on disk: run directories, their specs, the
 * manifest, the per-run status files; and the MPI rank from the environment. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/sweep/internal.h"

nn_status vdsm__sweep_write_atomic(const char *path, const char *text, struct nn_err *err)
{
    char tmp[VDSM_SWEEP_PATH + 128], host[64] = "";
    gethostname(host, sizeof host - 1); /* ranks on several hosts may share the directory */
    snprintf(tmp, sizeof tmp, "%s.%s.%ld.tmp", path, host, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return nn_err_set(err, NN_IO, "%s: cannot write: %s", tmp, strerror(errno));
    bool bad = fputs(text, f) == EOF;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        unlink(tmp);
        return nn_err_set(err, NN_IO, "%s: cannot write", path);
    }
    return NN_OK;
}

/* The file's text when it is the same as `text`, so an unchanged file is not rewritten (a
 * run's spec.yaml keeps its time, and training does not see a new spec). */
static bool same_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = strlen(text);
    char *buf = malloc(n + 2);
    size_t got = buf ? fread(buf, 1, n + 1, f) : 0;
    fclose(f);
    bool same = buf && got == n && !memcmp(buf, text, n);
    free(buf);
    return same;
}

static char *manifest(const struct vdsm_sweep *sw)
{
    cJSON *o = cJSON_CreateObject(), *pts = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "sweep", sw->file);
    cJSON_AddStringToObject(o, "name", sw->name);
    cJSON_AddStringToObject(o, "spec", sw->spec_path);
    cJSON_AddStringToObject(o, "mode", sw->mode == VDSM_SWEEP_ZIP ? "zip" : "grid");
    cJSON_AddItemToObject(o, "points", pts);
    for (int i = 0; i < sw->n; i++) {
        const struct vdsm_sweep_point *p = &sw->pts[i];
        cJSON *q = cJSON_CreateObject();
        char hash[24], *desc = vdsm_sweep_point_desc(p);
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)p->hash);
        cJSON_AddNumberToObject(q, "index", p->index);
        cJSON_AddStringToObject(q, "name", p->name);
        cJSON_AddStringToObject(q, "group", p->group);
        cJSON_AddStringToObject(q, "dir", p->dir);
        if (p->variant) cJSON_AddStringToObject(q, "variant", p->variant);
        if (p->seed >= 0) cJSON_AddNumberToObject(q, "seed", p->seed);
        cJSON_AddStringToObject(q, "overrides", desc ? desc : "");
        cJSON_AddStringToObject(q, "spec_hash", hash);
        cJSON_AddItemToArray(pts, q);
        free(desc);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

nn_status vdsm_sweep_prepare(const struct vdsm_sweep *sw, struct nn_err *err)
{
    char path[VDSM_SWEEP_PATH];
    if (vdsm_mkdirs(sw->dir, err)) return err->code;
    for (int i = 0; i < sw->n; i++) {
        const struct vdsm_sweep_point *p = &sw->pts[i];
        if (vdsm_mkdirs(p->dir, err)) return err->code;
        if (!vdsm_path_join(path, sizeof path, p->dir, "spec.yaml")) return nn_err_set(err, NN_INVALID, "%s: path too long", p->dir);
        if (!same_text(path, p->yaml) && vdsm__sweep_write_atomic(path, p->yaml, err)) return err->code;
    }
    char *m = manifest(sw);
    if (!m) return nn_err_set(err, NN_OOM, "out of memory");
    nn_status st = NN_OK;
    if (!vdsm_path_join(path, sizeof path, sw->dir, "sweep.json")) st = nn_err_set(err, NN_INVALID, "%s: path too long", sw->dir);
    else if (!same_text(path, m)) st = vdsm__sweep_write_atomic(path, m, err);
    free(m);
    return st;
}

nn_status vdsm__sweep_set_status(const struct vdsm_sweep_point *p, const char *line, struct nn_err *err)
{
    char path[VDSM_SWEEP_PATH], text[600];
    if (!vdsm_path_join(path, sizeof path, p->dir, "sweep.status")) return nn_err_set(err, NN_INVALID, "%s: path too long", p->dir);
    snprintf(text, sizeof text, "%s\n", line);
    return vdsm__sweep_write_atomic(path, text, err);
}

int vdsm__sweep_lock(const struct vdsm_sweep_point *p)
{
    char path[VDSM_SWEEP_PATH];
    if (!vdsm_path_join(path, sizeof path, p->dir, "sweep.lock")) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        close(fd);
        return -1;
    }
    return fd;
}

enum vdsm_run_state vdsm_sweep_state(const struct vdsm_sweep_point *p, char *detail, size_t n)
{
    char path[VDSM_SWEEP_PATH], line[600] = "";
    if (detail && n) detail[0] = '\0';
    if (!vdsm_path_join(path, sizeof path, p->dir, "sweep.status")) return VDSM_RUN_PENDING;
    FILE *f = fopen(path, "r");
    if (!f) return VDSM_RUN_PENDING;
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    const char *rest = strchr(line, ' ') ? strchr(line, ' ') + 1 : "";
    if (detail && n) snprintf(detail, n, "%s", rest);
    if (!strncmp(line, "done ", 5)) {
        if (strtoull(rest, NULL, 16) == p->hash) return VDSM_RUN_DONE;
        if (detail && n) snprintf(detail, n, "its spec changed since it finished");
        return VDSM_RUN_PENDING;
    }
    if (!strncmp(line, "failed ", 7)) return VDSM_RUN_FAILED;
    if (!strncmp(line, "running ", 8)) {
        int fd = vdsm__sweep_lock(p); /* a launcher that died leaves the lock free */
        if (fd < 0) return VDSM_RUN_RUNNING;
        close(fd);
        if (detail && n) snprintf(detail, n, "interrupted (host pid: %s)", rest);
    }
    return VDSM_RUN_PENDING;
}

static int env_int(const char *name, int def)
{
    const char *s = getenv(name);
    char *end;
    long v = s && *s ? strtol(s, &end, 10) : -1;
    return s && *s && !*end && v >= 0 && v < 1000000 ? (int)v : def;
}

void vdsm_sweep_rank(int *rank, int *size, int *local_size)
{
    *rank = 0, *size = 1, *local_size = 1;
    if (getenv("OMPI_COMM_WORLD_SIZE")) {
        *rank = env_int("OMPI_COMM_WORLD_RANK", 0);
        *size = env_int("OMPI_COMM_WORLD_SIZE", 1);
        *local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    } else if (getenv("PMI_SIZE")) {
        *rank = env_int("PMI_RANK", 0);
        *size = env_int("PMI_SIZE", 1);
        *local_size = env_int("MPI_LOCALNRANKS", 1);
    }
    if (*size < 1) *size = 1;
    if (*rank >= *size) *rank = 0;
    if (*local_size < 1 || *local_size > *size) *local_size = 1;
}
