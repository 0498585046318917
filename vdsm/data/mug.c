/* vdsm/data/mug.c: MUG-FED npz -> dataset directory (see mug.h for the preprocessing). */
#include "vdsm/data/mug.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/rng.h"
#include "vdsm/io/npy.h"
#include "vdsm/io/npz.h"
#include "vdsm/io/pickle.h"

struct vdsm_mug_opts vdsm_mug_defaults(void)
{
    return (struct vdsm_mug_opts){.keep_every = 2, .crop = 160, .size = 64, .frames = 15, .remap = 1,
                                  .train_fraction = 0.75, .seed = 1, .max_bytes = (size_t)64 << 30};
}

/* Weights of a triangle filter widened by the scale when shrinking (PIL's antialiased bilinear). */
static void weights(size_t in, size_t out, size_t i, int *lo, int *n, float *w)
{
    double scale = (double)in / (double)out, sup = scale > 1 ? scale : 1, centre = ((double)i + 0.5) * scale;
    int a = (int)floor(centre - sup), b = (int)ceil(centre + sup);
    if (a < 0) a = 0;
    if (b > (int)in) b = (int)in;
    double sum = 0;
    *lo = a, *n = b - a;
    for (int k = 0; k < *n; k++) {
        double d = fabs(((double)(a + k) + 0.5 - centre) / sup);
        w[k] = (float)(d < 1 ? 1 - d : 0);
        sum += w[k];
    }
    for (int k = 0; k < *n; k++) w[k] = sum > 0 ? (float)(w[k] / sum) : 0;
}

void vdsm_mug_crop_resize(const uint8_t *in, size_t h, size_t w, size_t c, size_t crop, size_t size, uint8_t *out)
{
    /* crop coordinates: position p of the crop is input row p - off (black outside the input) */
    long off_y = crop > h ? (long)(crop - h) / 2 : -(long)lround((double)(h - crop) / 2.0);
    long off_x = crop > w ? (long)(crop - w) / 2 : -(long)lround((double)(w - crop) / 2.0);
    float *tmp = calloc(crop * size * c, sizeof *tmp), wt[512];
    if (!tmp) return;
    for (size_t x = 0; x < size; x++) { /* horizontal pass: [crop rows, size, c] */
        int lo, n;
        weights(crop, size, x, &lo, &n, wt);
        for (size_t y = 0; y < crop; y++) {
            long iy = (long)y - off_y;
            if (iy < 0 || iy >= (long)h) continue;
            for (int k = 0; k < n; k++) {
                long ix = lo + k - off_x;
                if (ix < 0 || ix >= (long)w) continue;
                for (size_t ch = 0; ch < c; ch++)
                    tmp[(y * size + x) * c + ch] += wt[k] * in[((size_t)iy * w + (size_t)ix) * c + ch];
            }
        }
    }
    for (size_t y = 0; y < size; y++) { /* vertical pass */
        int lo, n;
        weights(crop, size, y, &lo, &n, wt);
        for (size_t x = 0; x < size * c; x++) {
            float acc = 0;
            for (int k = 0; k < n; k++) acc += wt[k] * tmp[(size_t)(lo + k) * size * c + x];
            long v = lroundf(acc);
            out[y * size * c + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(tmp);
}

/* Expression after the original preprocessing, or -1 when dropped. */
static int remap_expression(int ex, int remap)
{
    if (!remap) return ex;
    if (ex == 2 || ex == 5 || ex == 6) return -1;
    return ex == 8 ? 5 : ex == 7 ? 2 : ex;
}

static nn_status read_labels(const char *path, size_t max_bytes, int64_t **out, size_t *n, struct nn_err *e)
{
    void *buf;
    size_t len;
    struct vdsm_npy_array a;
    if (vdsm_npz_read_member(path, "arr_0", max_bytes, &buf, &len, e)) return e->code;
    nn_status s = vdsm_npy_load_mem(buf, len, path, 0, &a, e);
    free(buf);
    if (s) return s;
    if (a.h.ndim != 2 || a.h.shape[1] != 2 || (a.h.dtype != VDSM_DT_I64 && a.h.dtype != VDSM_DT_I32)) {
        vdsm_npy_array_free(&a);
        return nn_err_set(e, NN_SHAPE, "%s: arr_0 must be int32/int64 [N, 2] (identity, expression)", path);
    }
    *n = a.h.shape[0];
    *out = malloc(*n * 2 * sizeof **out + 1);
    for (size_t i = 0; *out && i < *n * 2; i++)
        (*out)[i] = a.h.dtype == VDSM_DT_I64 ? ((int64_t *)a.data)[i] : ((int32_t *)a.data)[i];
    vdsm_npy_array_free(&a);
    return *out ? NN_OK : nn_err_set(e, NN_OOM, "%s: out of memory", path);
}

struct plan {
    uint32_t *seqs;   /* arr_0 indices in output order (train first) */
    size_t n, n_train, too_short, dropped;
    int n_ids;
};

static nn_status make_plan(const struct vdsm_pickle_objarray *oa, const int64_t *lab, const struct vdsm_mug_opts *o,
                           const char *npz, struct plan *p, struct nn_err *e)
{
    memset(p, 0, sizeof *p);
    p->seqs = malloc(oa->count * sizeof *p->seqs + 1);
    if (!p->seqs) return nn_err_set(e, NN_OOM, "mug: out of memory");
    for (size_t i = 0; i < oa->count; i++) {
        const struct vdsm_pickle_item *it = &oa->items[i];
        if (it->dtype != VDSM_DT_U8 || it->ndim != 4 || it->shape[3] != 3 || it->shape[1] != it->shape[2])
            return nn_err_set(e, NN_SHAPE, "%s: sequence %zu must be uint8 [len, S, S, 3]", npz, i);
        if (it->shape[1] != oa->items[0].shape[1])
            return nn_err_set(e, NN_SHAPE, "%s: sequence %zu has frames of %zu px, sequence 0 of %zu", npz, i,
                              it->shape[1], oa->items[0].shape[1]);
        if (lab[2 * i] < 0 || lab[2 * i] > 100000 || lab[2 * i + 1] < 0 || lab[2 * i + 1] > 8)
            return nn_err_set(e, NN_PARSE, "mug labels: row %zu = (%lld, %lld) out of range", i,
                              (long long)lab[2 * i], (long long)lab[2 * i + 1]);
        if (remap_expression((int)lab[2 * i + 1], o->remap) < 0) {
            p->dropped++;
            continue;
        }
        if ((it->shape[0] + o->keep_every - 1) / o->keep_every < o->frames) {
            p->too_short++;
            continue;
        }
        if (lab[2 * i] + 1 > p->n_ids) p->n_ids = (int)lab[2 * i] + 1;
        p->seqs[p->n++] = (uint32_t)i;
    }
    if (!p->n) return nn_err_set(e, NN_INVALID, "%s: no sequence left after dropping expressions and short videos", npz);
    struct vdsm_rng r;
    vdsm_rng_seed(&r, o->seed, 0x3a6);
    vdsm_rng_shuffle(&r, p->seqs, p->n);
    p->n_train = (size_t)llround(o->train_fraction * (double)p->n);
    return NN_OK;
}

static nn_status make_meta(const struct vdsm_mug_opts *o, const struct plan *p, struct vdsm_meta *m, struct nn_err *e)
{
    static const char *const remapped[6] = {"e0", "e1", "e7", "e3", "e4", "e8"};
    static const char *const all[9] = {"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"};
    vdsm_meta_init(m, "mug");
    if (vdsm_meta_add_factor(m, "identity", 1, p->n_ids, NULL, e) ||
        vdsm_meta_add_factor(m, "expression", 0, o->remap ? 6 : 9, o->remap ? remapped : all, e))
        return e->code;
    m->train[0] = 0, m->train[1] = p->n_train, m->test[0] = p->n_train, m->test[1] = p->n;
    m->seed = o->seed;
    vdsm_meta_set_param(m, "keep_every", "%zu", o->keep_every);
    vdsm_meta_set_param(m, "crop", "%zu", o->crop);
    vdsm_meta_set_param(m, "size", "%zu", o->size);
    vdsm_meta_set_param(m, "frames", "%zu (first frames after subsampling)", o->frames);
    vdsm_meta_set_param(m, "expressions", "%s", o->remap ? "dropped 2 5 6; 8->5, 7->2 (class names give the originals)" : "as given");
    vdsm_meta_set_param(m, "dropped_expression", "%zu", p->dropped);
    vdsm_meta_set_param(m, "dropped_too_short", "%zu", p->too_short);
    vdsm_meta_set_param(m, "train_fraction", "%g", o->train_fraction);
    return NN_OK;
}

static void convert_seq(const struct vdsm_pickle_item *it, const struct vdsm_mug_opts *o, size_t crop, size_t size,
                        uint8_t *out)
{
    size_t side = it->shape[1], fb = side * side * 3;
    for (size_t t = 0; t < o->frames; t++)
        vdsm_mug_crop_resize(it->data + t * o->keep_every * fb, side, side, 3, crop, size, out + t * size * size * 3);
}

static nn_status write_all(const struct vdsm_pickle_objarray *oa, const int64_t *lab, const struct vdsm_mug_opts *o,
                           const struct plan *p, const char *out_dir, struct vdsm_meta *m, struct nn_err *e)
{
    size_t side = oa->items[0].shape[1], crop = o->crop ? o->crop : side, size = o->size ? o->size : crop;
    if (crop > 1024 || size < 1 || crop / size > 200)
        return nn_err_set(e, NN_INVALID, "mug: crop must be <= 1024 and at most 200x the output size");
    size_t shape[5] = {p->n, o->frames, size, size, 3}, seq_bytes = o->frames * size * size * 3, chunk = 64;
    uint8_t *frames = malloc(chunk * seq_bytes);
    int32_t labels[64 * 2];
    struct vdsm_dataset_writer w;
    if (!frames) return nn_err_set(e, NN_OOM, "mug: out of memory");
    if (vdsm_dataset_writer_open(&w, out_dir, shape, 2, e)) {
        free(frames);
        return e->code;
    }
    for (size_t i = 0; i < p->n && !e->code; i += chunk) {
        size_t n = p->n - i < chunk ? p->n - i : chunk;
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t j = 0; j < n; j++) convert_seq(&oa->items[p->seqs[i + j]], o, crop, size, frames + j * seq_bytes);
        for (size_t j = 0; j < n; j++) {
            labels[2 * j] = (int32_t)lab[2 * p->seqs[i + j]];
            labels[2 * j + 1] = remap_expression((int)lab[2 * p->seqs[i + j] + 1], o->remap);
        }
        vdsm_dataset_writer_add(&w, frames, labels, n, e);
    }
    if (e->code)
        vdsm_dataset_writer_abort(&w);
    else
        vdsm_dataset_writer_close(&w, m, e);
    free(frames);
    return e->code;
}

nn_status vdsm_mug_convert(const char *frames_npz, const char *labels_npz, const char *out_dir,
                           const struct vdsm_mug_opts *o, struct nn_err *e)
{
    if (o->keep_every < 1 || o->frames < 1 || !(o->train_fraction >= 0 && o->train_fraction <= 1))
        return nn_err_set(e, NN_INVALID, "mug: need keep_every >= 1, frames >= 1, 0 <= train_fraction <= 1");
    int64_t *lab = NULL;
    size_t n_lab = 0, len = 0;
    void *buf = NULL;
    struct vdsm_npy_header h;
    struct vdsm_pickle_objarray oa = {0};
    struct plan p = {0};
    struct vdsm_meta m = {0};
    if (read_labels(labels_npz, o->max_bytes, &lab, &n_lab, e) ||
        vdsm_npz_read_member(frames_npz, "arr_0", o->max_bytes, &buf, &len, e) ||
        vdsm_npy_parse_header(buf, len, frames_npz, VDSM_NPY_ALLOW_OBJECT, &h, e))
        goto out;
    if (h.dtype != VDSM_DT_OBJECT) {
        nn_err_set(e, NN_DTYPE, "%s: arr_0 must be an object array of videos", frames_npz);
        goto out;
    }
    /* the pickle is used in place: item data points into buf, which lives until the end */
    if (vdsm_pickle_load_objarray((const char *)buf + h.data_offset, len - h.data_offset, frames_npz, &oa, e)) goto out;
    if (oa.count != n_lab) {
        nn_err_set(e, NN_SHAPE, "%s has %zu sequences but %s has %zu labels", frames_npz, oa.count, labels_npz, n_lab);
        goto out;
    }
    if (!make_plan(&oa, lab, o, frames_npz, &p, e) && !make_meta(o, &p, &m, e)) write_all(&oa, lab, o, &p, out_dir, &m, e);
out:
    vdsm_meta_free(&m);
    free(p.seqs);
    vdsm_pickle_objarray_free(&oa);
    free(buf);
    free(lab);
    return e->code;
}
