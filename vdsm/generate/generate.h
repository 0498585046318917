/* vdsm/generate/generate.h: the pictures a trained run makes (vdsm generate RUN).
 *
 * From the run's newest checkpoint and the first N clips of its dataset's test split, or the
 * test clips named by opts->clips (T frames each, from frame 0), with mixture weights softmax(identity * model.test_temperature):
 *
 *   recon              real clips above their reconstructions: stage 1 (the encoder's pose z
 *                      and identity, decoded) and, once stage 2 trained, the sequence network's
 *                      (dynamics from the clip, z rolled out by the guide's decoder LSTM)
 *   swap               identity swap: row r is clip r's poses decoded with column c's identity
 *   prior              (stage 2) sequences from the prior: identity and dynamics from their
 *                      priors, z0 ~ N(0, 1), z rolled out by the gated transition
 *   action_transfer    (stage 2) clip i's dynamics, rolled out, with clip i+1's identity
 *   identity_transfer  clip i's identity over clip i+1's encoded poses
 *
 * each as <name>.png (a labelled grid) and <name>.gif (the same table animated), plus
 * generate.json (what was drawn: checkpoint, clips, frames, seed, temperature, files). The same
 * run, options and seed give the same bytes. Every file is written under a temporary name and
 * the set renamed into place only when all of them were written, so a failure leaves the
 * previous outputs as they were. docs/outputs.md describes each output.
 *
 * Errors: status + message naming the run, the dataset or the file.
 *
 *   struct vdsm_generate_opts o = {.n = 4};
 *   struct vdsm_generate_info info;
 *   if (vdsm_generate("runs/quick", &o, &info, &err)) fprintf(stderr, "%s\n", err.msg);
 */
#ifndef VDSM_GENERATE_GENERATE_H
#define VDSM_GENERATE_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/status.h"

#define VDSM_GENERATE_MAX_FILES 16

struct vdsm_generate_opts {
    const char *out_dir;   /* NULL: RUN/images */
    const char *data_dir;  /* NULL: the spec's dataset.path */
    int n;                 /* clips / samples; 0: output.num_test_ids (capped by the test split) */
    const long *clips;     /* n_clips dataset sequence indices, each in the test split, shown in */
    int n_clips;           /* this order instead of the first n (n must be 0 or n_clips) */
    int frames;            /* T; 0: the longest training window, at least 16, at most the dataset's */
    bool has_seed;         /* false: runtime.seed */
    uint64_t seed;
    double temperature;    /* > 0 overrides model.test_temperature */
    int delay_cs;          /* GIF frame delay; 0: 20 (5 frames per second) */
};

struct vdsm_generate_info {
    char out_dir[4096];
    int stage;             /* of the checkpoint used */
    long epoch;
    int n, frames;
    uint64_t seed;
    double temperature;
    int nfiles;
    char files[VDSM_GENERATE_MAX_FILES][64];  /* names written into out_dir */
    char notes[2048];      /* checkpoints skipped as damaged or unusable (vdsm_ckpt_choose) */
};

nn_status vdsm_generate(const char *run_dir, const struct vdsm_generate_opts *opts, struct vdsm_generate_info *info,
                        struct nn_err *err);

#endif
