/* vdsm/model/registry.c: the model/guide table (registry.h), from models.def. */
#include "vdsm/model/registry.h"

#include <string.h>

#define VDSM_MODEL(name, stage, model, guide, doc) void model(ppl_ctx *, void *); void guide(ppl_ctx *, void *);
#include "vdsm/model/models.def"
#undef VDSM_MODEL

const struct vdsm_model_variant vdsm_models[] = {
#define VDSM_MODEL(name, stage, model, guide, doc) {#name, stage, model, guide, doc},
#include "vdsm/model/models.def"
#undef VDSM_MODEL
};

const size_t vdsm_nmodels = sizeof vdsm_models / sizeof vdsm_models[0];

const struct vdsm_model_variant *vdsm_model_find(const char *name)
{
    for (size_t i = 0; i < vdsm_nmodels; i++)
        if (!strcmp(vdsm_models[i].name, name)) return &vdsm_models[i];
    return NULL;
}

const struct vdsm_model_variant *vdsm_model_default(int stage)
{
    for (size_t i = 0; i < vdsm_nmodels; i++)
        if (vdsm_models[i].stage == stage) return &vdsm_models[i];
    return NULL;
}
