/* vdsm/data/meta.h: meta.yaml, the description that travels with frames.npy and labels.npy.
 *
 * It names the generator, the array shape, each label column (a "factor": its name, whether it is
 * an identity factor, constant over a character, or a dynamics factor, and its class names), the
 * split and the generator's parameters and seed. The split is two half-open ranges of sequence
 * indices, `train: [0, n_train]` and `test: [n_train, N]`: every generator writes its training
 * sequences first, so a split is a slice of the memory-mapped array. docs/data.md shows a file.
 *
 * Ownership: vdsm_meta owns its strings; vdsm_meta_free releases them. Errors: status + message
 * naming the file and, for YAML problems, the line.
 *
 *   struct vdsm_meta m;
 *   vdsm_meta_init(&m, "pendulum");
 *   vdsm_meta_add_factor(&m, "bob_colour", 1, 6, colour_names, &e);
 *   vdsm_meta_set_param(&m, "frames", "%d", 60);
 *   vdsm_meta_write("out/meta.yaml", &m, &e);
 *   vdsm_meta_free(&m);
 */
#ifndef VDSM_DATA_META_H
#define VDSM_DATA_META_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

struct vdsm_factor {
    char *name;
    int identity;   /* 1: fixed per character/object (pair mode groups on these), 0: dynamics */
    int n_classes;
    char **classes; /* [n_classes] */
};

struct vdsm_meta {
    char *name;                  /* pendulum, mmnist, sprites-dsa, sprites-lm, mug */
    size_t shape[5];             /* N, T, H, W, C of frames.npy */
    int n_factors;               /* K, the columns of labels.npy */
    struct vdsm_factor *factors; /* [K] */
    size_t train[2], test[2];    /* half-open ranges of sequence indices */
    uint64_t seed;
    int n_params;
    char **param_keys, **param_vals; /* [n_params], generator parameters as text */
};

void vdsm_meta_init(struct vdsm_meta *m, const char *name);
void vdsm_meta_free(struct vdsm_meta *m);
nn_status vdsm_meta_add_factor(struct vdsm_meta *m, const char *name, int identity, int n_classes,
                               const char *const *classes, struct nn_err *e);
void vdsm_meta_set_param(struct vdsm_meta *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *vdsm_meta_param(const struct vdsm_meta *m, const char *key); /* NULL if absent */
int vdsm_meta_factor_index(const struct vdsm_meta *m, const char *name); /* -1 if absent */

nn_status vdsm_meta_write(const char *path, const struct vdsm_meta *m, struct nn_err *e);
nn_status vdsm_meta_read(const char *path, struct vdsm_meta *m, struct nn_err *e);

#endif
