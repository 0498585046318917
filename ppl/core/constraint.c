/* Parameter constraints as transforms of an unconstrained tensor (Pyro's biject_to). */
#include <math.h>
#include <string.h>

#include "ppl/core/primitives.h"

static const char *const names[PPL_CONSTRAINT_COUNT] = {"real", "positive", "unit_interval", "simplex"};

const char *ppl_constraint_name(int c) { return c >= 0 && c < PPL_CONSTRAINT_COUNT ? names[c] : "?"; }

int ppl_constraint_from_name(const char *s)
{
    for (int c = 0; c < PPL_CONSTRAINT_COUNT; c++)
        if (!strcmp(s, names[c])) return c;
    return -1;
}

struct nn_tensor *ppl_constraint_transform(nn_ctx *nn, int c, struct nn_tensor *u)
{
    switch (c) {
    case PPL_POSITIVE: return nn_exp(nn, u);
    case PPL_UNIT_INTERVAL: return nn_sigmoid(nn, u);
    case PPL_SIMPLEX: return nn_softmax(nn, u, -1);
    default: return u;
    }
}

void ppl_constraint_inverse_host(int c, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (c == PPL_POSITIVE || c == PPL_SIMPLEX) v = log(v);
        else if (c == PPL_UNIT_INTERVAL) v = log(v) - log1p(-v);
        x[i] = (float)v;
    }
}
