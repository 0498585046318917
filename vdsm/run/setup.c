#include "vdsm/run/setup.h"

#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/plugin.h"
#include "vdsm/model/registry.h"
#include "vdsm/spec/scalar.h"
#include "vdsm/spec/tree.h"

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
    int prec = spec->runtime.precision;
    const char *from = "runtime.precision";
    if (precision && (prec = nn_precision_parse(precision)) < 0)
        return nn_err_set(err, NN_INVALID, "--precision '%s': expected fp32, tf32 or bf16", precision);
    if (precision) from = "--precision";
    *dev = NN_DEV_CPU;
    if (strcmp(d, "cpu")) {
        int index = 0;
        if (strncmp(d, "cuda", 4) || (d[4] && (d[4] != ':' || sscanf(d + 5, "%d", &index) != 1)))
            return nn_err_set(err, NN_INVALID, "%s: runtime.device '%s': expected cpu, cuda or cuda:N", spec->source, d);
        struct nn_err why = {0};
        const struct gpu_api *gpu = gpu_plugin(&why);
        if (!gpu || gpu->backend_init(index, &why))
            return nn_err_set(err, why.code, "%s: runtime.device '%s': %s", spec->source, d, why.msg);
        *dev = NN_DEV_CUDA;
    }
    /* set every time, fp32 included: the setting is the process's, and a program may train
     * several specs */
    struct nn_err why = {0};
    if (nn_backend_get(*dev)->set_precision((enum nn_precision)prec, &why))
        return nn_err_set(err, why.code, "%s: %s %s on runtime.device '%s': %s", spec->source, from,
                          nn_precision_name((enum nn_precision)prec), d, why.msg);
    return NN_OK;
}

int vdsm_cpu_count(void)
{
    cpu_set_t set;
    if (!sched_getaffinity(0, sizeof set, &set) && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int vdsm_set_threads(int n)
{
    if (n <= 0) {
        const char *env = getenv("OMP_NUM_THREADS");
        char *end = NULL;
        long v = env ? strtol(env, &end, 10) : 0;
        n = env && end != env && *end == '\0' && v > 0 && v <= 1024 ? (int)v : vdsm_cpu_count();
    }
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    return n;
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

/* the node of `path` in the spec file itself (NULL when the value came from a base spec, a
 * --set or a default): for a file:line:col in the message */
static const struct vdsm_node *node_of(const struct vdsm_node *root, const char *path)
{
    char key[128];
    const struct vdsm_node *n = root;
    for (const char *p = path; n && *p;) {
        size_t k = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)k, p);
        n = n->kind == VDSM_NODE_MAP ? vdsm_node_get(n, key) : NULL;
        p += k + (p[k] == '.');
    }
    return n;
}

static nn_status mismatch(struct nn_err *err, const struct vdsm_spec *spec, const struct vdsm_node *root,
                          const char *path, int value, const char *what)
{
    const struct vdsm_node *n = node_of(root, path);
    int64_t v;
    /* the file's own line only when the value is the file's (not a --set's) */
    if (n && n->kind == VDSM_NODE_SCALAR && vdsm_parse_int(n->text, &v) && v == value)
        return vdsm_spec_fail(err, n, path, "%s", what);
    return nn_err_set(err, NN_PARSE, "%s: %s: %s", spec->source ? spec->source : "spec", path, what);
}

nn_status vdsm_spec_check_data(const struct vdsm_spec *spec, const struct vdsm_dataset *ds, struct nn_err *err)
{
    struct vdsm_node *root = NULL;
    struct nn_err quiet = {0};
    if (spec->source) vdsm_yaml_load_file(spec->source, &root, &quiet);
    char what[512];
    nn_status st = NN_OK;
    if ((size_t)spec->dataset.channels != ds->c) {
        snprintf(what, sizeof what, "%d, but the frames of %s have %zu channel%s", spec->dataset.channels,
                 spec->dataset.path, ds->c, ds->c == 1 ? "" : "s");
        st = mismatch(err, spec, root, "dataset.channels", spec->dataset.channels, what);
    } else if ((size_t)spec->dataset.image_size != ds->h || (size_t)spec->dataset.image_size != ds->w) {
        snprintf(what, sizeof what, "%d, but the frames of %s are %zux%zu", spec->dataset.image_size,
                 spec->dataset.path, ds->h, ds->w);
        st = mismatch(err, spec, root, "dataset.image_size", spec->dataset.image_size, what);
    }
    for (int j = 1; j <= 2 && !st; j++) {
        const struct vdsm_spec_stage *ss = j == 1 ? &spec->stage1 : &spec->stage2;
        if (!(spec->stages & (j == 1 ? VDSM_STAGE_ENCDEC : VDSM_STAGE_SEQ))) continue;
        if ((size_t)ss->seq_len > ds->t) {
            char path[32];
            snprintf(path, sizeof path, "stage%d.seq_len", j);
            snprintf(what, sizeof what, "%d frames, longer than the clips of %s (%zu frames)", ss->seq_len,
                     spec->dataset.path, ds->t);
            st = mismatch(err, spec, root, path, ss->seq_len, what);
        }
    }
    vdsm_node_free(root);
    return st;
}
