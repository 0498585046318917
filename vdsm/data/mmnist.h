/* vdsm/data/mmnist.h: Moving MNIST (Srivastava et al. 2015): D digits of 28x28 bounce inside a
 * 64x64 frame and are composited with max, as the standard generator does.
 *
 * Per digit: a random MNIST image, a start position uniform over the 36x36 range of top-left
 * corners, a direction class (8 compass sectors of 45 degrees, angle uniform inside the sector)
 * and a speed class (slow 0.05, standard 0.10, fast 0.15 of the range per frame; the standard
 * generator uses 0.10 only). Each frame the position moves by one step and, on reaching an edge,
 * is clamped and the velocity component flips (the standard generator's bounce). Labels, per
 * digit d: digit_d (identity), direction_d and speed_d (dynamics). Frames are grey, C = 1.
 * The first 90% of sequences are train; each sequence has its own random stream.
 *
 * Ownership: callers own all buffers. Errors: status + message.
 *
 *   struct vdsm_mmnist_opts o = vdsm_mmnist_defaults();
 *   vdsm_mmnist_generate("data/mmnist", &mnist, &o, &e);
 */
#ifndef VDSM_DATA_MMNIST_H
#define VDSM_DATA_MMNIST_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/data/meta.h"
#include "vdsm/data/mnist.h"

#define VDSM_MMNIST_SIZE 64
#define VDSM_MMNIST_RANGE (VDSM_MMNIST_SIZE - VDSM_MNIST_SIDE) /* 36: top-left positions 0..36 */
#define VDSM_MMNIST_MAX_DIGITS 8

struct vdsm_mmnist_opts {
    size_t sequences; /* default 10000 */
    size_t frames;    /* default 20 */
    int digits;       /* default 2, 1..8 */
    uint64_t seed;    /* default 1 */
};

struct vdsm_mmnist_opts vdsm_mmnist_defaults(void);

/* The random choices of sequence idx: for each digit, its MNIST index, direction and speed class,
 * and its top-left corner in every frame, pos [frames, digits, 2] as (x, y) in [0, 36]. */
void vdsm_mmnist_trajectory(const struct vdsm_mmnist_opts *o, size_t n_mnist, size_t idx, double *pos,
                            size_t *digit_index, int32_t *direction, int32_t *speed);
/* Renders sequences [first, first + count): frames [count, T, 64, 64, 1], labels [count, 3 * digits]. */
nn_status vdsm_mmnist_render(const struct vdsm_mnist *m, const struct vdsm_mmnist_opts *o, size_t first, size_t count,
                             uint8_t *frames, int32_t *labels, struct nn_err *e);
nn_status vdsm_mmnist_meta(const struct vdsm_mmnist_opts *o, const struct vdsm_mnist *m, struct vdsm_meta *meta,
                           struct nn_err *e);
nn_status vdsm_mmnist_generate(const char *dir, const struct vdsm_mnist *m, const struct vdsm_mmnist_opts *o,
                               struct nn_err *e);

#endif
