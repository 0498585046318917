/* vdsm/data/meta.c: building, writing and reading meta.yaml (libyaml's document API for reading;
 * writing is plain text because the layout is fixed and a human reads it). */
#include "vdsm/data/meta.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vdsm_meta_init(struct vdsm_meta *m, const char *name)
{
    memset(m, 0, sizeof *m);
    m->name = strdup(name ? name : "");
}

void vdsm_meta_free(struct vdsm_meta *m)
{
    for (int i = 0; i < m->n_factors; i++) {
        for (int j = 0; j < m->factors[i].n_classes; j++) free(m->factors[i].classes[j]);
        free(m->factors[i].classes);
        free(m->factors[i].name);
    }
    for (int i = 0; i < m->n_params; i++) {
        free(m->param_keys[i]);
        free(m->param_vals[i]);
    }
    free(m->factors);
    free(m->param_keys);
    free(m->param_vals);
    free(m->name);
    memset(m, 0, sizeof *m);
}

nn_status vdsm_meta_add_factor(struct vdsm_meta *m, const char *name, int identity, int n_classes,
                               const char *const *classes, struct nn_err *e)
{
    struct vdsm_factor *f = realloc(m->factors, (size_t)(m->n_factors + 1) * sizeof *f);
    if (!f) return nn_err_set(e, NN_OOM, "meta: out of memory adding factor %s", name);
    m->factors = f;
    f = &m->factors[m->n_factors];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->identity = identity;
    f->classes = calloc((size_t)(n_classes > 0 ? n_classes : 1), sizeof *f->classes);
    if (!f->name || !f->classes) {
        free(f->name);
        free(f->classes);
        return nn_err_set(e, NN_OOM, "meta: out of memory adding factor %s", name);
    }
    m->n_factors++;
    for (int j = 0; j < n_classes; j++) {
        char num[16];
        snprintf(num, sizeof num, "%d", j);
        f->classes[j] = strdup(classes ? classes[j] : num);
        if (!f->classes[j]) return nn_err_set(e, NN_OOM, "meta: out of memory adding factor %s", name);
        f->n_classes = j + 1;
    }
    return NN_OK;
}

void vdsm_meta_set_param(struct vdsm_meta *m, const char *key, const char *fmt, ...)
{
    char val[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->param_keys[i], key)) {
            char *v = strdup(val);
            if (v) {
                free(m->param_vals[i]);
                m->param_vals[i] = v;
            }
            return;
        }
    char **k = realloc(m->param_keys, (size_t)(m->n_params + 1) * sizeof *k);
    if (!k) return;
    m->param_keys = k;
    char **v = realloc(m->param_vals, (size_t)(m->n_params + 1) * sizeof *v);
    if (!v) return;
    m->param_vals = v;
    m->param_keys[m->n_params] = strdup(key);
    m->param_vals[m->n_params] = strdup(val);
    if (m->param_keys[m->n_params] && m->param_vals[m->n_params]) m->n_params++;
}

const char *vdsm_meta_param(const struct vdsm_meta *m, const char *key)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->param_keys[i], key)) return m->param_vals[i];
    return NULL;
}

int vdsm_meta_factor_index(const struct vdsm_meta *m, const char *name)
{
    for (int i = 0; i < m->n_factors; i++)
        if (!strcmp(m->factors[i].name, name)) return i;
    return -1;
}

/* Double-quoted YAML scalar: escapes what could end or bend the string. */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s < 0x20) fprintf(f, "\\x%02x", (unsigned char)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void write_body(FILE *f, const struct vdsm_meta *m)
{
    fprintf(f, "# vdsm dataset: frames.npy uint8 [N, T, H, W, C], labels.npy int32 [N, K]\n");
    fprintf(f, "format: vdsm-dataset\nversion: 1\nname: ");
    put_str(f, m->name);
    fprintf(f, "\nshape: [%zu, %zu, %zu, %zu, %zu]  # N, T, H, W, C\n", m->shape[0], m->shape[1],
            m->shape[2], m->shape[3], m->shape[4]);
    fprintf(f, "split:  # half-open ranges of sequence indices\n  train: [%zu, %zu]\n  test: [%zu, %zu]\n",
            m->train[0], m->train[1], m->test[0], m->test[1]);
    fprintf(f, "factors:  # one per column of labels.npy\n");
    for (int i = 0; i < m->n_factors; i++) {
        fprintf(f, "  - name: ");
        put_str(f, m->factors[i].name);
        fprintf(f, "\n    kind: %s\n    classes: [", m->factors[i].identity ? "identity" : "dynamics");
        for (int j = 0; j < m->factors[i].n_classes; j++) {
            if (j) fputs(", ", f);
            put_str(f, m->factors[i].classes[j]);
        }
        fprintf(f, "]\n");
    }
    fprintf(f, "generator:\n  seed: %llu\n", (unsigned long long)m->seed);
    for (int i = 0; i < m->n_params; i++) {
        fprintf(f, "  %s: ", m->param_keys[i]);
        put_str(f, m->param_vals[i]);
        fputc('\n', f);
    }
}

nn_status vdsm_meta_write(const char *path, const struct vdsm_meta *m, struct nn_err *e)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return nn_err_set(e, NN_INVALID, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot create: %s", tmp, strerror(errno));
    write_body(f, m);
    if (ferror(f) | fclose(f)) {
        unlink(tmp);
        return nn_err_set(e, NN_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path)) {
        unlink(tmp);
        return nn_err_set(e, NN_IO, "%s: rename failed: %s", path, strerror(errno));
    }
    return NN_OK;
}
