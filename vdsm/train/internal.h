/* vdsm/train/internal.h: the trainer's state, shared by train.c and run.c. */
#ifndef VDSM_TRAIN_INTERNAL_H
#define VDSM_TRAIN_INTERNAL_H

#include <stdio.h>

#include "ppl/ppl.h"
#include "vdsm/data/dataset.h"
#include "vdsm/model/vdsm.h"
#include "vdsm/run/checkpoint.h"
#include "vdsm/run/lock.h"
#include "vdsm/train/train.h"

/* per-site ELBO terms summed over an epoch */
struct vdsm_terms {
    int n, cap;
    struct vdsm_term { char *name; bool guide; double sum; long count; } *t;
};

struct trainer {
    const struct vdsm_spec *spec;
    const struct vdsm_train_opts *o;
    char dir[VDSM_PATH_MAX];
    FILE *log, *logfile;
    nn_ctx *nn;
    ppl_ctx *ppl;
    struct ppl_param_store *store;
    struct vdsm_net net;
    bool net_ok;
    struct vdsm_dataset ds;
    bool ds_ok;
    struct ppl_svi svi;
    uint64_t hash;
    long steps_this_call;
    long inject_nan;            /* VDSM_INJECT_NAN_STEP, -1 if unset */
    long inject_nan_params;     /* VDSM_INJECT_NAN_PARAMS_STEP, -1 if unset */
    bool injected;
    bool resumed;               /* this stage continued from a checkpoint */
    double rollback_factor;     /* to apply to restored optimizers after a rollback */
    struct vdsm_terms acc;
    struct vdsm_run_lock lock;  /* held from before the first write into dir */
};

void vdsm__log(struct trainer *tr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vdsm__progress(struct trainer *tr, int stage, long epoch, long epochs, long b, long nb, double loss, double secs);
/* writes spec.yaml into the (locked) run directory, never over a different existing one
 * without keeping it as spec.yaml.prev, and opens train.log */
nn_status vdsm__run_dir_prepare(struct trainer *tr, struct nn_err *err);
/* RUN/report.html exists and RUN/images/generate.json was made from checkpoint ck */
bool vdsm__outputs_current(struct trainer *tr, const struct vdsm_ckpt_info *ck);
/* The run's checkpoints, if any, must load into this spec's model (ppl_store_verify against the
 * store): otherwise an error naming the keys that differ from the run's spec.yaml and what the
 * checkpoint says. Reads only. */
nn_status vdsm__run_check_compatible(struct trainer *tr, struct nn_err *err);
nn_status vdsm__metrics_write(struct trainer *tr, int stage, long epoch, long step, double loss,
                              const struct vdsm_args *a, double step_secs, struct nn_err *err);
/* drops metrics lines of (stage, epoch >= from) and of later stages, for a resumed stage */
nn_status vdsm__metrics_truncate(struct trainer *tr, int stage, long from, struct nn_err *err);
void vdsm__terms_reset(struct vdsm_terms *t);
void vdsm__terms_add(struct vdsm_terms *t, const char *name, bool guide, double v);
void vdsm__terms_free(struct vdsm_terms *t);

#endif
