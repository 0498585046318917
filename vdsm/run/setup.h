/* vdsm/run/setup.h: what training, benchmarking and generation set up the same way from a
 * spec: the device, the step context, the network, the SVI object of a stage, the schedule
 * values of an epoch.
 *
 *   enum nn_device dev;
 *   if (vdsm_open_device(&spec, NULL, &dev, &err)) ...;
 *   struct ppl_svi svi;
 *   vdsm_svi_setup(&svi, &spec.stage1, 1, 1.0, true);
 *   struct vdsm_args a = {.net = &net};
 *   vdsm_schedule_values(&spec.stage1, epoch, &a);
 */
#ifndef VDSM_RUN_SETUP_H
#define VDSM_RUN_SETUP_H

#include "vdsm/data/dataset.h"
#include "vdsm/model/vdsm.h"

/* runtime.device: cpu, cuda or cuda:N (initialising the CUDA backend). precision NULL or
 * "fp32", "tf32", "bf16" (GPU GEMMs and convolutions; fp32 master weights either way). */
nn_status vdsm_open_device(const struct vdsm_spec *spec, const char *precision, enum nn_device *dev,
                           struct nn_err *err);
/* The cores this process may run on: its affinity mask (taskset, a Slurm or cgroup cpuset), else
 * every online core. */
int vdsm_cpu_count(void);
/* The CPU threads (OpenMP's; OpenBLAS stays on one thread inside them: nn/cpu/gemm.c): n > 0
 * threads, else what OMP_NUM_THREADS says when it is a positive number, else vdsm_cpu_count().
 * Returns the count set. */
int vdsm_set_threads(int n);
/* The step context's sizes from runtime.step_memory_mb, header_memory_mb and scratch_mb. */
struct nn_ctx_config vdsm_ctx_config(const struct vdsm_spec *spec, enum nn_device dev);
/* On a context and an empty store: the ppl context (seeded by runtime.seed) in *ppl and the
 * network (weights drawn from runtime.seed) registered in the store. On failure the network is
 * freed again (*ppl may be set: the caller frees it). */
nn_status vdsm_model_open(const struct vdsm_spec *spec, enum nn_device dev, nn_ctx *nn,
                          struct ppl_param_store *store, ppl_ctx **ppl, struct vdsm_net *net,
                          struct nn_err *err);
/* The stage's model/guide pair (stageN.model, from vdsm/model/registry.h), optimizer (lr x lr_scale), ELBO and particles. site_terms: read
 * each site's ELBO term every step (for metrics) and validate log-probs. */
void vdsm_svi_setup(struct ppl_svi *svi, const struct vdsm_spec_stage *ss, int stage, double lr_scale,
                    bool site_terms);
/* What the spec says of the data against the dataset itself (channels, image size, each trained
 * stage's seq_len within the clips): an error naming the key (file:line:col when the spec file
 * itself sets it) and the data, before anything is written. */
nn_status vdsm_spec_check_data(const struct vdsm_spec *spec, const struct vdsm_dataset *ds, struct nn_err *err);
/* every annealed quantity (vdsm/schedule/anneal.h) at `epoch` into a */
void vdsm_schedule_values(const struct vdsm_spec_stage *ss, long epoch, struct vdsm_args *a);

#endif
