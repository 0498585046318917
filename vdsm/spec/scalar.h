/* vdsm/spec/scalar.h: typed reading of spec tree nodes, and the one error format every spec
 * problem uses: "<file>:<line>:<col>: <key.path>: <what>".
 *
 * Scalars follow YAML's core schema: integers are decimal (or 0x / 0o), floats are decimal or
 * exponent notation (.inf / .nan are refused: no schedule or size wants them), booleans are
 * true/false. A quoted scalar is always a string. Each reader returns NN_OK or NN_PARSE with
 * a message naming the node's position and `path`.
 *
 *   double lr;
 *   if (vdsm_scalar_float(node, "stage1.lr", 0, 10, true, false, &lr, &err)) return err.code;
 */
#ifndef VDSM_SPEC_SCALAR_H
#define VDSM_SPEC_SCALAR_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/spec/tree.h"

/* Records NN_PARSE "<where>: <path>: <fmt...>" for node n. */
nn_status vdsm_spec_fail(struct nn_err *err, const struct vdsm_node *n, const char *path,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Plain parses without messages (return false when s is not of the type). */
bool vdsm_parse_int(const char *s, int64_t *out);
bool vdsm_parse_float(const char *s, double *out);
bool vdsm_parse_bool(const char *s, bool *out);

/* Range-checked reads: [lo, hi] for ints; for floats lo_open / hi_open make the ends open. */
nn_status vdsm_scalar_int(const struct vdsm_node *n, const char *path, int64_t lo, int64_t hi,
                          int64_t *out, struct nn_err *err);
nn_status vdsm_scalar_float(const struct vdsm_node *n, const char *path, double lo, double hi,
                            bool lo_open, bool hi_open, double *out, struct nn_err *err);
nn_status vdsm_scalar_bool(const struct vdsm_node *n, const char *path, bool *out, struct nn_err *err);
/* choices is "a|b|c"; *out gets the index */
nn_status vdsm_scalar_enum(const struct vdsm_node *n, const char *path, const char *choices,
                           int *out, struct nn_err *err);
nn_status vdsm_scalar_string(const struct vdsm_node *n, const char *path, const char **out,
                             struct nn_err *err);

/* Shortest decimal text that reads back as the same double ("0.1", "1e-05", "30"). */
void vdsm_format_double(double v, char *buf, size_t len);
/* The range as a message fragment: "[1, 512]", "(0, 10]", "at least 0". */
void vdsm_format_range(double lo, double hi, bool lo_open, bool hi_open, bool integer, char *buf,
                       size_t len);

#endif
