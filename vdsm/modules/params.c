/* vdsm/modules/params.c: the parameter-list helper shared by the modules. */
#include "vdsm/modules/params.h"

#include <stdio.h>

void vdsm_param_add(struct vdsm_param *out, int cap, int *n, const char *prefix, const char *name,
                    struct nn_tensor *t)
{
    if (*n < 0 || !t) return;
    if (*n >= cap) {
        *n = -1;
        return;
    }
    snprintf(out[*n].name, VDSM_PARAM_NAME_LEN, "%s%s", prefix ? prefix : "", name);
    out[*n].t = t;
    t->name = NULL; /* names live in the list; tensors may be shared by several lists */
    (*n)++;
}
