/* vdsm/data/dataset.c: opening, checking, summarising and writing dataset directories. */
#include "vdsm/data/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

nn_status vdsm_mkdirs(const char *dir, struct nn_err *e)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) return nn_err_set(e, NN_INVALID, "output directory name is empty or too long");
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return nn_err_set(e, NN_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return nn_err_set(e, NN_IO, "%s: not a directory", dir);
    return NN_OK;
}

bool vdsm_path_join(char *out, size_t cap, const char *dir, const char *file)
{
    int w = snprintf(out, cap, "%s/%s", dir, file);
    return w >= 0 && (size_t)w < cap;
}

static nn_status check_labels(struct vdsm_dataset *ds, const char *lpath, struct nn_err *e)
{
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->k; j++) {
            int32_t v = ds->labels[i * ds->k + j];
            if (v < 0 || v >= ds->meta.factors[j].n_classes)
                return nn_err_set(e, NN_PARSE, "%s: label [%zu, %zu] = %d is outside factor '%s' (%d classes)",
                                  lpath, i, j, v, ds->meta.factors[j].name, ds->meta.factors[j].n_classes);
        }
    return NN_OK;
}

static nn_status check(struct vdsm_dataset *ds, const char *fpath, const char *lpath, const char *mpath,
                       struct nn_err *e)
{
    const struct vdsm_npy_header *fh = &ds->frames.h, *lh = &ds->labels_arr.h;
    if (fh->dtype != VDSM_DT_U8 || fh->ndim != 5)
        return nn_err_set(e, NN_SHAPE, "%s: frames must be uint8 [N, T, H, W, C], found %s with %d dims", fpath,
                          vdsm_dtype_descr(fh->dtype), fh->ndim);
    if (lh->dtype != VDSM_DT_I32 || lh->ndim != 2 || lh->shape[0] != fh->shape[0])
        return nn_err_set(e, NN_SHAPE, "%s: labels must be int32 [N=%zu, K], found %s with %d dims", lpath,
                          fh->shape[0], vdsm_dtype_descr(lh->dtype), lh->ndim);
    ds->n = fh->shape[0], ds->t = fh->shape[1], ds->h = fh->shape[2], ds->w = fh->shape[3], ds->c = fh->shape[4];
    ds->k = lh->shape[1];
    ds->seq_bytes = ds->t * ds->h * ds->w * ds->c;
    if ((size_t)ds->meta.n_factors != ds->k)
        return nn_err_set(e, NN_SHAPE, "%s: lists %d factors but %s has %zu columns", mpath, ds->meta.n_factors,
                          lpath, ds->k);
    for (int i = 0; i < 5; i++)
        if (ds->meta.shape[i] != fh->shape[i])
            return nn_err_set(e, NN_SHAPE, "%s: shape entry %d is %zu but %s has %zu", mpath, i, ds->meta.shape[i],
                              fpath, fh->shape[i]);
    if (ds->c != 1 && ds->c != 3)
        return nn_err_set(e, NN_SHAPE, "%s: C must be 1 or 3, found %zu", fpath, ds->c);
    return check_labels(ds, lpath, e);
}

nn_status vdsm_dataset_open(const char *dir, struct vdsm_dataset *ds, struct nn_err *e)
{
    char fpath[4096], lpath[4096], mpath[4096];
    memset(ds, 0, sizeof *ds);
    vdsm_path_join(fpath, sizeof fpath, dir, "frames.npy");
    vdsm_path_join(lpath, sizeof lpath, dir, "labels.npy");
    vdsm_path_join(mpath, sizeof mpath, dir, "meta.yaml");
    if (vdsm_meta_read(mpath, &ds->meta, e) || vdsm_npy_map_open(fpath, &ds->frames, e) ||
        vdsm_npy_load(lpath, &ds->labels_arr, e)) {
        vdsm_dataset_close(ds);
        return e->code;
    }
    ds->labels = ds->labels_arr.data;
    if (check(ds, fpath, lpath, mpath, e)) vdsm_dataset_close(ds);
    return e->code;
}

void vdsm_dataset_close(struct vdsm_dataset *ds)
{
    vdsm_npy_map_close(&ds->frames);
    vdsm_npy_array_free(&ds->labels_arr);
    vdsm_meta_free(&ds->meta);
    memset(ds, 0, sizeof *ds);
}

void vdsm_dataset_clip_float(const struct vdsm_dataset *ds, size_t i, size_t frames, float *dst)
{
    const uint8_t *src = vdsm_dataset_seq(ds, i);
    size_t hw = ds->h * ds->w, c = ds->c;
    for (size_t t = 0; t < frames; t++)
        for (size_t p = 0; p < hw; p++)
            for (size_t ch = 0; ch < c; ch++) dst[(t * c + ch) * hw + p] = (float)src[(t * hw + p) * c + ch] / 255.0f;
}

static void count_classes(const struct vdsm_dataset *ds, size_t j, size_t lo, size_t hi, size_t *cnt)
{
    for (size_t i = lo; i < hi; i++) cnt[ds->labels[i * ds->k + j]]++;
}

void vdsm_dataset_summary(const struct vdsm_dataset *ds, FILE *f)
{
    const struct vdsm_meta *m = &ds->meta;
    fprintf(f, "dataset %s: frames uint8 [N=%zu, T=%zu, H=%zu, W=%zu, C=%zu], labels int32 [%zu, %zu]\n", m->name,
            ds->n, ds->t, ds->h, ds->w, ds->c, ds->n, ds->k);
    fprintf(f, "split: train [%zu, %zu) = %zu sequences, test [%zu, %zu) = %zu sequences\n", m->train[0],
            m->train[1], m->train[1] - m->train[0], m->test[0], m->test[1], m->test[1] - m->test[0]);
    fprintf(f, "generator: seed %llu", (unsigned long long)m->seed);
    for (int i = 0; i < m->n_params; i++) fprintf(f, ", %s=%s", m->param_keys[i], m->param_vals[i]);
    fprintf(f, "\n");
    for (size_t j = 0; j < ds->k; j++) {
        const struct vdsm_factor *fa = &m->factors[j];
        size_t *all = calloc((size_t)fa->n_classes * 2, sizeof *all);
        if (!all) return;
        count_classes(ds, j, m->train[0], m->train[1], all);
        count_classes(ds, j, m->test[0], m->test[1], all + fa->n_classes);
        fprintf(f, "factor %zu '%s' (%s, %d classes), count train/test:\n", j, fa->name,
                fa->identity ? "identity" : "dynamics", fa->n_classes);
        for (int c = 0; c < fa->n_classes; c++)
            fprintf(f, "  %3d %-20s %7zu %7zu\n", c, fa->classes[c], all[c], all[fa->n_classes + c]);
        free(all);
    }
}

nn_status vdsm_dataset_writer_open(struct vdsm_dataset_writer *w, const char *dir, const size_t shape[5],
                                   size_t k, struct nn_err *e)
{
    char fpath[4096];
    memset(w, 0, sizeof *w);
    if (vdsm_mkdirs(dir, e)) return e->code;
    w->dir = strdup(dir);
    memcpy(w->shape, shape, sizeof w->shape);
    w->n = shape[0];
    w->k = k;
    w->seq_bytes = shape[1] * shape[2] * shape[3] * shape[4];
    if (k && w->n > SIZE_MAX / sizeof(int32_t) / k) return nn_err_set(e, NN_INVALID, "%s: too many labels", dir);
    w->labels = calloc(w->n * k + 1, sizeof(int32_t));
    if (!w->dir || !w->labels) {
        vdsm_dataset_writer_abort(w);
        return nn_err_set(e, NN_OOM, "%s: out of memory for labels", dir);
    }
    vdsm_path_join(fpath, sizeof fpath, dir, "frames.npy");
    if (vdsm_npy_writer_open(&w->frames, fpath, VDSM_DT_U8, 5, shape, e)) vdsm_dataset_writer_abort(w);
    return e->code;
}

nn_status vdsm_dataset_writer_add(struct vdsm_dataset_writer *w, const uint8_t *frames, const int32_t *labels,
                                  size_t count, struct nn_err *e)
{
    if (count > w->n - w->next)
        return nn_err_set(e, NN_INTERNAL, "%s: more sequences than declared (%zu)", w->dir, w->n);
    if (vdsm_npy_writer_write(&w->frames, frames, count * w->seq_bytes, e)) return e->code;
    memcpy(w->labels + w->next * w->k, labels, count * w->k * sizeof(int32_t));
    w->next += count;
    return NN_OK;
}

nn_status vdsm_dataset_writer_close(struct vdsm_dataset_writer *w, struct vdsm_meta *meta, struct nn_err *e)
{
    char lpath[4096], mpath[4096];
    size_t lshape[2] = {w->n, w->k};
    vdsm_path_join(lpath, sizeof lpath, w->dir, "labels.npy");
    vdsm_path_join(mpath, sizeof mpath, w->dir, "meta.yaml");
    memcpy(meta->shape, w->shape, sizeof meta->shape);
    if ((size_t)meta->n_factors != w->k)
        nn_err_set(e, NN_INTERNAL, "%s: %d factors for %zu label columns", w->dir, meta->n_factors, w->k);
    else if (!vdsm_npy_writer_close(&w->frames, e) && !vdsm_npy_save(lpath, VDSM_DT_I32, 2, lshape, w->labels, e))
        vdsm_meta_write(mpath, meta, e);
    nn_status s = e->code;
    vdsm_dataset_writer_abort(w);
    return s;
}

void vdsm_dataset_writer_abort(struct vdsm_dataset_writer *w)
{
    vdsm_npy_writer_abort(&w->frames);
    free(w->labels);
    free(w->dir);
    memset(w, 0, sizeof *w);
}
