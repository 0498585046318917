/* vdsm/spec/load.c: spec files to struct vdsm_spec: extends, --set, validation, defaults. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/model/registry.h"
#include "vdsm/spec/scalar.h"
#include "vdsm/spec/schema.h"
#include "vdsm/spec/spec.h"

#define PATH_LEN 512

static bool is_schedule_path(const char *path)
{
    const struct vdsm_spec_key *k = vdsm_spec_key_find(path);
    return k && k->type == VDSM_KT_SCHEDULE;
}

static void join(char *out, size_t len, const char *prefix, const char *key)
{
    if (prefix && *prefix) snprintf(out, len, "%s.%s", prefix, key);
    else snprintf(out, len, "%s", key);
}

/* Deep merge of src over dst: mappings merge key by key, everything else (scalars, lists,
 * schedules) is replaced whole, since half of one schedule and half of another is no curve. */
static nn_status merge(struct vdsm_node *dst, const struct vdsm_node *src, const char *prefix)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct vdsm_node *s = src->kids[i];
        char full[PATH_LEN];
        join(full, sizeof full, prefix, s->key);
        struct vdsm_node *d = vdsm_node_get(dst, s->key);
        if (d && d->kind == VDSM_NODE_MAP && s->kind == VDSM_NODE_MAP && !is_schedule_path(full)) {
            if (merge(d, s, full)) return NN_OOM;
            continue;
        }
        struct vdsm_node *c = vdsm_node_clone(s);
        if (!c || vdsm_node_put(dst, s->key, c)) return NN_OOM;
    }
    return NN_OK;
}

struct chain {
    char paths[VDSM_SPEC_MAX_EXTENDS][PATH_MAX];
    int n;
};

static nn_status load_tree(const char *path, struct vdsm_node *parsed, const char *base_dir,
                           struct chain *ch, struct vdsm_node **out, struct nn_err *err);

/* Resolves `extends:` of tree (read from a file in base_dir) and returns the merged tree. */
static nn_status follow_extends(struct vdsm_node *tree, const char *base_dir, struct chain *ch,
                                struct vdsm_node **out, struct nn_err *err)
{
    struct vdsm_node *ext = vdsm_node_take(tree, "extends");
    *out = tree;
    if (!ext) return NN_OK;
    nn_status s = NN_OK;
    char target[PATH_MAX], real[PATH_MAX];
    if (ext->kind != VDSM_NODE_SCALAR || !*ext->text) {
        s = vdsm_spec_fail(err, ext, "extends", "expected the path of another spec");
        goto done;
    }
    int tl = ext->text[0] == '/' || !base_dir || !*base_dir
                 ? snprintf(target, sizeof target, "%s", ext->text)
                 : snprintf(target, sizeof target, "%s/%s", base_dir, ext->text);
    if (tl < 0 || (size_t)tl >= sizeof target) {
        s = vdsm_spec_fail(err, ext, "extends", "path too long");
        goto done;
    }
    if (!realpath(target, real)) {
        s = vdsm_spec_fail(err, ext, "extends", "cannot open '%s': %s", target, strerror(errno));
        goto done;
    }
    for (int i = 0; i < ch->n; i++)
        if (!strcmp(ch->paths[i], real)) {
            s = vdsm_spec_fail(err, ext, "extends", "'%s' extends itself (a cycle)", ext->text);
            goto done;
        }
    if (ch->n >= VDSM_SPEC_MAX_EXTENDS) {
        s = vdsm_spec_fail(err, ext, "extends", "more than %d levels of extends", VDSM_SPEC_MAX_EXTENDS);
        goto done;
    }
    struct vdsm_node *base = NULL;
    s = load_tree(target, NULL, NULL, ch, &base, err);
    if (!s && merge(base, tree, "")) s = nn_err_set(err, NN_OOM, "out of memory merging specs");
    if (s) {
        vdsm_node_free(base);
        goto done;
    }
    vdsm_node_free(tree);
    *out = base;
done:
    vdsm_node_free(ext);
    return s;
}

static void dir_of(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    else snprintf(out, len, ".");
}

/* Reads path (or uses the already parsed tree) and resolves its extends chain. */
static nn_status load_tree(const char *path, struct vdsm_node *parsed, const char *base_dir,
                           struct chain *ch, struct vdsm_node **out, struct nn_err *err)
{
    char dir[PATH_MAX], real[PATH_MAX];
    struct vdsm_node *tree = parsed;
    *out = NULL;
    if (!tree && vdsm_yaml_load_file(path, &tree, err)) return err->code;
    if (!parsed && tree->kind == VDSM_NODE_MAP && tree->n == 0 && tree->line == 0) {   /* no document: a mistake */
        vdsm_node_free(tree);
        return nn_err_set(err, NN_PARSE, "%s: the spec is empty", path);
    }
    if (parsed) snprintf(dir, sizeof dir, "%s", base_dir ? base_dir : ".");
    else dir_of(path, dir, sizeof dir);
    if (!parsed && realpath(path, real)) snprintf(ch->paths[ch->n++], PATH_MAX, "%s", real);
    nn_status s = follow_extends(tree, dir, ch, out, err);
    if (!parsed) ch->n--;
    if (s) vdsm_node_free(*out == tree ? tree : *out);
    if (s) *out = NULL;
    return s;
}

/* Marks every node of a --set value as coming from that argument. */
static nn_status relocate(struct vdsm_node *n, const char *arg)
{
    char *f = strdup(arg);
    if (!f) return NN_OOM;
    free(n->file);
    n->file = f;
    n->line = n->col = n->kline = n->kcol = 0;
    for (size_t i = 0; i < n->n; i++)
        if (relocate(n->kids[i], arg)) return NN_OOM;
    return NN_OK;
}

/* Parses `text` as the YAML value of one key (a scalar, list or mapping). */
static nn_status parse_value(const char *text, const char *name, struct vdsm_node **out, struct nn_err *err)
{
    size_t len = strlen(text);
    char *doc = malloc(len + 8);
    if (!doc) return nn_err_set(err, NN_OOM, "out of memory");
    snprintf(doc, len + 8, "v: %s\n", text);
    struct vdsm_node *tree = NULL;
    struct nn_err pe = {0};
    nn_status s = vdsm_yaml_load_mem(doc, strlen(doc), name, &tree, &pe);
    free(doc);
    if (s) {   /* positions in the wrapped "v: VALUE" document would mislead: say what is wrong */
        const char *what = pe.msg;
        size_t nl = strlen(name);
        int used = 0, line, col;
        if (!strncmp(what, name, nl) && sscanf(what + nl, ":%d:%d: %n", &line, &col, &used) == 2 && used) what += nl + used;
        return nn_err_set(err, s, "%s: the value '%s' is not valid YAML (%s)", name, text, what);
    }
    *out = vdsm_node_take(tree, "v");
    vdsm_node_free(tree);
    if (!*out) return nn_err_set(err, NN_PARSE, "%s: no value", name);
    if (relocate(*out, name)) return nn_err_set(err, NN_OOM, "out of memory");
    return NN_OK;
}

/* Puts val (owned) at the dotted path key of root, making sections on the way; label names
 * the override in messages. key is modified. */
static nn_status put_path(struct vdsm_node *root, char *key, struct vdsm_node *val, const char *label,
                          struct nn_err *err)
{
    struct vdsm_node *map = root;
    char *save = NULL, *seg = strtok_r(key, ".", &save);
    char done[PATH_LEN] = "";
    while (seg) {
        char *nextseg = strtok_r(NULL, ".", &save);
        char full[PATH_LEN];
        join(full, sizeof full, done, seg);
        if (!nextseg) return vdsm_node_put(map, seg, val) ? nn_err_set(err, NN_OOM, "out of memory") : NN_OK;
        struct vdsm_node *sub = vdsm_node_get(map, seg);
        if (!sub) {
            sub = vdsm_node_new(VDSM_NODE_MAP, NULL, label, 0, 0);
            if (!sub || vdsm_node_append(map, seg, sub)) {
                vdsm_node_free(val);
                return nn_err_set(err, NN_OOM, "out of memory");
            }
        } else if (sub->kind != VDSM_NODE_MAP || is_schedule_path(full)) {
            vdsm_node_free(val);
            return nn_err_set(err, NN_PARSE, "%s: %s is not a section", label, full);
        }
        map = sub;
        snprintf(done, sizeof done, "%s", full);
        seg = nextseg;
    }
    vdsm_node_free(val);
    return nn_err_set(err, NN_PARSE, "%s: empty key", label);
}

static nn_status apply_set(struct vdsm_node *root, const char *arg, struct nn_err *err)
{
    char label[PATH_LEN + 8], key[PATH_LEN];
    snprintf(label, sizeof label, "--set %s", arg);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key)
        return nn_err_set(err, NN_PARSE, "%s: expected key.path=value", label);
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    struct vdsm_node *val = NULL;
    if (parse_value(eq + 1, label, &val, err)) return err->code;
    return put_path(root, key, val, label, err);
}

/* An override given as a node (a value read from another file): a copy of it goes in, keeping
 * its file, line and column for the messages of validation. */
static nn_status apply_node(struct vdsm_node *root, const struct vdsm_spec_override *o, struct nn_err *err)
{
    char key[PATH_LEN], where[PATH_LEN];
    vdsm_node_where(o->value, where, sizeof where);
    if (!*o->key || strlen(o->key) >= sizeof key) return nn_err_set(err, NN_PARSE, "%s: bad key '%.80s'", where, o->key);
    snprintf(key, sizeof key, "%s", o->key);
    struct vdsm_node *val = vdsm_node_clone(o->value);
    if (!val) return nn_err_set(err, NN_OOM, "out of memory");
    if (o->kline > 0) val->kline = o->kline, val->kcol = o->kcol;
    return put_path(root, key, val, where, err);
}

/* Every key of the tree must be in the schema. */
static nn_status check_keys(const struct vdsm_node *map, const char *prefix, struct nn_err *err)
{
    for (size_t i = 0; i < map->n; i++) {
        const struct vdsm_node *k = map->kids[i];
        char full[PATH_LEN], hint[64], sug[100] = "";
        join(full, sizeof full, prefix, k->key);
        if (vdsm_spec_key_find(full)) continue;
        if (vdsm_spec_is_section(full)) {
            if (k->kind != VDSM_NODE_MAP) return vdsm_spec_fail(err, k, full, "expected a section (a mapping of keys)");
            if (check_keys(k, full, err)) return err->code;
            continue;
        }
        if (vdsm_spec_suggest(*prefix ? prefix : NULL, k->key, hint, sizeof hint))
            snprintf(sug, sizeof sug, " (did you mean %s?)", hint);
        struct vdsm_node at = *k; /* point at the key, not its value */
        if (k->kline) at.line = k->kline, at.col = k->kcol;
        return vdsm_spec_fail(err, &at, full, "unknown key%s", sug);
    }
    return NN_OK;
}

static const struct vdsm_node *find_path(const struct vdsm_node *root, const char *path)
{
    char buf[PATH_LEN], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    const struct vdsm_node *n = root;
    for (char *seg = strtok_r(buf, ".", &save); seg && n; seg = strtok_r(NULL, ".", &save))
        n = vdsm_node_get(n, seg);
    return n;
}

static nn_status read_list(const struct vdsm_spec_key *k, const struct vdsm_node *n, unsigned *mask,
                           struct nn_err *err)
{
    if (n->kind != VDSM_NODE_SEQ) return vdsm_spec_fail(err, n, k->path, "expected a list of %s", k->choices);
    if (n->n == 0) return vdsm_spec_fail(err, n, k->path, "empty: name at least one of %s", k->choices);
    *mask = 0;
    for (size_t i = 0; i < n->n; i++) {
        int idx;
        if (vdsm_scalar_enum(n->kids[i], k->path, k->choices, &idx, err)) return err->code;
        *mask |= 1u << idx;
    }
    return NN_OK;
}

/* "a, b, c": the names of a stage's models */
static void model_names(int stage, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < vdsm_nmodels; i++)
        if (vdsm_models[i].stage == stage)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", vdsm_models[i].name);
}

static nn_status read_model(const struct vdsm_spec_key *k, const struct vdsm_node *n,
                            const struct vdsm_model_variant **out, struct nn_err *err)
{
    const char *sv;
    if (vdsm_scalar_string(n, k->path, &sv, err)) return err->code;
    int stage = (int)k->lo;
    const struct vdsm_model_variant *v = vdsm_model_find(sv);
    char names[512];
    model_names(stage, names, sizeof names);
    if (!v) return vdsm_spec_fail(err, n, k->path, "unknown model '%.80s' (stage %d takes: %s)", sv, stage, names);
    if (v->stage != stage)
        return vdsm_spec_fail(err, n, k->path, "'%s' is a stage-%d model (stage %d takes: %s)", sv, v->stage, stage,
                              names);
    *out = v;
    return NN_OK;
}

static nn_status store(const struct vdsm_spec_key *k, const struct vdsm_node *n, struct vdsm_spec *spec,
                       struct nn_err *err)
{
    char *field = (char *)spec + k->offset;
    int64_t iv;
    const char *sv;
    switch (k->type) {
    case VDSM_KT_INT:
        if (vdsm_scalar_int(n, k->path, (int64_t)k->lo, (int64_t)k->hi, &iv, err)) return err->code;
        *(int *)field = (int)iv;
        return NN_OK;
    case VDSM_KT_FLOAT:
        return vdsm_scalar_float(n, k->path, k->lo, k->hi, k->lo_open, k->hi_open, (double *)field, err);
    case VDSM_KT_BOOL: return vdsm_scalar_bool(n, k->path, (bool *)field, err);
    case VDSM_KT_ENUM: return vdsm_scalar_enum(n, k->path, k->choices, (int *)field, err);
    case VDSM_KT_LIST: return read_list(k, n, (unsigned *)field, err);
    case VDSM_KT_SCHEDULE: return vdsm_schedule_parse(n, k->path, (struct vdsm_schedule *)field, err);
    case VDSM_KT_MODEL: return read_model(k, n, (const struct vdsm_model_variant **)field, err);
    case VDSM_KT_STRING:
        if (vdsm_scalar_string(n, k->path, &sv, err)) return err->code;
        if (k->check && k->check(sv)) return vdsm_spec_fail(err, n, k->path, "%s, got '%.80s'", k->check(sv), sv);
        if (!(*(char **)field = strdup(sv))) return nn_err_set(err, NN_OOM, "out of memory");
        return NN_OK;
    }
    return NN_INTERNAL;
}

static nn_status resolve(const struct vdsm_node *root, struct vdsm_spec *spec, struct nn_err *err)
{
    for (size_t i = 0; i < vdsm_spec_nkeys; i++) {
        const struct vdsm_spec_key *k = &vdsm_spec_keys[i];
        const struct vdsm_node *n = find_path(root, k->path);
        struct vdsm_node *def = NULL;
        if (!n) {
            char name[PATH_LEN];
            snprintf(name, sizeof name, "default of %s", k->path);
            if (parse_value(k->def, name, &def, err)) return err->code;
            n = def;
        }
        nn_status s = store(k, n, spec, err);
        vdsm_node_free(def);
        if (s) return s;
    }
    /* schedules that depend on the stage's length */
    const struct vdsm_spec_stage *st[2] = {&spec->stage1, &spec->stage2};
    for (int j = 0; j < 2; j++) {
        for (int q = 0; q < VDSM_SCHED_COUNT; q++) {
            char path[PATH_LEN];
            snprintf(path, sizeof path, "stage%d.schedules.%s", j + 1, vdsm_annealed[q].key);
            const struct vdsm_node *n = find_path(root, path);
            char where[2 * PATH_LEN];
            struct vdsm_node loc = {.file = where};
            if (!n) snprintf(where, sizeof where, "default of %s (stage%d.epochs = %d)", path, j + 1, st[j]->epochs), n = &loc;
            if (vdsm_schedule_check(&st[j]->schedules.at[q], n, path, st[j]->epochs, err)) return err->code;
        }
    }
    return NN_OK;
}

void vdsm_spec_free(struct vdsm_spec *spec)
{
    if (!spec) return;
    for (size_t i = 0; i < vdsm_spec_nkeys; i++) {
        const struct vdsm_spec_key *k = &vdsm_spec_keys[i];
        char *field = (char *)spec + k->offset;
        if (k->type == VDSM_KT_STRING) free(*(char **)field), *(char **)field = NULL;
        if (k->type == VDSM_KT_SCHEDULE) vdsm_schedule_free((struct vdsm_schedule *)field);
    }
    free(spec->source);
    spec->source = NULL;
}

static nn_status finish(struct vdsm_node *root, const char *source, const char *const *sets, int nsets,
                        const struct vdsm_spec_override *ov, int nov, struct vdsm_spec *spec, struct nn_err *err)
{
    nn_status s = NN_OK;
    for (int i = 0; i < nsets && !s; i++) s = apply_set(root, sets[i], err);
    for (int i = 0; i < nov && !s; i++) s = apply_node(root, &ov[i], err);
    if (!s) s = check_keys(root, "", err);
    if (!s) s = resolve(root, spec, err);
    if (!s && !(spec->source = strdup(source))) s = nn_err_set(err, NN_OOM, "out of memory");
    vdsm_node_free(root);
    if (s) vdsm_spec_free(spec);
    return s;
}

nn_status vdsm_spec_load(const char *path, const char *const *sets, int nsets, struct vdsm_spec *spec,
                         struct nn_err *err)
{
    memset(spec, 0, sizeof *spec);
    struct chain *ch = calloc(1, sizeof *ch);
    if (!ch) return nn_err_set(err, NN_OOM, "out of memory");
    struct vdsm_node *root = NULL;
    nn_status s = load_tree(path, NULL, NULL, ch, &root, err);
    free(ch);
    if (s) return s;
    return finish(root, path, sets, nsets, NULL, 0, spec, err);
}

nn_status vdsm_spec_load_mem(const char *text, size_t len, const char *name, const char *base_dir,
                             const char *const *sets, int nsets, struct vdsm_spec *spec,
                             struct nn_err *err)
{
    memset(spec, 0, sizeof *spec);
    struct vdsm_node *tree = NULL, *root = NULL;
    if (vdsm_yaml_load_mem(text, len, name, &tree, err)) return err->code;
    struct chain *ch = calloc(1, sizeof *ch);
    if (!ch) {
        vdsm_node_free(tree);
        return nn_err_set(err, NN_OOM, "out of memory");
    }
    nn_status s = load_tree(name, tree, base_dir, ch, &root, err);
    free(ch);
    if (s) return s;
    return finish(root, name, sets, nsets, NULL, 0, spec, err);
}

nn_status vdsm_spec_load_over(const char *path, const struct vdsm_spec_override *ov, int nov, struct vdsm_spec *spec,
                              struct nn_err *err)
{
    memset(spec, 0, sizeof *spec);
    struct chain *ch = calloc(1, sizeof *ch);
    if (!ch) return nn_err_set(err, NN_OOM, "out of memory");
    struct vdsm_node *root = NULL;
    nn_status s = load_tree(path, NULL, NULL, ch, &root, err);
    free(ch);
    if (s) return s;
    return finish(root, path, NULL, 0, ov, nov, spec, err);
}
