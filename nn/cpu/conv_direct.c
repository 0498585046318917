/* Which of vdsm's own CPU kernel sets runs (nn/cpu/conv_direct.h): the widest this CPU has, or NN_CPU_DIRECT's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/cpu/conv_direct.h"

/* the set of that name if this CPU runs it; *known says whether the name is one */
static const struct nn_cpu_direct *named(const char *name, bool *known)
{
    *known = true;
    if (!strcmp(name, "off")) return NULL;
#if defined(NN_CPU_HAVE_DIRECT)
    __builtin_cpu_init();
    if (!strcmp(name, "avx512")) return __builtin_cpu_supports("avx512f") ? &nn_cpu_direct_avx512 : NULL;
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &nn_cpu_direct_avx2 : NULL;
#endif
    *known = !strcmp(name, "avx512") || !strcmp(name, "avx2");
    return NULL;
}

static const struct nn_cpu_direct *best(void)
{
    bool known;
    const struct nn_cpu_direct *k = named("avx512", &known);
    return k ? k : named("avx2", &known);
}

static const struct nn_cpu_direct *current;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

/* once, whichever thread asks first (a GEMM inside a parallel convolution may) */
static void choose(void)
{
    const char *env = getenv("NN_CPU_DIRECT");
    bool known = false;
    current = env && *env ? named(env, &known) : best();
    if (env && *env && (!known || (!current && strcmp(env, "off"))))
        fprintf(stderr, "NN_CPU_DIRECT=%s: %s; using %s\n", env,
                known ? "this CPU cannot run those kernels" : "not one of off, avx2, avx512",
                (current = best()) ? current->name : "im2col");
}

const struct nn_cpu_direct *nn_cpu_direct(void)
{
    pthread_once(&chosen, choose);
    return current;
}

const char *nn_cpu_kernels(void)
{
    const struct nn_cpu_direct *k = nn_cpu_direct();
    return k ? k->name : "off";
}

bool nn_cpu_direct_select(const char *name)
{
    pthread_once(&chosen, choose); /* so that the first use does not undo this */
    if (!name) {
        current = best();
        return true;
    }
    bool known;
    const struct nn_cpu_direct *k = named(name, &known);
    if (!known || (!k && strcmp(name, "off"))) return false;
    current = k;
    return true;
}
