/* vdsm/data/sprites_gen.c: meta.yaml and the dataset writer for both Sprites variants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/sprites.h"

static const char *const dsa_names[4][7] = {
    {"light", "dark", "dark2", "darkelf", "darkelf2", "tanned", "tanned2"},
    {"longsleeve_brown", "longsleeve_teal", "longsleeve_maroon", "longsleeve_white"},
    {"pants_magenta", "pants_red", "pants_teal", "pants_white", "robe_skirt"},
    {"green", "blue", "pink", "raven", "white", "dark_blonde"}};
static const char *const lm_names[4][6] = {
    {"light", "tanned", "dark_elf", "dark_elf2", "dark_brown", "darker_brown"},
    {"white_pants", "golden_greaves", "red_pants", "metal_pants", "teal_pants", "dark_formal_pants"},
    {"maroon_longsleeve", "teal_longsleeve", "white_longsleeve", "plate_armour", "leather_armour", "formal_tie"},
    {"green_messy", "blue_longknot", "light_blonde_messy", "white_bangs", "ruby_plain", "purple_jewfro"}};
static const char *const dsa_actions[9] = {"walk_left",      "walk_front",      "walk_right",
                                           "spellcast_left", "spellcast_front", "spellcast_right",
                                           "slash_front",    "slash_right",     "shoot_back"};
static const char *const lm_pairs[9] = {"walk_front",      "walk_left",      "walk_right",
                                        "spellcard_front", "spellcard_left", "spellcard_right",
                                        "slash_front",     "slash_left",     "slash_right"};
static const char *const lm_actions[3] = {"walk", "spellcard", "slash"}, *const lm_dirs[3] = {"front", "left", "right"};
static const char *const dsa_f[4] = {"body", "shirt", "legs", "hair"}, *const lm_f[4] = {"body", "bottom", "top", "hair"};
static const int dsa_n[4] = {7, 4, 5, 6};

static int n_classes(enum vdsm_sprites_variant v, int f) { return v == VDSM_SPRITES_DSA ? dsa_n[f] : 6; }
static const char *class_name(enum vdsm_sprites_variant v, int f, int c)
{
    return v == VDSM_SPRITES_DSA ? dsa_names[f][c] : lm_names[f][c];
}

nn_status vdsm_sprites_parse_keep(struct vdsm_sprites_select *sel, enum vdsm_sprites_variant v, const char *arg,
                                  struct nn_err *e)
{
    const char *const *factors = v == VDSM_SPRITES_DSA ? dsa_f : lm_f;
    const char *eq = strchr(arg, '=');
    int f = 0;
    while (f < 4 && !(eq && strlen(factors[f]) == (size_t)(eq - arg) && !strncmp(arg, factors[f], (size_t)(eq - arg))))
        f++;
    if (f == 4)
        return nn_err_set(e, NN_INVALID, "'%s' is not FACTOR=CLASS[,CLASS...] with FACTOR one of %s, %s, %s, %s",
                          arg, factors[0], factors[1], factors[2], factors[3]);
    uint32_t bits = 0;
    for (const char *p = eq + 1;;) {
        size_t len = strcspn(p, ",");
        char *end;
        long idx = strtol(p, &end, 10);
        int c = end == p + len && len && idx >= 0 && idx < 32 ? (int)idx : -1;
        for (int k = 0; c < 0 && k < n_classes(v, f); k++)
            if (strlen(class_name(v, f, k)) == len && !strncmp(p, class_name(v, f, k), len)) c = k;
        if (c < 0 || c >= n_classes(v, f))
            return nn_err_set(e, NN_INVALID, "%s has no class '%.*s' (%d classes: %s, %s, ... or 0..%d)",
                              factors[f], (int)len, p, n_classes(v, f), class_name(v, f, 0), class_name(v, f, 1),
                              n_classes(v, f) - 1);
        bits |= 1u << c;
        if (!p[len]) break;
        p += len + 1;
    }
    sel->keep[f] |= bits;
    return NN_OK;
}

nn_status vdsm_sprites_meta(const struct vdsm_sprites *s, uint64_t seed, const struct vdsm_sprites_select *sel,
                            size_t n, size_t n_train, struct vdsm_meta *m, struct nn_err *e)
{
    int dsa = s->variant == VDSM_SPRITES_DSA;
    vdsm_meta_init(m, dsa ? "sprites-dsa" : "sprites-lm");
    for (int f = 0; f < 4; f++)
        if (vdsm_meta_add_factor(m, dsa ? dsa_f[f] : lm_f[f], 1, dsa ? dsa_n[f] : 6, dsa ? dsa_names[f] : lm_names[f], e))
            return e->code;
    if (vdsm_meta_add_factor(m, dsa ? "action" : "action_direction", 0, 9, dsa ? dsa_actions : lm_pairs, e) ||
        (!dsa && (vdsm_meta_add_factor(m, "action", 0, 3, lm_actions, e) ||
                  vdsm_meta_add_factor(m, "direction", 0, 3, lm_dirs, e))))
        return e->code;
    m->train[0] = 0, m->train[1] = n_train, m->test[0] = n_train, m->test[1] = n;
    m->seed = dsa ? seed : 423;
    vdsm_meta_set_param(m, "characters", "%zu", n / 9);
    vdsm_meta_set_param(m, "recipe", "%s", dsa ? "lpc/MANIFEST.md (DSA create-lpc-dataset.py)"
                                               : "sprites-lm/MANIFEST.md (YingzhenLi/Sprites)");
    for (int f = 0; sel && f < 4; f++) {
        if (!sel->keep[f]) continue;
        char list[256] = "";
        for (int c = 0; c < n_classes(s->variant, f); c++)
            if (sel->keep[f] >> c & 1u)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? "," : "",
                         class_name(s->variant, f, c));
        char key[32];
        snprintf(key, sizeof key, "keep_%s", (dsa ? dsa_f : lm_f)[f]);
        vdsm_meta_set_param(m, key, "%s", list);
    }
    if (sel && sel->split == VDSM_SPRITES_SPLIT_CLIPS) {
        vdsm_meta_set_param(m, "split", "%s", "clips: every character in both; the k-th character holds out clip k mod 9");
        vdsm_meta_set_param(m, "order", "%s", "train clips (character-major), then one test clip per character");
    } else {
        vdsm_meta_set_param(m, "split", "%s", dsa ? "seeded 10% of characters (all 9 clips) are test"
                                                  : "numpy RandomState(423).permutation(1296): first 1000 train");
        vdsm_meta_set_param(m, "order", "%s", dsa ? "train characters then test characters, 9 clips each"
                                                  : "pair-major: train pair 0..8 x perm[0..999], then test");
    }
    vdsm_meta_set_param(m, "pixels", "uint8 RGB; background black; divide by 255 (the lm originals used 256)");
    return NN_OK;
}

static nn_status write_all(const struct vdsm_sprites *s, struct vdsm_dataset_writer *w, const uint32_t *order,
                           size_t n, struct nn_err *e)
{
    const size_t chunk = 256;
    uint8_t *frames = malloc(chunk * VDSM_SPRITES_CLIP_BYTES);
    int32_t *labels = malloc(chunk * (size_t)s->k * sizeof *labels);
    if (!frames || !labels) {
        free(frames);
        free(labels);
        return nn_err_set(e, NN_OOM, "sprites: out of memory for a chunk");
    }
    for (size_t i = 0; i < n && !e->code; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
#pragma omp parallel for schedule(dynamic, 8)
        for (size_t j = 0; j < m; j++) {
            uint32_t seq = order[i + j];
            vdsm_sprites_render_clip(s, seq / 9, (int)(seq % 9), frames + j * VDSM_SPRITES_CLIP_BYTES);
            vdsm_sprites_labels(s, seq / 9, (int)(seq % 9), labels + j * (size_t)s->k);
        }
        vdsm_dataset_writer_add(w, frames, labels, m, e);
    }
    free(frames);
    free(labels);
    return e->code;
}

nn_status vdsm_sprites_generate(const char *out_dir, enum vdsm_sprites_variant v, const char *lpc_dir, uint64_t seed,
                                const struct vdsm_sprites_select *sel, size_t *n_written, struct nn_err *e)
{
    struct vdsm_sprites s;
    if (vdsm_sprites_load(&s, v, lpc_dir, e)) return e->code;
    size_t n = 0, n_train = 0;
    uint32_t *order = malloc(s.characters * 9 * sizeof *order);
    struct vdsm_meta m = {0}; /* freeing a zeroed meta is a no-op */
    struct vdsm_dataset_writer w;
    if (!order) {
        nn_err_set(e, NN_OOM, "sprites: out of memory");
    } else if (!vdsm_sprites_plan(&s, seed, sel, order, &n, &n_train, e) &&
               !vdsm_sprites_meta(&s, seed, sel, n, n_train, &m, e) &&
               !vdsm_dataset_writer_open(&w, out_dir,
                                         (size_t[5]){n, VDSM_SPRITES_FRAMES, VDSM_SPRITES_TILE, VDSM_SPRITES_TILE, 3},
                                         (size_t)s.k, e)) {
        if (write_all(&s, &w, order, n, e))
            vdsm_dataset_writer_abort(&w);
        else
            vdsm_dataset_writer_close(&w, &m, e);
    }
    if (n_written) *n_written = e->code ? 0 : n;
    vdsm_meta_free(&m);
    free(order);
    vdsm_sprites_free(&s);
    return e->code;
}
