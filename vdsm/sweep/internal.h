/* vdsm/sweep/internal.h: shared between the files of vdsm/sweep (not a public interface). */
#ifndef VDSM_SWEEP_INTERNAL_H
#define VDSM_SWEEP_INTERNAL_H

#include "vdsm/sweep/sweep.h"

#define VDSM_SWEEP_PATH 4096

/* text into path through a temporary name (unique per process) and a rename */
nn_status vdsm__sweep_write_atomic(const char *path, const char *text, struct nn_err *err);
/* RUN/sweep.status := line */
nn_status vdsm__sweep_set_status(const struct vdsm_sweep_point *p, const char *line, struct nn_err *err);
/* RUN/sweep.lock taken without waiting: its descriptor (close to release), or -1 when held */
int vdsm__sweep_lock(const struct vdsm_sweep_point *p);

#endif
