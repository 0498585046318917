/* The loader of the CUDA backend's module (gpu/plugin.h). Built into every program, whether or
 * not the backend is: it has no CUDA dependency of its own. */
#include "gpu/plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Defined by gpu/backend.c; present only in a program that links the backend itself. */
extern const struct gpu_api gpu_plugin_api __attribute__((weak));

static struct {
    int tried;
    const struct gpu_api *api;
    struct nn_err err;
    char path[PATH_MAX];
} loaded;

#ifdef VDSM_HAVE_CUDA
/* libvdsm_gpu.so beside the executable, unless VDSM_GPU_PLUGIN names one */
static int module_path(char *path, size_t cap)
{
    const char *env = getenv("VDSM_GPU_PLUGIN");
    if (env && *env) return snprintf(path, cap, "%s", env) < (int)cap ? 0 : -1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    return snprintf(path, cap, "%s/libvdsm_gpu.so", slash ? exe : ".") < (int)cap ? 0 : -1;
}

static void load(void)
{
    if (module_path(loaded.path, sizeof loaded.path)) {
        nn_err_set(&loaded.err, NN_IO, "CUDA backend: cannot form the plug-in's path (set VDSM_GPU_PLUGIN)");
        return;
    }
    if (access(loaded.path, R_OK)) {
        nn_err_set(&loaded.err, NN_IO, "CUDA backend: plug-in %s not found (build the target vdsm_gpu_plugin, or set VDSM_GPU_PLUGIN)",
                   loaded.path);
        return;
    }
    void *h = dlopen(loaded.path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        nn_err_set(&loaded.err, NN_IO, "CUDA backend: plug-in %s does not load: %s", loaded.path, dlerror());
        return;
    }
    const struct gpu_api *api = dlsym(h, "gpu_plugin_api");
    if (!api)
        nn_err_set(&loaded.err, NN_IO, "CUDA backend: %s is not vdsm's plug-in (it has no gpu_plugin_api)", loaded.path);
    else if (api->version != GPU_API_VERSION || api->size != sizeof *api)
        nn_err_set(&loaded.err, NN_IO, "CUDA backend: plug-in %s is from another build of vdsm (interface version %d, %zu bytes; "
                   "this program's: %d, %zu)", loaded.path, api->version, api->size, GPU_API_VERSION, sizeof *api);
    if (loaded.err.code) {
        dlclose(h);
        return;
    }
    loaded.api = api; /* the module stays open for the life of the process */
}
#endif

const struct gpu_api *gpu_plugin(struct nn_err *err)
{
    if (!loaded.tried) {
        loaded.tried = 1;
        if (&gpu_plugin_api) {
            loaded.api = &gpu_plugin_api;
            snprintf(loaded.path, sizeof loaded.path, "built in");
        } else {
#ifdef VDSM_HAVE_CUDA
            load();
#else
            nn_err_set(&loaded.err, NN_UNSUPPORTED,
                       "this build has no CUDA backend (configure with -DVDSM_CUDA=ON where nvcc and cuDNN are installed)");
#endif
        }
    }
    if (!loaded.api && err) nn_err_set(err, loaded.err.code, "%s", loaded.err.msg);
    return loaded.api;
}

const char *gpu_plugin_path(void) { return loaded.api ? loaded.path : NULL; }
