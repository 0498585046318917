/* The clips the protocols score, written as plain arrays so that any classifier can score the
 * same clips (vdsm/eval/eval.h, docs/evaluation.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/eval/eval.h"

#define MAX_SETS 8

#define N_KINDS 5
static const char *const file_kind[N_KINDS] = {"frames", "labels", "sources", "identity", "dynamics"};
static const enum vdsm_dtype file_dtype[N_KINDS] = {VDSM_DT_U8, VDSM_DT_I32, VDSM_DT_I32, VDSM_DT_F32, VDSM_DT_F32};

nn_status vdsm_export_open(struct vdsm_export *x, const struct vdsm_eval_opts *o, const char *protocol, int seed,
                           const struct vdsm_export_set *sets, int n_sets, const struct vdsm_dataset *ds,
                           const struct vdsm_net *net, size_t n, struct nn_err *err)
{
    memset(x, 0, sizeof *x);
    if (!o->export_dir) return NN_OK;
    if (n_sets > MAX_SETS) return nn_err_set(err, NN_INTERNAL, "export: %d sets (at most %d)", n_sets, MAX_SETS);
    x->sets = sets, x->n_sets = n_sets, x->n = n;
    x->t = ds->t, x->c = ds->c, x->h = ds->h, x->w = ds->w, x->k = ds->k;
    x->e = (size_t)net->cfg.n_e_w, x->d = (size_t)net->cfg.dynamics_dim;
    snprintf(x->dir, sizeof x->dir, "%s/%s-seed%llu", o->export_dir, protocol,
             (unsigned long long)(o->seed + (uint64_t)seed));
    if (vdsm_mkdirs(x->dir, err)) return err->code;
    size_t shape[N_KINDS][5] = {{n, ds->t, ds->h, ds->w, ds->c}, {n, ds->k}, {n, 2}, {n, x->e}, {n, x->d}};
    x->on = true;
    for (int s = 0; s < n_sets; s++)
        for (int f = 0; f < N_KINDS; f++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s_%s.npy", x->dir, sets[s].name, file_kind[f]);
            if (vdsm_npy_writer_open(&x->files[s][f], path, file_dtype[f], f ? 2 : 5, shape[f], err)) {
                vdsm_export_abort(x);
                return err->code;
            }
        }
    return NN_OK;
}

nn_status vdsm_export_add(struct vdsm_export *x, int set, const float *gen, size_t b, const int32_t *labels,
                          const size_t *dyn_src, const size_t *id_src, const struct vdsm_gen_latents *lat,
                          struct nn_err *err)
{
    if (!x->on) return NN_OK;
    if (!lat || !lat->identity || !lat->dynamics) return nn_err_set(err, NN_INTERNAL, "export: the clips' latents are missing");
    size_t plane = x->h * x->w, frame = plane * x->c, clip = x->t * frame;
    uint8_t *u8 = malloc(b * clip);
    int32_t *lab = malloc((b * x->k + 1) * sizeof *lab), *src = malloc(2 * b * sizeof *src);
    nn_status st = !u8 || !lab || !src ? nn_err_set(err, NN_OOM, "export: out of memory") : NN_OK;
    if (!st) {
        /* [b, T, C, H, W] in [0, 1] -> [b, T, H, W, C] uint8, as the data sets store frames */
        for (size_t f = 0; f < b * x->t; f++)
            for (size_t ch = 0; ch < x->c; ch++)
                for (size_t p = 0; p < plane; p++) {
                    float v = gen[f * frame + ch * plane + p];
                    v = v > 0 ? (v < 1 ? v : 1) : 0; /* also maps NaN to 0 */
                    u8[f * frame + p * x->c + ch] = (uint8_t)lrintf(v * 255.0f);
                }
        for (size_t i = 0; i < b * x->k; i++) lab[i] = labels ? labels[i] : -1;
        for (size_t i = 0; i < b; i++) {
            src[2 * i] = dyn_src ? (int32_t)dyn_src[i] : -1;
            src[2 * i + 1] = id_src ? (int32_t)id_src[i] : -1;
        }
        if (vdsm_npy_writer_write(&x->files[set][0], u8, b * clip, err) ||
            vdsm_npy_writer_write(&x->files[set][1], lab, b * x->k * sizeof *lab, err) ||
            vdsm_npy_writer_write(&x->files[set][2], src, 2 * b * sizeof *src, err) ||
            vdsm_npy_writer_write(&x->files[set][3], lat->identity, b * x->e * sizeof(float), err) ||
            vdsm_npy_writer_write(&x->files[set][4], lat->dynamics, b * x->d * sizeof(float), err))
            st = err->code;
    }
    free(u8), free(lab), free(src);
    return st;
}

static nn_status write_json(const struct vdsm_export *x, const struct vdsm_eval_opts *o, const char *protocol,
                            int seed, const struct vdsm_dataset *ds, struct nn_err *err)
{
    static const char *const scored[3] = {"dynamics", "identity", "all"};
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocol", protocol);
    cJSON_AddNumberToObject(r, "seed", (double)(o->seed + (uint64_t)seed));
    cJSON_AddStringToObject(r, "checkpoint", o->checkpoint ? o->checkpoint : "");
    cJSON_AddStringToObject(r, "dataset", ds->meta.name);
    cJSON_AddNumberToObject(r, "identity_temperature", o->temp);
    cJSON_AddStringToObject(r, "frames", "uint8 [N, T, H, W, C], as the data set's frames.npy");
    cJSON_AddStringToObject(r, "labels", "int32 [N, K], columns as the data set's labels.npy; -1 where none");
    cJSON_AddStringToObject(r, "sources", "int32 [N, 2]: data set rows that gave the dynamics and the identity; -1 for a "
                                          "prior draw");
    cJSON_AddStringToObject(r, "identity", "float32 [N, E]: the identity locs each clip was decoded from, before the "
                                           "temperature and the mixture's softmax");
    cJSON_AddStringToObject(r, "dynamics", "float32 [N, D]: the dynamics locs each clip's poses were rolled out from");
    cJSON *f = cJSON_AddArrayToObject(r, "factors");
    for (int h = 0; h < ds->meta.n_factors; h++) {
        cJSON *o1 = cJSON_CreateObject();
        cJSON_AddStringToObject(o1, "name", ds->meta.factors[h].name);
        cJSON_AddStringToObject(o1, "kind", ds->meta.factors[h].identity ? "identity" : "dynamics");
        cJSON_AddNumberToObject(o1, "classes", ds->meta.factors[h].n_classes);
        cJSON_AddItemToArray(f, o1);
    }
    cJSON *sets = cJSON_AddObjectToObject(r, "sets");
    for (int s = 0; s < x->n_sets; s++) {
        cJSON *o1 = cJSON_AddObjectToObject(sets, x->sets[s].name);
        char name[256];
        for (int k = 0; k < N_KINDS; k++) {
            snprintf(name, sizeof name, "%s_%s.npy", x->sets[s].name, file_kind[k]);
            cJSON_AddStringToObject(o1, file_kind[k], name);
        }
        cJSON_AddNumberToObject(o1, "clips", (double)x->n);
        cJSON_AddStringToObject(o1, "labels_from", x->sets[s].labels_from);
        cJSON_AddStringToObject(o1, "scored_heads", x->sets[s].scored_kind < 0 ? "none" : scored[x->sets[s].scored_kind]);
    }
    char *text = cJSON_Print(r), path[4200], tmp[4210];
    cJSON_Delete(r);
    snprintf(path, sizeof path, "%s/export.json", x->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = text ? fopen(tmp, "wb") : NULL;
    bool ok = fp && fputs(text, fp) >= 0 && fputc('\n', fp) != EOF;
    if (fp) ok = fclose(fp) == 0 && ok;
    free(text);
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return nn_err_set(err, NN_IO, "export: cannot write %s", path);
    }
    return NN_OK;
}

nn_status vdsm_export_close(struct vdsm_export *x, const struct vdsm_eval_opts *o, const char *protocol, int seed,
                            const struct vdsm_dataset *ds, struct nn_err *err)
{
    if (!x->on) return NN_OK;
    for (int s = 0; s < x->n_sets; s++)
        for (int f = 0; f < N_KINDS; f++)
            if (x->files[s][f].f && vdsm_npy_writer_close(&x->files[s][f], err)) {
                vdsm_export_abort(x);
                return err->code;
            }
    x->on = false;
    return write_json(x, o, protocol, seed, ds, err);
}

void vdsm_export_abort(struct vdsm_export *x)
{
    if (!x->on) return;
    for (int s = 0; s < x->n_sets; s++)
        for (int f = 0; f < N_KINDS; f++)
            if (x->files[s][f].f) vdsm_npy_writer_abort(&x->files[s][f]);
    x->on = false;
}
