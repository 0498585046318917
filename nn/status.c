#include "nn/status.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
#define NN_X(name, str) str,
    NN_STATUS_LIST(NN_X)
#undef NN_X
};

const char *nn_status_str(nn_status s)
{
    if ((unsigned)s >= NN_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

nn_status nn_err_vset(struct nn_err *e, nn_status code, const char *fmt, va_list ap)
{
    if (!e || e->code != NN_OK) return code;
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

nn_status nn_err_set(struct nn_err *e, nn_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

void nn_err_clear(struct nn_err *e)
{
    e->code = NN_OK;
    e->msg[0] = '\0';
}
