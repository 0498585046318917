/* vdsm/sweep/expand.c: a sweep file to its points: parsing, names, validation. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/report/buf.h"
#include "vdsm/spec/scalar.h"
#include "vdsm/sweep/sweep.h"

#define TOKEN_MAX 40

struct axis {
    const char *key;
    const struct vdsm_node *vals; /* a sequence */
    char label[128];              /* shortest dotted suffix of key unique among the axes */
    char **tokens;                /* [vals->n] the values as they appear in names */
};

struct parsed {
    const struct vdsm_node *set, *variants, *seeds;
    struct axis *axes;
    int naxes;
};

static nn_status fail_key(struct nn_err *err, const struct vdsm_node *n, const char *path, const char *what)
{
    struct vdsm_node at = *n; /* point at the key, not its value */
    if (n->kline) at.line = n->kline, at.col = n->kcol;
    return vdsm_spec_fail(err, &at, path, "%s", what);
}

static nn_status expect(const struct vdsm_node *n, enum vdsm_node_kind k, const char *path, struct nn_err *err)
{
    static const char *const what[] = {"a single value", "a mapping", "a list"};
    if (n->kind == k) return NN_OK;
    return vdsm_spec_fail(err, n, path, "expected %s", what[k]);
}

/* A mapping of key paths to values (`set:` or one variant); an empty value (`baseline:`) is
 * an empty set. */
static nn_status check_overrides(const struct vdsm_node *m, const char *path, struct nn_err *err)
{
    if (m->kind == VDSM_NODE_SCALAR && !m->quoted && !*m->text) return NN_OK;
    if (expect(m, VDSM_NODE_MAP, path, err)) return err->code;
    if (m->n > VDSM_SWEEP_MAX_OVERRIDES / 2) return vdsm_spec_fail(err, m, path, "too many overrides");
    return NN_OK;
}

static void sanitize(char *out, size_t cap, const char *s)
{
    size_t j = 0;
    for (; *s && j + 1 < cap && j < TOKEN_MAX; s++) {
        unsigned char c = (unsigned char)*s;
        out[j++] = isalnum(c) || c == '.' || c == '-' || c == '+' || c == '_' ? (char)c : '_';
    }
    out[j] = '\0';
    if (!j) snprintf(out, cap, "empty");
}

/* A value as a name part: a scalar's text, a schedule's curve, else "v" (made unique below). */
static void token(const struct vdsm_node *v, char *out, size_t cap)
{
    const struct vdsm_node *c = v->kind == VDSM_NODE_MAP ? vdsm_node_get(v, "curve") : NULL;
    if (v->kind == VDSM_NODE_SCALAR) sanitize(out, cap, v->text);
    else if (c && c->kind == VDSM_NODE_SCALAR) sanitize(out, cap, c->text);
    else snprintf(out, cap, "v");
}

static nn_status axis_tokens(struct axis *a, struct nn_err *err)
{
    size_t n = a->vals->n;
    a->tokens = calloc(n, sizeof *a->tokens);
    if (!a->tokens) return nn_err_set(err, NN_OOM, "out of memory");
    char t[64];
    for (size_t i = 0; i < n; i++) {
        token(a->vals->kids[i], t, sizeof t);
        if (!(a->tokens[i] = strdup(t))) return nn_err_set(err, NN_OOM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) { /* equal tokens (two cosines): number them by position */
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++) dup = j != i && !strcmp(a->tokens[i], a->tokens[j]);
        if (!dup) continue;
        token(a->vals->kids[i], t, sizeof t);
        size_t len = strlen(t) + 24;
        char *s = malloc(len);
        if (!s) return nn_err_set(err, NN_OOM, "out of memory");
        snprintf(s, len, "%s%zu", t, i + 1);
        free(a->tokens[i]);
        a->tokens[i] = s;
    }
    return NN_OK;
}

/* Shortest dotted suffix of each axis key that no other axis key ends with. */
static void axis_labels(struct axis *ax, int n)
{
    for (int i = 0; i < n; i++) {
        const char *k = ax[i].key, *best = k;
        for (const char *p = k + strlen(k); p > k; p--) {
            if (p[-1] != '.') continue;
            bool unique = true;
            for (int j = 0; j < n && unique; j++) {
                size_t lj = strlen(ax[j].key), lp = strlen(p);
                if (j == i || lj < lp) continue;
                const char *tail = ax[j].key + lj - lp;
                unique = strcmp(tail, p) || (tail != ax[j].key && tail[-1] != '.');
            }
            if (unique) {
                best = p;
                break;
            }
        }
        snprintf(ax[i].label, sizeof ax[i].label, "%s", best);
    }
}

static nn_status parse_axes(const struct vdsm_node *axes, int mode, struct parsed *ps, size_t *combos,
                            struct nn_err *err)
{
    *combos = 1;
    if (!axes) return NN_OK;
    if (expect(axes, VDSM_NODE_MAP, "axes", err)) return err->code;
    ps->axes = calloc(axes->n ? axes->n : 1, sizeof *ps->axes);
    if (!ps->axes) return nn_err_set(err, NN_OOM, "out of memory");
    for (size_t i = 0; i < axes->n; i++) {
        const struct vdsm_node *v = axes->kids[i];
        char path[600];
        snprintf(path, sizeof path, "axes.%s", v->key);
        if (expect(v, VDSM_NODE_SEQ, path, err)) return err->code;
        if (!v->n) return vdsm_spec_fail(err, v, path, "an axis needs at least one value");
        struct axis *a = &ps->axes[ps->naxes++];
        a->key = v->key;
        a->vals = v;
        if (axis_tokens(a, err)) return err->code;
        if (mode == VDSM_SWEEP_ZIP && v->n != ps->axes[0].vals->n)
            return vdsm_spec_fail(err, v, path, "zip mode needs axes of one length: %zu values here, %zu in %s", v->n,
                                  ps->axes[0].vals->n, ps->axes[0].key);
        if (mode == VDSM_SWEEP_GRID) *combos *= v->n;
        else *combos = v->n;
        if (*combos > VDSM_SWEEP_MAX_POINTS) return vdsm_spec_fail(err, v, path, "more than %d points", VDSM_SWEEP_MAX_POINTS);
    }
    axis_labels(ps->axes, ps->naxes);
    return NN_OK;
}

static nn_status parse_top(struct vdsm_sweep *sw, struct parsed *ps, size_t *combos, struct nn_err *err)
{
    static const char *const known[] = {"name", "spec", "out", "mode", "set", "axes", "variants", "seeds"};
    const struct vdsm_node *t = sw->tree, *spec = NULL, *axes = NULL;
    for (size_t i = 0; i < t->n; i++) {
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++) ok |= !strcmp(t->kids[i]->key, known[j]);
        if (!ok) return fail_key(err, t->kids[i], t->kids[i]->key, "unknown key (a sweep has name, spec, out, mode, set, axes, variants, seeds)");
    }
    const char *s;
    const struct vdsm_node *n;
    if ((n = vdsm_node_get(t, "mode")) && vdsm_scalar_enum(n, "mode", "grid|zip", &sw->mode, err)) return err->code;
    if (!(spec = vdsm_node_get(t, "spec"))) return nn_err_set(err, NN_PARSE, "%s: spec: missing (the base spec to sweep over)", sw->file);
    if (vdsm_scalar_string(spec, "spec", &s, err)) return err->code;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", sw->file);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = '\0';
    else dir[0] = '\0';
    size_t len = strlen(dir) + strlen(s) + 1;
    if (!(sw->spec_path = malloc(len))) return nn_err_set(err, NN_OOM, "out of memory");
    snprintf(sw->spec_path, len, "%s%s", s[0] == '/' ? "" : dir, s);
    if ((n = vdsm_node_get(t, "name"))) {
        if (vdsm_scalar_string(n, "name", &s, err)) return err->code;
        sw->name = strdup(s);
    } else {
        const char *base = strrchr(sw->file, '/') ? strrchr(sw->file, '/') + 1 : sw->file;
        sw->name = strndup(base, strcspn(base, "."));
    }
    if (!sw->name) return nn_err_set(err, NN_OOM, "out of memory");
    if (!*sw->name || strchr(sw->name, '/')) return vdsm_spec_fail(err, n ? n : t, "name", "needs a non-empty name without '/'");
    if ((n = vdsm_node_get(t, "out")) && !sw->dir) {
        if (vdsm_scalar_string(n, "out", &s, err)) return err->code;
        if (!*s) return vdsm_spec_fail(err, n, "out", "expected a directory");
        sw->dir = strdup(s);
    } else if (!sw->dir) {
        sw->dir = malloc(strlen(sw->name) + 8);
        if (sw->dir) sprintf(sw->dir, "sweeps/%s", sw->name);
    }
    if (!sw->dir) return nn_err_set(err, NN_OOM, "out of memory");
    if ((ps->set = vdsm_node_get(t, "set")) && check_overrides(ps->set, "set", err)) return err->code;
    if ((ps->variants = vdsm_node_get(t, "variants"))) {
        if (expect(ps->variants, VDSM_NODE_MAP, "variants", err)) return err->code;
        if (!ps->variants->n) return vdsm_spec_fail(err, ps->variants, "variants", "needs at least one variant");
        for (size_t i = 0; i < ps->variants->n; i++) {
            const struct vdsm_node *v = ps->variants->kids[i];
            char path[600], clean[64];
            snprintf(path, sizeof path, "variants.%s", v->key);
            sanitize(clean, sizeof clean, v->key);
            if (strcmp(clean, v->key) || strchr(v->key, '='))
                return fail_key(err, v, path, "a variant name is letters, digits and . _ + - (it names directories)");
            if (check_overrides(v, path, err)) return err->code;
        }
    }
    if ((ps->seeds = vdsm_node_get(t, "seeds"))) {
        if (expect(ps->seeds, VDSM_NODE_SEQ, "seeds", err)) return err->code;
        if (!ps->seeds->n) return vdsm_spec_fail(err, ps->seeds, "seeds", "needs at least one seed");
        for (size_t i = 0; i < ps->seeds->n; i++) {
            int64_t v;
            if (vdsm_scalar_int(ps->seeds->kids[i], "seeds", 0, 2147483647, &v, err)) return err->code;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(ps->seeds->kids[j]->text, ps->seeds->kids[i]->text))
                    return vdsm_spec_fail(err, ps->seeds->kids[i], "seeds", "seed %lld twice", (long long)v);
        }
    }
    axes = vdsm_node_get(t, "axes");
    return parse_axes(axes, sw->mode, ps, combos, err);
}

/* key_at: the node whose key position names the key (an axis's list for its values) */
static nn_status add_ov(struct vdsm_sweep_point *p, const char *key, const struct vdsm_node *v, const struct vdsm_node *key_at,
                        struct nn_err *err)
{
    if (p->nov == VDSM_SWEEP_MAX_OVERRIDES) return nn_err_set(err, NN_PARSE, "more than %d overrides in a point", VDSM_SWEEP_MAX_OVERRIDES);
    p->ov[p->nov++] = (struct vdsm_spec_override){.key = key, .value = v, .kline = key_at->kline, .kcol = key_at->kcol};
    return NN_OK;
}

static nn_status add_map(struct vdsm_sweep_point *p, const struct vdsm_node *m, struct nn_err *err)
{
    for (size_t i = 0; m && m->kind == VDSM_NODE_MAP && i < m->n; i++)
        if (add_ov(p, m->kids[i]->key, m->kids[i], m->kids[i], err)) return err->code;
    return NN_OK;
}

static nn_status name_point(struct vdsm_sweep *sw, struct vdsm_sweep_point *p, const struct parsed *ps,
                            const size_t *pick, const struct vdsm_node *seed)
{
    struct vdsm_buf b = {0};
    if (p->variant) vdsm_buf_puts(&b, p->variant);
    for (int a = 0; a < ps->naxes; a++)
        vdsm_buf_printf(&b, "%s%s=%s", b.len ? "," : "", ps->axes[a].label, ps->axes[a].tokens[pick[a]]);
    if (!b.len) vdsm_buf_puts(&b, "base");
    p->group = b.s ? strdup(b.s) : NULL;
    if (seed) vdsm_buf_printf(&b, ",seed=%s", seed->text);
    p->name = b.s;
    if (!p->name || !p->group || b.oom) return NN_OOM;
    size_t len = strlen(sw->dir) + strlen(p->name) + 2;
    if (!(p->dir = malloc(len))) return NN_OOM;
    snprintf(p->dir, len, "%s/%s", sw->dir, p->name);
    return NN_OK;
}

/* The overrides of point p: set, the variant, the axis values pick[], the seed, the run dir. */
static nn_status make_point(struct vdsm_sweep *sw, struct vdsm_sweep_point *p, const struct parsed *ps,
                            const struct vdsm_node *variant, const size_t *pick, const struct vdsm_node *seed,
                            struct nn_err *err)
{
    if (!(p->ov = calloc(VDSM_SWEEP_MAX_OVERRIDES, sizeof *p->ov))) return nn_err_set(err, NN_OOM, "out of memory");
    p->seed = seed ? atoi(seed->text) : -1;
    if (variant && !(p->variant = strdup(variant->key))) return nn_err_set(err, NN_OOM, "out of memory");
    if (add_map(p, ps->set, err) || add_map(p, variant, err)) return err->code;
    for (int a = 0; a < ps->naxes; a++)
        if (add_ov(p, ps->axes[a].key, ps->axes[a].vals->kids[pick[a]], ps->axes[a].vals, err)) return err->code;
    if (seed && add_ov(p, "runtime.seed", seed, seed, err)) return err->code;
    if (name_point(sw, p, ps, pick, seed)) return nn_err_set(err, NN_OOM, "out of memory");
    struct vdsm_node *dir = vdsm_node_new(VDSM_NODE_SCALAR, p->dir, "the sweep's run directory", 0, 0);
    if (!dir) return nn_err_set(err, NN_OOM, "out of memory");
    dir->quoted = true;
    if (vdsm_node_append(sw->made, NULL, dir)) return nn_err_set(err, NN_OOM, "out of memory");
    return add_ov(p, "output.run_dir", dir, dir, err);
}

static nn_status validate(struct vdsm_sweep_point *p, const char *spec_path, struct nn_err *err)
{
    struct vdsm_spec spec;
    if (vdsm_spec_load_over(spec_path, p->ov, p->nov, &spec, err)) {
        char msg[NN_ERR_MSG_LEN];
        snprintf(msg, sizeof msg, "%s", err->msg);
        nn_status code = err->code;
        nn_err_clear(err);
        return nn_err_set(err, code, "%s (point %d, %s)", msg, p->index, p->name);
    }
    p->yaml = vdsm_spec_to_yaml(&spec);
    p->hash = vdsm_spec_hash(&spec);
    vdsm_spec_free(&spec);
    return p->yaml ? NN_OK : nn_err_set(err, NN_OOM, "out of memory");
}

static nn_status expand(struct vdsm_sweep *sw, const struct parsed *ps, size_t combos, struct nn_err *err)
{
    size_t nv = ps->variants ? ps->variants->n : 1, ns = ps->seeds ? ps->seeds->n : 1;
    size_t total = nv * combos * ns;
    if (total > VDSM_SWEEP_MAX_POINTS)
        return nn_err_set(err, NN_PARSE, "%s: %zu points, more than %d", sw->file, total, VDSM_SWEEP_MAX_POINTS);
    if (!(sw->pts = calloc(total, sizeof *sw->pts))) return nn_err_set(err, NN_OOM, "out of memory");
    size_t pick[64] = {0};
    if (ps->naxes > 64) return nn_err_set(err, NN_PARSE, "%s: more than 64 axes", sw->file);
    for (size_t v = 0; v < nv; v++)
        for (size_t c = 0; c < combos; c++) {
            size_t rest = c; /* grid: the last axis varies fastest; zip: all take value c */
            for (int a = ps->naxes - 1; a >= 0; a--) {
                size_t na = ps->axes[a].vals->n;
                pick[a] = sw->mode == VDSM_SWEEP_ZIP ? c : rest % na;
                if (sw->mode == VDSM_SWEEP_GRID) rest /= na;
            }
            for (size_t s = 0; s < ns; s++) {
                struct vdsm_sweep_point *p = &sw->pts[sw->n];
                p->index = sw->n++;
                if (make_point(sw, p, ps, ps->variants ? ps->variants->kids[v] : NULL, pick,
                               ps->seeds ? ps->seeds->kids[s] : NULL, err))
                    return err->code;
            }
        }
    for (int i = 0; i < sw->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(sw->pts[i].name, sw->pts[j].name))
                return nn_err_set(err, NN_PARSE, "%s: points %d and %d are both named '%s' (make the axis values differ, or use variants)",
                                  sw->file, j, i, sw->pts[i].name);
    for (int i = 0; i < sw->n; i++)
        if (validate(&sw->pts[i], sw->spec_path, err)) return err->code;
    return NN_OK;
}

static void parsed_free(struct parsed *ps)
{
    for (int a = 0; a < ps->naxes; a++) {
        for (size_t i = 0; ps->axes[a].tokens && i < ps->axes[a].vals->n; i++) free(ps->axes[a].tokens[i]);
        free(ps->axes[a].tokens);
    }
    free(ps->axes);
}

nn_status vdsm_sweep_load(const char *path, const char *out_dir, struct vdsm_sweep *sw, struct nn_err *err)
{
    memset(sw, 0, sizeof *sw);
    struct parsed ps = {0};
    size_t combos = 1;
    nn_status s = NN_OK;
    sw->file = strdup(path);
    sw->dir = out_dir ? strdup(out_dir) : NULL;
    sw->made = vdsm_node_new(VDSM_NODE_SEQ, NULL, path, 0, 0);
    if (!sw->file || !sw->made || (out_dir && !sw->dir)) s = nn_err_set(err, NN_OOM, "out of memory");
    if (!s) s = vdsm_yaml_load_file(path, &sw->tree, err);
    if (!s) s = parse_top(sw, &ps, &combos, err);
    if (!s) s = expand(sw, &ps, combos, err);
    parsed_free(&ps);
    if (s) vdsm_sweep_free(sw);
    return s;
}

void vdsm_sweep_free(struct vdsm_sweep *sw)
{
    for (int i = 0; sw->pts && i < sw->n; i++) {
        struct vdsm_sweep_point *p = &sw->pts[i];
        free(p->name), free(p->group), free(p->dir), free(p->variant), free(p->ov), free(p->yaml);
    }
    free(sw->pts);
    free(sw->file), free(sw->name), free(sw->spec_path), free(sw->dir);
    vdsm_node_free(sw->tree);
    vdsm_node_free(sw->made);
    memset(sw, 0, sizeof *sw);
}

/* A node as one line of flow YAML. */
static void flow(struct vdsm_buf *b, const struct vdsm_node *n)
{
    if (n->kind == VDSM_NODE_SCALAR) {
        if (n->quoted) vdsm_buf_printf(b, "\"%s\"", n->text);
        else vdsm_buf_puts(b, n->text);
        return;
    }
    vdsm_buf_puts(b, n->kind == VDSM_NODE_MAP ? "{" : "[");
    for (size_t i = 0; i < n->n; i++) {
        if (i) vdsm_buf_puts(b, ", ");
        if (n->kind == VDSM_NODE_MAP) vdsm_buf_printf(b, "%s: ", n->kids[i]->key);
        flow(b, n->kids[i]);
    }
    vdsm_buf_puts(b, n->kind == VDSM_NODE_MAP ? "}" : "]");
}

char *vdsm_sweep_point_desc(const struct vdsm_sweep_point *p)
{
    struct vdsm_buf b = {0};
    for (int i = 0; i < p->nov; i++) {
        if (!strcmp(p->ov[i].key, "output.run_dir")) continue;
        vdsm_buf_printf(&b, "%s%s=", b.len ? " " : "", p->ov[i].key);
        flow(&b, p->ov[i].value);
    }
    if (!b.s) vdsm_buf_puts(&b, "");
    if (b.oom) {
        vdsm_buf_free(&b);
        return NULL;
    }
    return b.s;
}
