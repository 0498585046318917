/* nn/status.h: the status codes every layer returns, and the message that goes with them.
 *
 * One X-macro table generates the enum and its names. Library code never prints or exits:
 * it records a code and a human-readable message in an nn_err and returns; only a program's
 * main turns that into output and an exit code.
 *
 *   struct nn_err e = {0};
 *   if (npy_read(path, &arr, &e)) fprintf(stderr, "%s\n", e.msg);
 */
#ifndef NN_STATUS_H
#define NN_STATUS_H

#include <stdarg.h>

#define NN_STATUS_LIST(X)                                   \
    X(OK, "ok")                                             \
    X(SHAPE, "shape error")                                 \
    X(DTYPE, "unsupported dtype")                           \
    X(OOM, "out of memory")                                 \
    X(IO, "i/o error")                                      \
    X(PARSE, "parse error")                                 \
    X(CUDA, "CUDA error")                                   \
    X(CUBLAS, "cuBLAS error")                               \
    X(CUDNN, "cuDNN error")                                 \
    X(NAN, "non-finite value")                              \
    X(UNSUPPORTED, "unsupported")                           \
    X(INVALID, "invalid argument")                          \
    X(INTERNAL, "internal error")

typedef enum {
#define NN_X(name, str) NN_##name,
    NN_STATUS_LIST(NN_X)
#undef NN_X
    NN_STATUS_COUNT
} nn_status;

#define NN_ERR_MSG_LEN 512

/* A status with its detail. The first error wins: later errors do not overwrite it
 * (the first failure is the one a user needs to see). */
struct nn_err {
    nn_status code;
    char msg[NN_ERR_MSG_LEN];
};

const char *nn_status_str(nn_status s);

/* Records code and a printf-style message unless an error is already recorded.
 * Returns the code, so `return nn_err_set(e, NN_IO, "...")` reads naturally. */
nn_status nn_err_set(struct nn_err *e, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
nn_status nn_err_vset(struct nn_err *e, nn_status code, const char *fmt, va_list ap);
void nn_err_clear(struct nn_err *e);

#endif
