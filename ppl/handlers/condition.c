/* poutine.condition: named sites become observed. Lookups are linear: conditioning is for a
 * handful of names (data usually arrives through obs=). */
#include <string.h>

#include "ppl/handlers/handlers.h"

static void condition_process(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_condition *h = (struct ppl_condition *)m;
    if (msg->type != PPL_MSG_SAMPLE) return;
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->names[i], msg->name)) {
            msg->value = h->values[i];
            msg->is_observed = true;
            return;
        }
    (void)ctx;
}

void ppl_condition_init(struct ppl_condition *h, int n, const char *const *names,
                        struct nn_tensor *const *values)
{
    *h = (struct ppl_condition){.m = {.process = condition_process, .kind = "condition"},
                                .n = n, .names = names, .values = values};
}
