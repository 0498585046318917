/* vdsm/spec/schema.h: the spec schema table (internal to vdsm/spec and its tests).
 *
 * One row per leaf key: its dotted path, type, where it lives in struct vdsm_spec, its range
 * or choices, its default (as YAML text, so defaults go through the same validation as user
 * values) and its documentation. Sections ("model", "stage1.schedules") are the path prefixes.
 */
#ifndef VDSM_SPEC_SCHEMA_H
#define VDSM_SPEC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "vdsm/spec/spec.h"

enum vdsm_key_type {
    VDSM_KT_INT,      /* int */
    VDSM_KT_FLOAT,    /* double */
    VDSM_KT_BOOL,     /* bool */
    VDSM_KT_STRING,   /* char * (owned) */
    VDSM_KT_ENUM,     /* int index into choices */
    VDSM_KT_LIST,     /* list of choices, unsigned bit mask (bit i = choice i) */
    VDSM_KT_SCHEDULE, /* struct vdsm_schedule */
    VDSM_KT_MODEL,    /* const struct vdsm_model_variant * (vdsm/model/registry.h) of stage lo */
};

struct vdsm_spec_key {
    const char *path;
    enum vdsm_key_type type;
    size_t offset;
    double lo, hi;
    bool lo_open, hi_open;
    const char *choices;  /* "a|b|c" for enum and list */
    const char *def;      /* YAML text */
    const char *doc;
    /* extra check for strings: returns a message fragment on failure, NULL when fine */
    const char *(*check)(const char *value);
};

extern const struct vdsm_spec_key vdsm_spec_keys[];
extern const size_t vdsm_spec_nkeys;

const struct vdsm_spec_key *vdsm_spec_key_find(const char *path);
/* true when path is a section (a prefix of some key followed by '.') */
bool vdsm_spec_is_section(const char *path);
/* The known key or section under `parent` (NULL = top level) closest to `name` (edit distance
 * at most 2), for "did you mean" hints; NULL if none. */
const char *vdsm_spec_suggest(const char *parent, const char *name, char *buf, size_t len);

#endif
