/* vdsm/data/assets.c: finding the folders under assets/ (see assets.h). */
#include "vdsm/data/assets.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VDSM_ASSETS_DIR
#define VDSM_ASSETS_DIR ""
#endif

/* The assets/ folder next to the executable's folder, or "" when /proc/self/exe is unreadable. */
static void beside_exe(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = 0;
    if (len <= 0) return;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    snprintf(out, n, "%s/../assets", exe);
}

nn_status vdsm_asset_dir(const char *rel, const char *probe, char *out, size_t n, struct nn_err *e)
{
    char exe_assets[PATH_MAX + 16];
    beside_exe(exe_assets, sizeof exe_assets);
    const char *env = getenv("VDSM_ASSETS");
    const char *roots[3] = {env && *env ? env : "", exe_assets, VDSM_ASSETS_DIR};
    char tried[1024] = "";
    for (int i = 0; i < 3; i++) {
        if (!roots[i][0]) continue;
        char file[PATH_MAX * 2];
        int len = snprintf(out, n, "%s/%s", roots[i], rel);
        if (len < 0 || (size_t)len >= n) continue;
        snprintf(file, sizeof file, "%s/%s", out, probe);
        if (access(file, R_OK) == 0) return NN_OK;
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", out);
    }
    out[0] = 0;
    return nn_err_set(e, NN_IO, "assets: %s/%s not found (looked in %s; set VDSM_ASSETS to the project's assets/ "
                                "folder)", rel, probe, tried[0] ? tried : "nowhere");
}
