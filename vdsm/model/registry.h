/* vdsm/model/registry.h: the model/guide pairs a spec can name (stage1.model, stage2.model).
 *
 * One table, generated from models.def: each row a name, its stage, its model and guide
 * functions and a one-line description. The spec validates stageN.model against it (an unknown
 * name, or a name of the other stage, is a file:line:col error), docs/specs.md lists it, and the
 * trainer and `vdsm eval` run the pair a spec names. The first row of each stage is the default:
 * the canonical pair, a plain mirror of the release.
 *
 *   const struct vdsm_model_variant *v = vdsm_model_find("seq_iid_pose");
 *   if (v && v->stage == 2) ppl_svi_init(&svi, v->model, v->guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
 *   for (size_t i = 0; i < vdsm_nmodels; i++) puts(vdsm_models[i].name);
 */
#ifndef VDSM_MODEL_REGISTRY_H
#define VDSM_MODEL_REGISTRY_H

#include <stddef.h>

#include "ppl/core/ctx.h"

struct vdsm_model_variant {
    const char *name;    /* stageN.model value */
    int stage;           /* 1 or 2 */
    ppl_fn model, guide; /* args: struct vdsm_args */
    const char *doc;     /* one line */
};

extern const struct vdsm_model_variant vdsm_models[];
extern const size_t vdsm_nmodels;

/* The row called name, or NULL. */
const struct vdsm_model_variant *vdsm_model_find(const char *name);
/* The default (canonical) pair of a stage. */
const struct vdsm_model_variant *vdsm_model_default(int stage);

#endif
