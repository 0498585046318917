/* vdsm/data/mmnist.c: the Moving MNIST generator (see mmnist.h for the motion model). */
#include "vdsm/data/mmnist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/rng.h"

#define S VDSM_MMNIST_SIZE
#define SIDE VDSM_MNIST_SIDE
static const double speeds[3] = {0.05, 0.10, 0.15};

struct vdsm_mmnist_opts vdsm_mmnist_defaults(void)
{
    return (struct vdsm_mmnist_opts){.sequences = 10000, .frames = 20, .digits = 2, .seed = 1};
}

void vdsm_mmnist_trajectory(const struct vdsm_mmnist_opts *o, size_t n_mnist, size_t idx, double *pos,
                            size_t *digit_index, int32_t *direction, int32_t *speed)
{
    struct vdsm_rng r;
    vdsm_rng_seed(&r, o->seed, idx);
    int D = o->digits;
    for (int d = 0; d < D; d++) {
        digit_index[d] = vdsm_rng_below(&r, (uint32_t)n_mnist);
        direction[d] = (int32_t)vdsm_rng_below(&r, 8);
        speed[d] = (int32_t)vdsm_rng_below(&r, 3);
        double theta = (direction[d] + vdsm_rng_uniform(&r) - 0.5) * (M_PI / 4);
        double x = vdsm_rng_uniform(&r), y = vdsm_rng_uniform(&r);
        /* direction 0 = east, 2 = north (image y grows downwards) */
        double vx = cos(theta) * speeds[speed[d]], vy = -sin(theta) * speeds[speed[d]];
        for (size_t t = 0; t < o->frames; t++) {
            pos[(t * (size_t)D + (size_t)d) * 2] = x * VDSM_MMNIST_RANGE;
            pos[(t * (size_t)D + (size_t)d) * 2 + 1] = y * VDSM_MMNIST_RANGE;
            x += vx, y += vy;
            if (x <= 0) x = 0, vx = -vx;
            if (x >= 1) x = 1, vx = -vx;
            if (y <= 0) y = 0, vy = -vy;
            if (y >= 1) y = 1, vy = -vy;
        }
    }
}

static void render_one(const struct vdsm_mnist *m, const struct vdsm_mmnist_opts *o, size_t idx, uint8_t *frames,
                       int32_t *labels, double *pos)
{
    size_t di[VDSM_MMNIST_MAX_DIGITS];
    int32_t dir[VDSM_MMNIST_MAX_DIGITS], spd[VDSM_MMNIST_MAX_DIGITS];
    int D = o->digits;
    vdsm_mmnist_trajectory(o, m->count, idx, pos, di, dir, spd);
    memset(frames, 0, o->frames * S * S);
    for (size_t t = 0; t < o->frames; t++) {
        uint8_t *f = frames + t * S * S;
        for (int d = 0; d < D; d++) {
            int x0 = (int)lrint(pos[(t * (size_t)D + (size_t)d) * 2]), y0 = (int)lrint(pos[(t * (size_t)D + (size_t)d) * 2 + 1]);
            const uint8_t *img = m->images + di[d] * SIDE * SIDE;
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++) {
                    uint8_t *p = f + (size_t)(y0 + y) * S + (size_t)(x0 + x);
                    uint8_t v = img[y * SIDE + x];
                    if (v > *p) *p = v;
                }
        }
    }
    for (int d = 0; d < D; d++) {
        labels[3 * d] = m->labels[di[d]];
        labels[3 * d + 1] = dir[d];
        labels[3 * d + 2] = spd[d];
    }
}

nn_status vdsm_mmnist_render(const struct vdsm_mnist *m, const struct vdsm_mmnist_opts *o, size_t first, size_t count,
                             uint8_t *frames, int32_t *labels, struct nn_err *e)
{
    if (o->digits < 1 || o->digits > VDSM_MMNIST_MAX_DIGITS || !m->count)
        return nn_err_set(e, NN_INVALID, "mmnist: need 1..%d digits and a non-empty MNIST set", VDSM_MMNIST_MAX_DIGITS);
    int oom = 0;
#pragma omp parallel
    {
        double *pos = malloc(o->frames * (size_t)o->digits * 2 * sizeof *pos);
        if (!pos) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 8)
        for (size_t i = 0; i < count; i++)
            if (pos) render_one(m, o, first + i, frames + i * o->frames * S * S, labels + i * 3 * (size_t)o->digits, pos);
        free(pos);
    }
    return oom ? nn_err_set(e, NN_OOM, "mmnist: out of memory") : NN_OK;
}

nn_status vdsm_mmnist_meta(const struct vdsm_mmnist_opts *o, const struct vdsm_mnist *m, struct vdsm_meta *meta,
                           struct nn_err *e)
{
    static const char *const digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    static const char *const dirs[8] = {"E", "NE", "N", "NW", "W", "SW", "S", "SE"};
    static const char *const spd[3] = {"slow", "standard", "fast"};
    vdsm_meta_init(meta, "mmnist");
    for (int d = 0; d < o->digits; d++) {
        char name[32];
        snprintf(name, sizeof name, "digit_%d", d);
        if (vdsm_meta_add_factor(meta, name, 1, 10, digits, e)) return e->code;
        snprintf(name, sizeof name, "direction_%d", d);
        if (vdsm_meta_add_factor(meta, name, 0, 8, dirs, e)) return e->code;
        snprintf(name, sizeof name, "speed_%d", d);
        if (vdsm_meta_add_factor(meta, name, 0, 3, spd, e)) return e->code;
    }
    size_t n_train = o->sequences - o->sequences / 10;
    meta->train[0] = 0, meta->train[1] = n_train, meta->test[0] = n_train, meta->test[1] = o->sequences;
    meta->seed = o->seed;
    vdsm_meta_set_param(meta, "sequences", "%zu", o->sequences);
    vdsm_meta_set_param(meta, "frames", "%zu", o->frames);
    vdsm_meta_set_param(meta, "digits", "%d", o->digits);
    vdsm_meta_set_param(meta, "mnist_source", "%s (%zu digits)", m->source, m->count);
    vdsm_meta_set_param(meta, "speeds", "0.05 0.10 0.15 of the 36-pixel range per frame");
    vdsm_meta_set_param(meta, "composite", "max");
    return NN_OK;
}

nn_status vdsm_mmnist_generate(const char *dir, const struct vdsm_mnist *m, const struct vdsm_mmnist_opts *o,
                               struct nn_err *e)
{
    if (o->sequences < 1 || o->frames < 1 || o->frames > 100000 || o->digits < 1 || o->digits > VDSM_MMNIST_MAX_DIGITS)
        return nn_err_set(e, NN_INVALID, "mmnist: need sequences >= 1, 1 <= frames <= 100000, 1 <= digits <= 8");
    const size_t chunk = 512, K = 3 * (size_t)o->digits;
    size_t shape[5] = {o->sequences, o->frames, S, S, 1};
    uint8_t *frames = malloc(chunk * o->frames * S * S);
    int32_t *labels = malloc(chunk * K * sizeof *labels);
    struct vdsm_meta meta = {0};
    struct vdsm_dataset_writer w;
    if (!frames || !labels)
        nn_err_set(e, NN_OOM, "mmnist: out of memory");
    else if (!vdsm_mmnist_meta(o, m, &meta, e) && !vdsm_dataset_writer_open(&w, dir, shape, K, e)) {
        for (size_t i = 0; i < o->sequences && !e->code; i += chunk) {
            size_t n = o->sequences - i < chunk ? o->sequences - i : chunk;
            if (!vdsm_mmnist_render(m, o, i, n, frames, labels, e)) vdsm_dataset_writer_add(&w, frames, labels, n, e);
        }
        if (e->code)
            vdsm_dataset_writer_abort(&w);
        else
            vdsm_dataset_writer_close(&w, &meta, e);
    }
    vdsm_meta_free(&meta);
    free(frames);
    free(labels);
    return e->code;
}
