/* vdsm/data/meta_read.c: reading meta.yaml with libyaml's document API. Every problem names the
 * file, the key and the line, because meta.yaml is a file people edit by hand. */
#include "vdsm/data/meta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct rd {
    yaml_document_t *doc;
    const char *path;
    struct nn_err *e;
};

static yaml_node_t *get(struct rd *r, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
            return yaml_document_get_node(r->doc, p->value);
    }
    return NULL;
}

static nn_status bad(struct rd *r, yaml_node_t *n, const char *key, const char *what)
{
    return nn_err_set(r->e, NN_PARSE, "%s:%lu: '%s' %s", r->path,
                      n ? (unsigned long)n->start_mark.line + 1 : 0ul, key, what);
}

static const char *scalar(struct rd *r, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = get(r, map, key);
    if (!n) {
        bad(r, map, key, "is missing");
        return NULL;
    }
    if (n->type != YAML_SCALAR_NODE) {
        bad(r, n, key, "must be a scalar");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int to_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '-') return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *out = (size_t)v;
    return 1;
}

/* A flow or block sequence of exactly n unsigned integers. */
static nn_status sizes(struct rd *r, yaml_node_t *map, const char *key, size_t *out, int n)
{
    yaml_node_t *s = get(r, map, key);
    if (!s) return bad(r, map, key, "is missing");
    if (s->type != YAML_SEQUENCE_NODE || s->data.sequence.items.top - s->data.sequence.items.start != n) {
        char what[64];
        snprintf(what, sizeof what, "must be a list of %d non-negative integers", n);
        return bad(r, s, key, what);
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(r->doc, s->data.sequence.items.start[i]);
        if (!it || it->type != YAML_SCALAR_NODE || !to_size((char *)it->data.scalar.value, &out[i]))
            return bad(r, it ? it : s, key, "has an entry that is not a non-negative integer");
    }
    return NN_OK;
}

static nn_status read_factor(struct rd *r, struct vdsm_meta *m, yaml_node_t *f)
{
    if (!f || f->type != YAML_MAPPING_NODE) return bad(r, f, "factors", "entries must be mappings");
    const char *name = scalar(r, f, "name"), *kind = scalar(r, f, "kind");
    if (!name || !kind) return r->e->code;
    if (strcmp(kind, "identity") && strcmp(kind, "dynamics"))
        return bad(r, get(r, f, "kind"), "kind", "must be identity or dynamics");
    yaml_node_t *c = get(r, f, "classes");
    if (!c || c->type != YAML_SEQUENCE_NODE) return bad(r, c ? c : f, "classes", "must be a list");
    long n = (long)(c->data.sequence.items.top - c->data.sequence.items.start);
    if (n < 1 || n > 100000) return bad(r, c, "classes", "must have between 1 and 100000 entries");
    const char **names = calloc((size_t)n, sizeof *names);
    if (!names) return nn_err_set(r->e, NN_OOM, "%s: out of memory", r->path);
    for (long i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(r->doc, c->data.sequence.items.start[i]);
        if (!it || it->type != YAML_SCALAR_NODE) {
            free(names);
            return bad(r, it ? it : c, "classes", "entries must be scalars");
        }
        names[i] = (const char *)it->data.scalar.value;
    }
    nn_status s = vdsm_meta_add_factor(m, name, !strcmp(kind, "identity"), (int)n, names, r->e);
    free(names);
    return s;
}

static nn_status read_root(struct rd *r, struct vdsm_meta *m, yaml_node_t *root)
{
    if (!root || root->type != YAML_MAPPING_NODE) return bad(r, root, "(document)", "must be a mapping");
    const char *fmt = scalar(r, root, "format"), *name = scalar(r, root, "name");
    if (!fmt || !name) return r->e->code;
    if (strcmp(fmt, "vdsm-dataset")) return bad(r, get(r, root, "format"), "format", "must be vdsm-dataset");
    free(m->name);
    m->name = strdup(name);
    if (sizes(r, root, "shape", m->shape, 5)) return r->e->code;
    yaml_node_t *split = get(r, root, "split");
    if (!split) return bad(r, root, "split", "is missing");
    if (sizes(r, split, "train", m->train, 2) || sizes(r, split, "test", m->test, 2)) return r->e->code;
    if (m->train[0] > m->train[1] || m->test[0] > m->test[1] || m->train[1] > m->shape[0] ||
        m->test[1] > m->shape[0] || (m->train[1] > m->test[0] && m->test[1] > m->train[0]))
        return bad(r, split, "split", "ranges must lie in [0, N] and not overlap");
    yaml_node_t *fs = get(r, root, "factors");
    if (!fs || fs->type != YAML_SEQUENCE_NODE) return bad(r, fs ? fs : root, "factors", "must be a list");
    for (yaml_node_item_t *it = fs->data.sequence.items.start; it < fs->data.sequence.items.top; it++)
        if (read_factor(r, m, yaml_document_get_node(r->doc, *it))) return r->e->code;
    yaml_node_t *gen = get(r, root, "generator");
    if (!gen || gen->type != YAML_MAPPING_NODE) return bad(r, gen ? gen : root, "generator", "must be a mapping");
    for (yaml_node_pair_t *p = gen->data.mapping.pairs.start; p < gen->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(r->doc, p->key), *v = yaml_document_get_node(r->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
            return bad(r, k, "generator", "entries must be scalars");
        if (!strcmp((char *)k->data.scalar.value, "seed")) {
            size_t seed;
            if (!to_size((char *)v->data.scalar.value, &seed)) return bad(r, v, "seed", "must be an integer");
            m->seed = seed;
        } else {
            vdsm_meta_set_param(m, (char *)k->data.scalar.value, "%s", (char *)v->data.scalar.value);
        }
    }
    return NN_OK;
}

nn_status vdsm_meta_read(const char *path, struct vdsm_meta *m, struct nn_err *e)
{
    vdsm_meta_init(m, "");
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        nn_err_set(e, NN_PARSE, "%s:%lu:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
                   (unsigned long)parser.problem_mark.column + 1,
                   parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        fclose(f);
        return e->code;
    }
    struct rd r = {&doc, path, e};
    read_root(&r, m, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (e->code) vdsm_meta_free(m);
    return e->code;
}
