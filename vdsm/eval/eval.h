/* vdsm/eval/eval.h: `vdsm eval`'s protocols over a trained run and its dataset's test split.
 *
 * Two disentanglement protocols whose numbers are not comparable with each other, plus
 * reconstruction; every number lands in a JSON object under the protocol that produced it
 * (docs/evaluation.md describes each):
 *   judge        a frozen judge classifier (vdsm judge train) scores generated clips:
 *                (a) each test clip's dynamics kept, identity drawn from the prior: dynamics
 *                heads' accuracy against the clip's labels, IS, H(y|x), H(y) on a class-balanced
 *                subset; (b) identity kept, dynamics drawn from the prior: identity heads;
 *                transfer: dynamics of clip i with identity of clip j: dynamics heads follow i,
 *                identity heads follow j. Mean and spread over seeds.
 *   consistency  VDSM's protocol: a DSA classifier trained on real and reconstructed clips of a
 *                70% part of the test split; the share of the other 30% whose real clip and
 *                reconstruction get the same label, per head; IS/H on clips with both factors
 *                drawn from the prior.
 *   recon        test negative ELBO (nats per clip, bits per dimension), reconstruction MSE and
 *                PSNR (frame path: pose locs decoded; sequence path: the dynamics rollout).
 *
 * Ownership: the caller owns the run, dataset, classifier and context; results are added to a
 * cJSON object the caller owns. Errors: status + message in err.
 *
 *   cJSON *root = cJSON_CreateObject();
 *   vdsm_eval_judge(ctx, &net, &ds, &judge, &opts, root, &err);
 *   char *md = vdsm_eval_markdown(root);
 */
#ifndef VDSM_EVAL_EVAL_H
#define VDSM_EVAL_EVAL_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "vdsm/data/dataset.h"
#include "vdsm/eval/classifier.h"
#include "vdsm/model/vdsm.h"

struct vdsm_eval_opts {
    int seeds;            /* repetitions (different prior draws, splits, DSA inits), default 3 */
    uint64_t seed;        /* first seed, default 0 */
    int batch;            /* clips per forward pass, default 16 */
    float temp;           /* identity temperature (the spec's model.test_temperature) */
    const struct vdsm_model_variant *model; /* recon's ELBO: the stage's pair (stageN.model); NULL: canonical */
    int dsa_epochs;       /* consistency: DSA classifier epochs, default 60 */
    int dsa_width;        /* consistency: DSA base channels, default 64 */
    FILE *log;            /* progress lines, or NULL */
    const char *export_dir; /* when set, the scored clips are also written there (vdsm_export_*) */
    const char *checkpoint; /* named in the export's JSON */
};

struct vdsm_eval_opts vdsm_eval_defaults(void);

nn_status vdsm_eval_judge(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds, struct vdsm_clf *judge,
                          const struct vdsm_eval_opts *o, cJSON *root, struct nn_err *err);
nn_status vdsm_eval_consistency(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds,
                                const struct vdsm_eval_opts *o, cJSON *root, struct nn_err *err);
/* stage selects the ELBO: 1 the encoder/decoder model and guide, 2 the sequence pair (o->model, or
 * the stage's canonical pair when NULL); store holds
 * the network's parameters (vdsm_net_register). */
nn_status vdsm_eval_recon(nn_ctx *ctx, struct vdsm_net *net, struct ppl_param_store *store,
                          const struct vdsm_dataset *ds, int stage, const struct vdsm_eval_opts *o, cJSON *root,
                          struct nn_err *err);

/* The results as a markdown table (malloc'd; caller frees). */
char *vdsm_eval_markdown(const cJSON *root);

/* ---- shared by the protocols (eval_gen.c) */
enum vdsm_gen_mode {
    VDSM_GEN_RECON,          /* identity and dynamics of the clip itself */
    VDSM_GEN_KEEP_DYNAMICS,  /* dynamics of the clip, identity from the prior */
    VDSM_GEN_KEEP_IDENTITY,  /* identity of the clip, dynamics from the prior */
    VDSM_GEN_TRANSFER,       /* dynamics of clip i, identity of clip perm[i] */
    VDSM_GEN_PRIOR           /* both from the prior (x only gives B and T) */
};
/* The latents generated clips were decoded from (host, row-major; either may be NULL): the
 * identity locs [B, E] (before the temperature and softmax) and the dynamics locs [B, D]. */
struct vdsm_gen_latents {
    float *identity, *dynamics;
};
/* Generates B clips [B, T, C, H, W] into out (host) from real clips x (host, same shape), and
 * their latents into lat (NULL: not wanted). */
nn_status vdsm_eval_generate(nn_ctx *ctx, struct vdsm_net *net, const float *x, size_t b, size_t t,
                             enum vdsm_gen_mode mode, const size_t *perm, float temp, struct nn_rng *rng,
                             float *out, const struct vdsm_gen_latents *lat, struct nn_err *err);
/* ---- the clips a protocol scores, written for outside classifiers (eval_export.c)
 * DIR/<protocol>-seed<S>/ holds, per set of generated clips, <set>_frames.npy (uint8
 * [N, T, H, W, C]), <set>_labels.npy (int32 [N, K]: the labels the clips are scored against, -1
 * where none), <set>_sources.npy (int32 [N, 2]: the test clips that gave the dynamics and the
 * identity, -1 for a prior draw), <set>_identity.npy and <set>_dynamics.npy (float32 [N, E] and
 * [N, D]: the latents each clip was decoded from, vdsm_gen_latents), and export.json (protocol,
 * seed, checkpoint, factors, sets).
 * With o->export_dir NULL every call does nothing. */
struct vdsm_export_set {
    const char *name;        /* file prefix, e.g. "a_keep_dynamics_sample_identity" */
    const char *labels_from; /* what the labels are, for the JSON */
    int scored_kind;         /* heads scored on it: 0 dynamics, 1 identity, 2 both, -1 none */
};
struct vdsm_export {
    bool on;
    char dir[4096];
    const struct vdsm_export_set *sets;
    int n_sets;
    size_t n, t, c, h, w, k, e, d;
    struct vdsm_npy_writer files[8][5]; /* per set: frames, labels, sources, identity, dynamics */
};
nn_status vdsm_export_open(struct vdsm_export *x, const struct vdsm_eval_opts *o, const char *protocol, int seed,
                           const struct vdsm_export_set *sets, int n_sets, const struct vdsm_dataset *ds,
                           const struct vdsm_net *net, size_t n, struct nn_err *err);
/* Appends b clips gen [b, T, C, H, W] in [0, 1] to set `set`, with their labels [b, K] (NULL: -1),
 * the rows of the dataset that gave their dynamics and identity (NULL entries: -1) and the
 * latents they were decoded from (both buffers set). */
nn_status vdsm_export_add(struct vdsm_export *x, int set, const float *gen, size_t b, const int32_t *labels,
                          const size_t *dyn_src, const size_t *id_src, const struct vdsm_gen_latents *lat,
                          struct nn_err *err);
/* Closes every file (renaming them into place) and writes export.json. */
nn_status vdsm_export_close(struct vdsm_export *x, const struct vdsm_eval_opts *o, const char *protocol, int seed,
                            const struct vdsm_dataset *ds, struct nn_err *err);
void vdsm_export_abort(struct vdsm_export *x);

/* JSON {"mean", "std", "min", "max", "values": [...]} of n measurements. */
cJSON *vdsm_eval_spread_json(const double *v, int n);

#endif
