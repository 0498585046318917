/* vdsm/spec/tree.h: a YAML document as a plain tree that remembers where each node came from.
 *
 * Specs are read into this tree first (libyaml does the parsing), merged (`extends:`), patched
 * (`--set`), and only then validated against the schema, so every later error can still name
 * the file, line and column the offending value came from. Scalars keep their text and whether
 * they were quoted: a quoted "1" is a string, an unquoted 1 is a number, as in YAML's core schema.
 *
 * Ownership: a tree owns all its nodes and strings; vdsm_node_free frees a whole subtree.
 * Errors: NN_PARSE (or NN_IO / NN_OOM) with "file:line:col: what" in err.
 *
 *   struct vdsm_node *root;
 *   if (vdsm_yaml_load_file("specs/quick.yaml", &root, &err)) return err.code;
 *   const struct vdsm_node *n = vdsm_node_get(root, "model");      // a mapping or NULL
 *   vdsm_node_free(root);
 */
#ifndef VDSM_SPEC_TREE_H
#define VDSM_SPEC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nn/status.h"

enum vdsm_node_kind { VDSM_NODE_SCALAR, VDSM_NODE_MAP, VDSM_NODE_SEQ };

/* Limits that keep a hostile file (alias bombs, deep nesting) from exhausting memory. */
#define VDSM_YAML_MAX_NODES 100000
#define VDSM_YAML_MAX_DEPTH 64

struct vdsm_node {
    enum vdsm_node_kind kind;
    char *key;                  /* key in the parent mapping; NULL in a sequence or at the root */
    char *text;                 /* scalar text (never NULL for a scalar) */
    bool quoted;                /* scalar written in quotes or as a block literal */
    char *file;                 /* where it was written: a path, or "--set a.b=v" */
    int line, col;              /* 1-based; 0 when unknown (e.g. a --set value) */
    int kline, kcol;            /* position of the key in the parent mapping (0 if none) */
    struct vdsm_node **kids;    /* mapping values (in file order) or sequence items */
    size_t n, cap;
};

nn_status vdsm_yaml_load_file(const char *path, struct vdsm_node **out, struct nn_err *err);
/* Parses len bytes; `name` is used as the file in positions and messages. An empty document
 * (nothing but comments) gives an empty mapping at line 0. */
nn_status vdsm_yaml_load_mem(const char *buf, size_t len, const char *name, struct vdsm_node **out,
                             struct nn_err *err);
void vdsm_node_free(struct vdsm_node *n);
struct vdsm_node *vdsm_node_clone(const struct vdsm_node *n);

struct vdsm_node *vdsm_node_new(enum vdsm_node_kind kind, const char *text, const char *file,
                                int line, int col);
/* Appends kid (taking ownership) under key (NULL for a sequence). Returns NN_OOM on failure
 * (kid is freed). */
nn_status vdsm_node_append(struct vdsm_node *parent, const char *key, struct vdsm_node *kid);
struct vdsm_node *vdsm_node_get(const struct vdsm_node *map, const char *key);
/* Removes and returns the value of key (caller owns it), or NULL. */
struct vdsm_node *vdsm_node_take(struct vdsm_node *map, const char *key);
/* Replaces (or adds) key's value with val, taking ownership; the old value is freed. */
nn_status vdsm_node_put(struct vdsm_node *map, const char *key, struct vdsm_node *val);

/* "file:line:col" (or just "file" without a line) into buf; returns buf. */
const char *vdsm_node_where(const struct vdsm_node *n, char *buf, size_t len);

#endif
