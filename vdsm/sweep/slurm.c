/* vdsm/sweep/slurm.c: a sweep as a Slurm job array (one array task per point). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/report/buf.h"
#include "vdsm/sweep/internal.h"

/* s in single quotes for the shell */
static void shq(struct vdsm_buf *b, const char *s)
{
    vdsm_buf_puts(b, "'");
    for (; *s; s++)
        if (*s == '\'') vdsm_buf_puts(b, "'\\''");
        else vdsm_buf_append(b, s, 1);
    vdsm_buf_puts(b, "'");
}

nn_status vdsm_sweep_slurm(const struct vdsm_sweep *sw, const struct vdsm_slurm_opts *o, char *path, size_t n,
                           struct nn_err *err)
{
    char cwd[PATH_MAX], file[PATH_MAX], dir[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return nn_err_set(err, NN_IO, "cannot read the current directory: %s", strerror(errno));
    if (!realpath(sw->file, file)) return nn_err_set(err, NN_IO, "%s: %s", sw->file, strerror(errno));
    if (!realpath(sw->dir, dir)) return nn_err_set(err, NN_IO, "%s: %s (prepare the sweep first)", sw->dir, strerror(errno));
    if (!vdsm_path_join(path, n, sw->dir, "sweep.slurm")) return nn_err_set(err, NN_INVALID, "%s: path too long", sw->dir);
    struct vdsm_buf b = {0};
    vdsm_buf_printf(&b, "#!/bin/bash\n# Slurm job array for the sweep %s: one task per point (sweep.json lists them).\n"
                        "# Submit with: sbatch %s/sweep.slurm   (a task that fails or dies is run again by resubmitting;\n"
                        "# finished points are skipped)\n", sw->file, dir);
    vdsm_buf_printf(&b, "#SBATCH --job-name=%s\n#SBATCH --array=0-%d\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n",
                    sw->name, sw->n - 1, o->cpus > 0 ? o->cpus : 1);
    vdsm_buf_printf(&b, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", dir);
    if (o->time) vdsm_buf_printf(&b, "#SBATCH --time=%s\n", o->time);
    for (int i = 0; i < o->nextra; i++) vdsm_buf_printf(&b, "#SBATCH %s\n", o->extra[i]);
    vdsm_buf_puts(&b, "set -eu\ncd ");
    shq(&b, cwd);
    vdsm_buf_puts(&b, "\nexec ");
    shq(&b, o->exe);
    vdsm_buf_puts(&b, " sweep ");
    shq(&b, file);
    vdsm_buf_puts(&b, " --out ");
    shq(&b, sw->dir);
    vdsm_buf_printf(&b, " --only \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-%d}\"\n", o->cpus > 0 ? o->cpus : 1);
    if (b.oom) {
        vdsm_buf_free(&b);
        return nn_err_set(err, NN_OOM, "out of memory");
    }
    nn_status st = vdsm__sweep_write_atomic(path, b.s, err);
    vdsm_buf_free(&b);
    if (!st) chmod(path, 0755);
    return st;
}
