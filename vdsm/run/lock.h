/* vdsm/run/lock.h: one writer per run directory.
 *
 * train, generate and eval take an exclusive flock(2) on RUN/.lock before they write into the
 * run directory; a second process asking for it is refused at once, with the holder's PID (the
 * holder writes it into the file). The kernel drops the lock when its holder exits, however it
 * exits, so a .lock left by a dead process never blocks. The lock belongs to the open file: one
 * process takes it once (vdsm_generate called by the trainer runs under the trainer's lock).
 *
 *   struct vdsm_run_lock lk;
 *   if (vdsm_run_lock(run_dir, true, "vdsm train", &lk, &err)) return err.code;
 *   ... write into run_dir ...
 *   vdsm_run_unlock(&lk);
 */
#ifndef VDSM_RUN_LOCK_H
#define VDSM_RUN_LOCK_H

#include <stdbool.h>

#include "nn/status.h"

struct vdsm_run_lock {
    int fd;                 /* -1: not held */
};

/* create: make the run directory if missing (else a missing directory is an error saying the
 * run does not exist). who: written beside the PID, shown to a refused process. */
nn_status vdsm_run_lock(const char *run_dir, bool create, const char *who, struct vdsm_run_lock *lk,
                        struct nn_err *err);
void vdsm_run_unlock(struct vdsm_run_lock *lk);
/* Removes the temporary files interrupted writes leave (RUN/NAME.tmp such as report.html.tmp,
 * RUN/images/.NAME.tmp of generate, RUN/checkpoints/NAME.tmp).
 * For the lock holder only: another writer's temporary files are not leftovers. */
void vdsm_run_clean(const char *run_dir);

#endif
