/* vdsm/spec/tree.c: building the position-aware tree from libyaml's event stream.
 *
 * Events rather than libyaml's document API: we need each node's mark, and refusing aliases at
 * the event level means a crafted file cannot expand into billions of nodes. */
#include "vdsm/spec/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct builder {
    yaml_parser_t p;
    const char *name;
    struct nn_err *err;
    size_t count;
};

struct vdsm_node *vdsm_node_new(enum vdsm_node_kind kind, const char *text, const char *file,
                                int line, int col)
{
    struct vdsm_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->file = strdup(file ? file : "");
    n->text = kind == VDSM_NODE_SCALAR ? strdup(text ? text : "") : NULL;
    if (!n->file || (kind == VDSM_NODE_SCALAR && !n->text)) {
        vdsm_node_free(n);
        return NULL;
    }
    return n;
}

void vdsm_node_free(struct vdsm_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) vdsm_node_free(n->kids[i]);
    free(n->kids);
    free(n->key);
    free(n->text);
    free(n->file);
    free(n);
}

nn_status vdsm_node_append(struct vdsm_node *parent, const char *key, struct vdsm_node *kid)
{
    if (key) {
        free(kid->key);
        kid->key = strdup(key);
        if (!kid->key) goto oom;
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct vdsm_node **k = realloc(parent->kids, cap * sizeof *k);
        if (!k) goto oom;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return NN_OK;
oom:
    vdsm_node_free(kid);
    return NN_OOM;
}

struct vdsm_node *vdsm_node_clone(const struct vdsm_node *n)
{
    if (!n) return NULL;
    struct vdsm_node *c = vdsm_node_new(n->kind, n->text, n->file, n->line, n->col);
    if (!c) return NULL;
    c->quoted = n->quoted;
    c->kline = n->kline;
    c->kcol = n->kcol;
    for (size_t i = 0; i < n->n; i++) {
        struct vdsm_node *k = vdsm_node_clone(n->kids[i]);
        if (!k || vdsm_node_append(c, n->kids[i]->key, k)) {
            vdsm_node_free(c);
            return NULL;
        }
    }
    return c;
}

static ptrdiff_t find(const struct vdsm_node *map, const char *key)
{
    if (!map || map->kind != VDSM_NODE_MAP) return -1;
    for (size_t i = 0; i < map->n; i++)
        if (map->kids[i]->key && !strcmp(map->kids[i]->key, key)) return (ptrdiff_t)i;
    return -1;
}

struct vdsm_node *vdsm_node_get(const struct vdsm_node *map, const char *key)
{
    ptrdiff_t i = find(map, key);
    return i < 0 ? NULL : map->kids[i];
}

struct vdsm_node *vdsm_node_take(struct vdsm_node *map, const char *key)
{
    ptrdiff_t i = find(map, key);
    if (i < 0) return NULL;
    struct vdsm_node *v = map->kids[i];
    memmove(map->kids + i, map->kids + i + 1, (map->n - (size_t)i - 1) * sizeof *map->kids);
    map->n--;
    return v;
}

nn_status vdsm_node_put(struct vdsm_node *map, const char *key, struct vdsm_node *val)
{
    ptrdiff_t i = find(map, key);
    if (i < 0) return vdsm_node_append(map, key, val);
    free(val->key);
    val->key = strdup(key);
    if (!val->key) {
        vdsm_node_free(val);
        return NN_OOM;
    }
    vdsm_node_free(map->kids[i]);
    map->kids[i] = val;
    return NN_OK;
}

const char *vdsm_node_where(const struct vdsm_node *n, char *buf, size_t len)
{
    if (!n) snprintf(buf, len, "?");
    else if (n->line > 0) snprintf(buf, len, "%s:%d:%d", n->file, n->line, n->col);
    else snprintf(buf, len, "%s", n->file);
    return buf;
}

/* ---- parsing */

static nn_status fail_at(struct builder *b, const yaml_mark_t *m, const char *what)
{
    return nn_err_set(b->err, NN_PARSE, "%s:%zu:%zu: %s", b->name, m->line + 1, m->column + 1, what);
}

static nn_status parser_error(struct builder *b)
{
    const char *prob = b->p.problem ? b->p.problem : "malformed YAML";
    if (b->p.context)
        return nn_err_set(b->err, NN_PARSE, "%s:%zu:%zu: %s %s", b->name, b->p.problem_mark.line + 1,
                          b->p.problem_mark.column + 1, prob, b->p.context);
    return fail_at(b, &b->p.problem_mark, prob);
}

static nn_status next(struct builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->p, ev)) return parser_error(b);
    return NN_OK;
}

static struct vdsm_node *new_at(struct builder *b, enum vdsm_node_kind k, const char *text,
                                const yaml_mark_t *m)
{
    if (++b->count > VDSM_YAML_MAX_NODES) {
        fail_at(b, m, "too many nodes for a spec");
        return NULL;
    }
    struct vdsm_node *n = vdsm_node_new(k, text, b->name, (int)m->line + 1, (int)m->column + 1);
    if (!n) nn_err_set(b->err, NN_OOM, "%s: out of memory", b->name);
    return n;
}

static nn_status parse_node(struct builder *b, yaml_event_t *ev, int depth, struct vdsm_node **out);

/* Reads the children of a mapping or sequence whose start event has been consumed. */
static nn_status parse_kids(struct builder *b, struct vdsm_node *n, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (next(b, &ev)) return b->err->code;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return NN_OK;
        }
        char *key = NULL;
        yaml_mark_t km = ev.start_mark;
        if (n->kind == VDSM_NODE_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                fail_at(b, &ev.start_mark, "mapping keys must be plain scalars");
                yaml_event_delete(&ev);
                return b->err->code;
            }
            key = strdup((char *)ev.data.scalar.value);
            yaml_event_delete(&ev);
            if (!key) return nn_err_set(b->err, NN_OOM, "%s: out of memory", b->name);
            if (vdsm_node_get(n, key)) {
                char what[160];
                snprintf(what, sizeof what, "duplicate key '%.100s'", key);
                free(key);
                return fail_at(b, &km, what);
            }
            if (next(b, &ev)) {
                free(key);
                return b->err->code;
            }
        }
        struct vdsm_node *kid = NULL;
        nn_status s = parse_node(b, &ev, depth + 1, &kid);
        if (!s && key) kid->kline = (int)km.line + 1, kid->kcol = (int)km.column + 1;
        if (!s && vdsm_node_append(n, key, kid)) s = nn_err_set(b->err, NN_OOM, "%s: out of memory", b->name);
        free(key);
        if (s) return s;
    }
}

/* Takes ownership of ev (a node's first event). */
static nn_status parse_node(struct builder *b, yaml_event_t *ev, int depth, struct vdsm_node **out)
{
    yaml_mark_t m = ev->start_mark;
    nn_status s = NN_OK;
    *out = NULL;
    if (depth > VDSM_YAML_MAX_DEPTH) {
        s = fail_at(b, &m, "nesting too deep");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        *out = new_at(b, VDSM_NODE_SCALAR, (char *)ev->data.scalar.value, &m);
        if (*out) (*out)->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        else s = b->err->code;
    } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
        enum vdsm_node_kind k = ev->type == YAML_MAPPING_START_EVENT ? VDSM_NODE_MAP : VDSM_NODE_SEQ;
        *out = new_at(b, k, NULL, &m);
        s = *out ? parse_kids(b, *out, depth) : b->err->code;
    } else if (ev->type == YAML_ALIAS_EVENT) {
        s = fail_at(b, &m, "aliases are not supported in specs (use extends: to share settings)");
    } else {
        s = fail_at(b, &m, "unexpected YAML event");
    }
    yaml_event_delete(ev);
    if (s) {
        vdsm_node_free(*out);
        *out = NULL;
    }
    return s;
}

static nn_status parse_stream(struct builder *b, struct vdsm_node **out)
{
    yaml_event_t ev;
    *out = NULL;
    for (;;) {
        if (next(b, &ev)) goto fail;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            if (*out) {
                fail_at(b, &b->p.mark, "a spec holds a single YAML document");
                goto fail;
            }
            if (next(b, &ev)) goto fail;
            if (parse_node(b, &ev, 0, out)) goto fail;
            continue;
        }
        fail_at(b, &ev.start_mark, "unexpected YAML event");
        yaml_event_delete(&ev);
        goto fail;
    }
    if (!*out) {
        yaml_mark_t m = {0};
        *out = new_at(b, VDSM_NODE_MAP, NULL, &m);
        if (!*out) goto fail;
        (*out)->line = (*out)->col = 0;   /* no document at all (not `{}`): nowhere in the file */
    }
    if ((*out)->kind != VDSM_NODE_MAP) {
        char where[64];
        snprintf(where, sizeof where, "%d:%d", (*out)->line, (*out)->col);
        nn_err_set(b->err, NN_PARSE, "%s:%s: a spec must be a mapping of keys to values", b->name, where);
        goto fail;
    }
    return NN_OK;
fail:
    vdsm_node_free(*out);
    *out = NULL;
    return b->err->code ? b->err->code : NN_PARSE;
}

nn_status vdsm_yaml_load_mem(const char *buf, size_t len, const char *name, struct vdsm_node **out,
                             struct nn_err *err)
{
    struct builder b = {.name = name, .err = err};
    if (!yaml_parser_initialize(&b.p)) return nn_err_set(err, NN_OOM, "%s: cannot start libyaml", name);
    yaml_parser_set_input_string(&b.p, (const unsigned char *)buf, len);
    nn_status s = parse_stream(&b, out);
    yaml_parser_delete(&b.p);
    return s;
}

nn_status vdsm_yaml_load_file(const char *path, struct vdsm_node **out, struct nn_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(err, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        if (cap >= (size_t)16 << 20) {
            free(buf);
            fclose(f);
            return nn_err_set(err, NN_PARSE, "%s: larger than 16 MiB, not a spec", path);
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return nn_err_set(err, NN_OOM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return nn_err_set(err, NN_IO, "%s: read error", path);
    }
    nn_status s = vdsm_yaml_load_mem(buf, len, path, out, err);
    free(buf);
    return s;
}
