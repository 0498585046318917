/* vdsm/schedule/anneal.c: the annealed quantities' table as data (anneal.h). */
#include "vdsm/schedule/anneal.h"

const struct vdsm_anneal_info vdsm_annealed[VDSM_SCHED_COUNT] = {
#define VDSM_X(id, field, key, column, title, log, role, doc, d1, d2) {#key, column, title, log, role, doc, {d1, d2}},
    VDSM_ANNEALED(VDSM_X)
#undef VDSM_X
};
