/* vdsm/data/assets.h: where the files the project carries (assets/ in the source tree: the LPC
 * sprite layers of both Sprites variants, with their manifests and licences) are found at run
 * time, so that `vdsm data sprites --variant dsa` needs no path.
 *
 * A relative asset path such as "sprites/dsa" is looked up, first match wins, in
 *   1. $VDSM_ASSETS (a folder laid out as assets/),
 *   2. ../assets beside the running executable (build/vdsm in a checkout),
 *   3. the source tree's assets/ as configured at build time.
 * A folder counts as found when it holds the file `probe` (for the sprites, MANIFEST.md). */
#ifndef VDSM_DATA_ASSETS_H
#define VDSM_DATA_ASSETS_H
#include <stddef.h>
#include "nn/status.h"

/* Writes the folder of asset `rel` into out (n bytes); NN_IO with the places tried when none holds
 * `probe`. */
nn_status vdsm_asset_dir(const char *rel, const char *probe, char *out, size_t n, struct nn_err *e);
#endif
