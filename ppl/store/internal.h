/* ppl/store/internal.h: shared by safetensors.c (save, load) and safetensors_check.c (reading
 * and checking a file before anything is loaded); not a public interface. */
#ifndef PPL_STORE_INTERNAL_H
#define PPL_STORE_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ppl/store/store.h"

/* ".adam_m", ".adam_v", ".adam_step", ".adam_lr": optimizer state kinds 0..3 */
extern const char *const ppl__st_opt_suffix[4];

/* one tensor of a file, checked against the file's size */
struct ppl__st_view {
    const char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    int64_t n;                  /* numel */
    uint64_t b, e;              /* data offsets */
    const uint8_t *v;           /* n floats, little-endian, maybe unaligned */
    int kind;                   /* opt_kind: -1 a parameter */
    size_t base_len;            /* optimizer state: length of its parameter's name */
};

/* a parsed file: its header and the checked views, sorted by data offset */
struct ppl__st_parsed {
    uint8_t *buf;
    size_t size;
    cJSON *root;
    const cJSON *meta;
    struct ppl__st_view *w;
    int n;
};

/* the checksum of ppl.checksum over data and the views (sorted by offset) */
uint64_t ppl__st_checksum(const uint8_t *data, size_t data_len, const struct ppl__st_view *w, int n);
/* Reads (a regular file only) and checks a whole file: header, offsets tiling the data, whole
 * optimizer groups, the checksum when present, finite values. On failure p is freed. */
nn_status ppl__st_parse_file(const char *path, struct ppl__st_parsed *p, struct nn_err *err);
/* the same on p->buf / p->size, already filled (owned by p) */
nn_status ppl__st_parse_buf(const char *path, struct ppl__st_parsed *p, struct nn_err *err);
void ppl__st_parsed_free(struct ppl__st_parsed *p);
/* optimizer state refers to a parameter of the file with matching sizes */
nn_status ppl__st_check_opt(const char *path, const struct ppl__st_parsed *p, struct nn_err *err);
/* the file's tensors are exactly s's parameters (same shapes) and their optimizer state */
nn_status ppl__st_check_exact(const struct ppl_param_store *s, const char *path, const struct ppl__st_parsed *p,
                              struct nn_err *err);
/* every parameter of s that requires grad has its optimizer state in the file */
nn_status ppl__st_check_trained_optim(const struct ppl_param_store *s, const char *path,
                                      const struct ppl__st_parsed *p, struct nn_err *err);

#endif
