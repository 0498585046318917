#include "vdsm/train/setup.h"

#include <stdio.h>
#include <string.h>

#include "gpu/plugin.h"
#include "vdsm/model/registry.h"

struct nn_ctx_config vdsm_ctx_config(const struct vdsm_spec *spec, enum nn_device dev)
{
    return (struct nn_ctx_config){.data_capacity = (size_t)spec->runtime.step_memory_mb << 20,
                                  .meta_capacity = (size_t)spec->runtime.header_memory_mb << 20,
                                  .scratch_bytes = (size_t)spec->runtime.scratch_mb << 20,
                                  .device = dev};
}

nn_status vdsm_model_open(const struct vdsm_spec *spec, enum nn_device dev, nn_ctx *nn,
                          struct ppl_param_store *store, ppl_ctx **ppl, struct vdsm_net *net,
                          struct nn_err *err)
{
    if (!(*ppl = ppl_ctx_new(nn, store, (uint64_t)spec->runtime.seed, err))) return err->code;
    struct nn_rng init_rng;
    nn_rng_seed(&init_rng, (uint64_t)spec->runtime.seed);
    if (vdsm_net_init(net, spec, dev, &init_rng, err)) return err->code;
    if (vdsm_net_register(net, store, err)) {
        vdsm_net_free(net);
        return err->code;
    }
    return NN_OK;
}

nn_status vdsm_open_device(const struct vdsm_spec *spec, const char *precision, enum nn_device *dev,
                           struct nn_err *err)
{
    const char *d = spec->runtime.device ? spec->runtime.device : "cpu";
    *dev = NN_DEV_CPU;
    if (precision && strcmp(precision, "fp32") && strcmp(precision, "tf32") && strcmp(precision, "bf16"))
        return nn_err_set(err, NN_INVALID, "precision '%s': expected fp32, tf32 or bf16", precision);
    if (!strcmp(d, "cpu")) return NN_OK;
    int index = 0;
    if (strncmp(d, "cuda", 4) || (d[4] && (d[4] != ':' || sscanf(d + 5, "%d", &index) != 1)))
        return nn_err_set(err, NN_INVALID, "%s: runtime.device '%s': expected cpu, cuda or cuda:N", spec->source, d);
    struct nn_err why = {0};
    const struct gpu_api *gpu = gpu_plugin(&why);
    if (!gpu || gpu->backend_init(index, &why))
        return nn_err_set(err, why.code, "%s: runtime.device '%s': %s", spec->source, d, why.msg);
    *dev = NN_DEV_CUDA;
    if (precision && strcmp(precision, "fp32"))
        gpu->set_precision(!strcmp(precision, "tf32") ? GPU_PREC_TF32 : GPU_PREC_BF16);
    return NN_OK;
}

void vdsm_svi_setup(struct ppl_svi *svi, const struct vdsm_spec_stage *ss, int stage, double lr_scale,
                    bool site_terms)
{
    enum nn_optim_kind kind = ss->optimizer == VDSM_OPT_CLIPPED_ADAM ? NN_OPTIM_CLIPPED_ADAM : NN_OPTIM_ADAM;
    struct nn_adam_config cfg = nn_adam_defaults(kind);
    cfg.lr = (float)(ss->lr * lr_scale);
    if (kind == NN_OPTIM_CLIPPED_ADAM) {
        cfg.clip_norm = (float)ss->clip;
        cfg.lrd = (float)ss->lrd;
    }
    const struct vdsm_model_variant *v = ss->model ? ss->model : vdsm_model_default(stage);
    ppl_svi_init(svi, v->model, v->guide, kind, &cfg, ss->elbo == VDSM_ELBO_MEAN_FIELD ? PPL_TRACE_MEANFIELD_ELBO : PPL_TRACE_ELBO,
                 ss->num_particles);
    svi->elbo.want_terms = site_terms;
    svi->elbo.validate = site_terms;
}

void vdsm_schedule_values(const struct vdsm_spec_stage *ss, long epoch, struct vdsm_args *a)
{
    for (int q = 0; q < VDSM_SCHED_COUNT; q++)
        a->annealed[q] = (float)vdsm_schedule_value(&ss->schedules.at[q], epoch, ss->epochs);
}
