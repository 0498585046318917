/* vdsm/spec/emit.c: the resolved spec as canonical YAML, its hash, and docs/specs.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/model/registry.h"
#include "vdsm/spec/scalar.h"
#include "vdsm/spec/schema.h"
#include "vdsm/spec/spec.h"

struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
};

static void sb_put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || b->oom) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)need + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static void choice(const char *choices, int idx, char *out, size_t len)
{
    const char *c = choices;
    for (int i = 0; i < idx && c; i++) {
        c = strchr(c, '|');
        if (c) c++;
    }
    if (!c) c = "?";
    snprintf(out, len, "%.*s", (int)strcspn(c, "|"), c);
}

static void quoted(struct sbuf *b, const char *s)
{
    sb_put(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') sb_put(b, "\\%c", ch);
        else if (ch < 0x20) sb_put(b, "\\x%02x", ch);
        else sb_put(b, "%c", ch);
    }
    sb_put(b, "\"");
}

static void value(struct sbuf *b, const struct vdsm_spec_key *k, const struct vdsm_spec *spec)
{
    const char *field = (const char *)spec + k->offset;
    char tmp[2048];
    switch (k->type) {
    case VDSM_KT_INT: sb_put(b, "%d", *(const int *)field); break;
    case VDSM_KT_FLOAT: vdsm_format_double(*(const double *)field, tmp, sizeof tmp), sb_put(b, "%s", tmp); break;
    case VDSM_KT_BOOL: sb_put(b, "%s", *(const bool *)field ? "true" : "false"); break;
    case VDSM_KT_STRING: quoted(b, *(char *const *)field ? *(char *const *)field : ""); break;
    case VDSM_KT_ENUM: choice(k->choices, *(const int *)field, tmp, sizeof tmp), sb_put(b, "%s", tmp); break;
    case VDSM_KT_LIST: {
        unsigned mask = *(const unsigned *)field;
        int first = 1;
        sb_put(b, "[");
        for (int i = 0; i < 32; i++)
            if (mask & (1u << i)) {
                choice(k->choices, i, tmp, sizeof tmp);
                sb_put(b, "%s%s", first ? "" : ", ", tmp);
                first = 0;
            }
        sb_put(b, "]");
        break;
    }
    case VDSM_KT_MODEL: {
        const struct vdsm_model_variant *v = *(const struct vdsm_model_variant *const *)field;
        sb_put(b, "%s", v ? v->name : "?");
        break;
    }
    case VDSM_KT_SCHEDULE: {
        size_t need = vdsm_schedule_format((const struct vdsm_schedule *)field, NULL, 0) + 1;
        char *s = malloc(need);
        if (!s) {
            b->oom = true;
            break;
        }
        vdsm_schedule_format((const struct vdsm_schedule *)field, s, need);
        sb_put(b, "%s", s);
        free(s);
        break;
    }
    }
}

/* Number of leading dotted segments two paths share. */
static int common_depth(const char *a, const char *b)
{
    int d = 0;
    for (;;) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        if (!a[la] || !b[lb] || la != lb || strncmp(a, b, la)) return d;
        d++;
        a += la + 1;
        b += lb + 1;
    }
}

char *vdsm_spec_to_yaml(const struct vdsm_spec *spec)
{
    struct sbuf b = {0};
    sb_put(&b, "# resolved vdsm spec (every key; docs/specs.md describes them)\n");
    const char *prev = "";
    for (size_t i = 0; i < vdsm_spec_nkeys; i++) {
        const struct vdsm_spec_key *k = &vdsm_spec_keys[i];
        int d = common_depth(prev, k->path), depth = 0;
        const char *seg = k->path;
        /* open the sections this key enters */
        for (;; depth++) {
            size_t l = strcspn(seg, ".");
            if (!seg[l]) break;
            if (depth >= d) sb_put(&b, "%*s%.*s:\n", 2 * depth, "", (int)l, seg);
            seg += l + 1;
        }
        sb_put(&b, "%*s%s: ", 2 * depth, "", seg);
        value(&b, k, spec);
        sb_put(&b, "\n");
        prev = k->path;
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

nn_status vdsm_spec_write(const struct vdsm_spec *spec, FILE *f, struct nn_err *err)
{
    char *s = vdsm_spec_to_yaml(spec);
    if (!s) return nn_err_set(err, NN_OOM, "out of memory writing the spec");
    size_t n = strlen(s);
    int bad = fwrite(s, 1, n, f) != n;
    free(s);
    if (bad) return nn_err_set(err, NN_IO, "cannot write the resolved spec");
    return NN_OK;
}

uint64_t vdsm_spec_hash(const struct vdsm_spec *spec)
{
    char *s = vdsm_spec_to_yaml(spec);
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64 */
    for (const char *p = s ? s : ""; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    free(s);
    return h;
}

/* ---- docs/specs.md */

static const char *type_name(const struct vdsm_spec_key *k)
{
    switch (k->type) {
    case VDSM_KT_INT: return "int";
    case VDSM_KT_FLOAT: return "float";
    case VDSM_KT_BOOL: return "bool";
    case VDSM_KT_STRING: return "string";
    case VDSM_KT_ENUM: return "enum";
    case VDSM_KT_LIST: return "list";
    case VDSM_KT_SCHEDULE: return "schedule";
    case VDSM_KT_MODEL: return "model";
    }
    return "?";
}

static void allowed(struct sbuf *b, const struct vdsm_spec_key *k)
{
    char r[100];
    if (k->type == VDSM_KT_INT || k->type == VDSM_KT_FLOAT) {
        vdsm_format_range(k->lo, k->hi, k->lo_open, k->hi_open, k->type == VDSM_KT_INT, r, sizeof r);
        sb_put(b, "%s", r);
    } else if (k->type == VDSM_KT_ENUM || k->type == VDSM_KT_LIST) {
        for (const char *c = k->choices; *c;) {
            size_t l = strcspn(c, "|");
            sb_put(b, "%s`%.*s`", c == k->choices ? "" : ", ", (int)l, c);
            c += l + (c[l] ? 1 : 0);
        }
    } else if (k->type == VDSM_KT_BOOL) {
        sb_put(b, "`true`, `false`");
    } else if (k->type == VDSM_KT_SCHEDULE) {
        sb_put(b, "a curve (below)");
    } else if (k->type == VDSM_KT_MODEL) {
        int first = 1;
        for (size_t i = 0; i < vdsm_nmodels; i++)
            if (vdsm_models[i].stage == (int)k->lo) sb_put(b, "%s`%s`", first ? "" : ", ", vdsm_models[i].name), first = 0;
    }
}

static const char doc_head[] =
    "# Spec reference\n\n"
    "<!-- Generated from vdsm/spec/schema.c, vdsm/schedule/anneal.h, vdsm/model/models.def and\n"
    "     vdsm/schedule/curves.def by vdsm_spec_doc_markdown(); test_vdsm_spec_doc checks it is\n"
    "     current. Regenerate: VDSM_REGEN_DOCS=1 build/test_vdsm_spec_doc -->\n\n"
    "A spec is a YAML file that describes one experiment. `vdsm train SPEC`, `vdsm schedule SPEC` and\n"
    "the other commands read it, check it against the table below and refuse to run if anything is\n"
    "wrong: an unknown key, a value of the wrong type or out of range is reported as\n"
    "`file:line:col: key.path: what`. A spec file with no document (empty, or\n"
    "comments only) and an empty `stages` list are errors.\n"
    "`vdsm train` also checks `dataset.channels`, `dataset.image_size` and each trained stage's\n"
    "`seq_len` against the dataset before it touches the run directory.\n\n"
    "- `extends: base.yaml` (a path relative to the spec's folder) starts from another spec and\n"
    "  deep-merges this one over it; bases can extend further bases (cycles are refused). Sections\n"
    "  merge key by key; a schedule or list is replaced whole.\n"
    "- `--set key.path=value` on the command line overrides any key after `extends`; the value is read\n"
    "  as YAML (`--set stage1.schedules.pose_kl='{curve: constant, value: 1}'` works), and errors name\n"
    "  the `--set` argument.\n"
    "- Keys left out take the defaults below, which are the original release's MUG-FED settings\n"
    "  where the release has the setting.\n"
    "- A run writes its resolved spec (every key) to its run directory; checkpoints record the\n"
    "  FNV-1a hash of that text.\n\n";

static const char doc_models[] =
    "## Models\n\n"
    "`stage1.model` and `stage2.model` name a model/guide pair of vdsm/model/models.def; a name of\n"
    "the other stage is refused. docs/model.md shows how to add one.\n\n"
    "| model | stage | description |\n"
    "|---|---|---|\n";

static const char doc_tail[] =
    "## Schedules\n\n"
    "Each schedule gives one value per epoch of its stage. Any curve accepts `clip: [lo, hi]`.\n"
    "Fractions are of the stage's epochs. docs/schedules.md shows the curves and the original's formulas.\n\n"
    "| curve | parameters | value at epoch i of E |\n"
    "|---|---|---|\n";

char *vdsm_spec_doc_markdown(void)
{
    struct sbuf b = {0};
    sb_put(&b, "%s", doc_head);
    char section[128] = "-";
    for (size_t i = 0; i < vdsm_spec_nkeys; i++) {
        const struct vdsm_spec_key *k = &vdsm_spec_keys[i];
        const char *dot = strrchr(k->path, '.');
        char sec[128];
        snprintf(sec, sizeof sec, "%.*s", dot ? (int)(dot - k->path) : 0, k->path);
        if (strcmp(sec, section)) {
            snprintf(section, sizeof section, "%s", sec);
            sb_put(&b, "%s## %s\n\n| key | type | default | allowed | description |\n|---|---|---|---|---|\n",
                   i ? "\n" : "", *sec ? sec : "top level");
        }
        sb_put(&b, "| `%s` | %s | `%s` | ", k->path, type_name(k), k->def);
        allowed(&b, k);
        sb_put(&b, " | %s |\n", k->doc);
    }
    sb_put(&b, "\n%s", doc_models);
    for (size_t m = 0; m < vdsm_nmodels; m++)
        sb_put(&b, "| `%s` | %d | %s |\n", vdsm_models[m].name, vdsm_models[m].stage, vdsm_models[m].doc);
    sb_put(&b, "\n%s", doc_tail);
    for (int c = 0; c < VDSM_CURVE_COUNT; c++)
        sb_put(&b, "| `%s` | %s | %s |\n", vdsm_curves[c].name, vdsm_curves[c].params, vdsm_curves[c].doc);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
