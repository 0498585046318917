/* vdsm/spec/spec.h: experiment specs: YAML files validated against a schema into a typed struct.
 *
 * A spec names the dataset, the model sizes, both training stages (with their annealing
 * schedules), the runtime and the outputs. Loading reads the file, follows `extends:` (a path
 * relative to the spec's folder; recursive, cycles refused) deep-merging each child over its
 * base, applies `--set key.path=value` overrides (values read as YAML, so lists and schedules work
 * too), and validates: an unknown key, a wrong type or an out-of-range value is an error naming
 * "file:line:col: key.path: what", and nothing is returned. Keys left out take the schema's
 * defaults. The schema table (schema.c) is the single source of the keys, their types, ranges,
 * defaults and docs; docs/specs.md is generated from it (vdsm_spec_doc_markdown; a test keeps it
 * current).
 *
 * The resolved spec can be written back as YAML (every key, schema order, canonical number
 * format) and hashed (FNV-1a 64 of that text), so a checkpoint can tell which spec made it.
 *
 * Ownership: vdsm_spec_load fills a caller-owned struct; vdsm_spec_free releases its strings and
 * schedules. Errors: status + message in err.
 *
 *   struct vdsm_spec spec;
 *   const char *sets[] = {"model.n_e_w=20"};
 *   if (vdsm_spec_load("specs/quick.yaml", sets, 1, &spec, &err)) { fputs(err.msg, stderr); ... }
 *   printf("%d experts, hash %016llx\n", spec.model.n_e_w, (unsigned long long)vdsm_spec_hash(&spec));
 *   vdsm_spec_free(&spec);
 */
#ifndef VDSM_SPEC_SPEC_H
#define VDSM_SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/status.h"
#include "vdsm/schedule/anneal.h"
#include "vdsm/schedule/schedule.h"

#define VDSM_SPEC_MAX_EXTENDS 16

enum vdsm_dataset_name { VDSM_DATA_PENDULUM, VDSM_DATA_MMNIST, VDSM_DATA_SPRITES, VDSM_DATA_MUG };
enum vdsm_split_name { VDSM_SPEC_SPLIT_TRAIN, VDSM_SPEC_SPLIT_TEST, VDSM_SPEC_SPLIT_ALL };
enum vdsm_likelihood { VDSM_LIK_BERNOULLI, VDSM_LIK_CONT_BERNOULLI, VDSM_LIK_NORMAL, VDSM_LIK_BERNOULLI_CLAMPED };
/* the original's model leaves z_{i,0} outside the pose-KL scale while its guide puts it inside */
enum vdsm_first_pose { VDSM_FIRST_POSE_CONSISTENT, VDSM_FIRST_POSE_ORIGINAL };
enum vdsm_decoder_init { VDSM_DEC_INIT_ORIGINAL, VDSM_DEC_INIT_PER_EXPERT };
enum vdsm_optimizer { VDSM_OPT_ADAM, VDSM_OPT_CLIPPED_ADAM };
enum vdsm_elbo { VDSM_ELBO_TRACE, VDSM_ELBO_MEAN_FIELD };
enum { VDSM_STAGE_ENCDEC = 1, VDSM_STAGE_SEQ = 2 }; /* bits of vdsm_spec.stages */

struct vdsm_spec_dataset {
    int name;            /* enum vdsm_dataset_name */
    char *path;          /* dataset directory (vdsm/data on-disk form) */
    int split;           /* enum vdsm_split_name: the split trained on */
    int image_size;      /* H = W */
    int channels;        /* C */
};

struct vdsm_spec_model {
    int z_dim;           /* Z, per-frame pose latent */
    int n_e_w;           /* E, experts = identity dimensions */
    int dynamics_dim;    /* D */
    int lstm_layers, lstm_hidden;
    double lstm_dropout;
    double encoder_leaky_slope;  /* 1.0 = the original's nn.LeakyReLU(True), i.e. identity */
    double leaky_slope;          /* every other LeakyReLU (torch default 0.01) */
    int likelihood;      /* enum vdsm_likelihood */
    double normal_scale; /* observation std for the normal likelihood */
    double min_scale;    /* added to every scale a network produces (0: the original) */
    double conv_width;   /* multiplies the encoder's and decoder's conv channels (1: the original) */
    int first_pose_scale;/* enum vdsm_first_pose */
    int decoder_init;    /* enum vdsm_decoder_init */
    double test_temperature;
};

/* one schedule per annealed quantity (vdsm/schedule/anneal.h), by name (.pose_kl) or index (.at[q]) */
struct vdsm_spec_schedules {
    union {
        struct {
#define VDSM_X(id, field, key, ...) struct vdsm_schedule key;
            VDSM_ANNEALED(VDSM_X)
#undef VDSM_X
        };
        struct vdsm_schedule at[VDSM_SCHED_COUNT];
    };
};

struct vdsm_model_variant; /* vdsm/model/registry.h */

struct vdsm_spec_stage {
    const struct vdsm_model_variant *model;  /* the registry's row: model/guide pair of the stage */
    int epochs, batches_per_epoch, batch_size;
    int seq_len;         /* frames per window (per clip in pair mode) */
    bool pair, flip;
    double lr, lrd, clip, lr_resume;
    int optimizer;       /* enum vdsm_optimizer */
    int elbo;            /* enum vdsm_elbo */
    int num_particles;
    struct vdsm_spec_schedules schedules;
};

struct vdsm_spec_runtime {
    int seed;
    char *device;        /* "cpu", "cuda" or "cuda:N" */
    int precision;       /* enum nn_precision: fp32, tf32 (CUDA), bf16 */
    int threads;         /* 0 = all cores */
    int step_memory_mb, header_memory_mb, scratch_mb;
    int checkpoint_every, keep_last;
    int nan_retries;
    double nan_lr_factor;
};

struct vdsm_spec_output {
    char *run_dir;       /* "" = runs/<name> */
    int grids_every, gifs_every;  /* epochs; 0 = only at the end */
    int num_test_ids;
};

struct vdsm_spec {
    char *name, *description;
    unsigned stages;     /* VDSM_STAGE_* bits */
    struct vdsm_spec_dataset dataset;
    struct vdsm_spec_model model;
    struct vdsm_spec_stage stage1, stage2;
    struct vdsm_spec_runtime runtime;
    struct vdsm_spec_output output;
    char *source;        /* the file it was loaded from */
};

/* sets: "key.path=value" strings (may be NULL when nsets is 0). */
nn_status vdsm_spec_load(const char *path, const char *const *sets, int nsets, struct vdsm_spec *spec,
                         struct nn_err *err);
/* The same from text (name is used in messages; extends is resolved against base_dir). */
nn_status vdsm_spec_load_mem(const char *text, size_t len, const char *name, const char *base_dir,
                             const char *const *sets, int nsets, struct vdsm_spec *spec,
                             struct nn_err *err);
void vdsm_spec_free(struct vdsm_spec *spec);

/* Overrides given as parsed YAML nodes (vdsm/spec/tree.h), e.g. the values of a sweep file:
 * validation errors in them name their own file:line:col. key is a dotted path as in --set. */
struct vdsm_node;
struct vdsm_spec_override {
    const char *key;
    const struct vdsm_node *value;
    int kline, kcol;  /* where the key was written, for "unknown key" (0: the value's own key position) */
};
nn_status vdsm_spec_load_over(const char *path, const struct vdsm_spec_override *ov, int nov, struct vdsm_spec *spec,
                              struct nn_err *err);

/* Resolved spec as YAML, every key in schema order. */
nn_status vdsm_spec_write(const struct vdsm_spec *spec, FILE *f, struct nn_err *err);
/* The same into a malloc'd string (caller frees); NULL on OOM. */
char *vdsm_spec_to_yaml(const struct vdsm_spec *spec);
uint64_t vdsm_spec_hash(const struct vdsm_spec *spec);

/* docs/specs.md, generated from the schema table; malloc'd, caller frees. */
char *vdsm_spec_doc_markdown(void);

#endif
