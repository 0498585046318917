/* vdsm/data/pendulum.c: pendulum physics (gsl_odeiv2), anti-aliased rendering, and the generator.
 *
 * Geometry: the pivot is at the image centre and 19 px stand for 1 m, so the longest rod (1.25 m)
 * plus the largest bob (radius 6 px) stays inside 64x64 at any angle. Coverage-based anti-aliasing
 * (a pixel's alpha is how far its centre lies inside the shape, clamped to [0, 1]) is cheap and
 * gives smooth motion at sub-pixel speeds. */
#include "vdsm/data/pendulum.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/rng.h"

#define S VDSM_PENDULUM_SIZE
#define PX_PER_M 19.0
#define ROD_HALF_WIDTH 0.75

static const char *const bob_names[] = {"red", "green", "blue", "yellow", "magenta", "cyan"};
static const uint8_t bob_rgb[][3] = {{230, 60, 50},  {60, 200, 80},  {70, 110, 240},
                                     {240, 220, 60}, {220, 80, 220}, {70, 220, 220}};
static const char *const rod_names[] = {"white", "grey", "orange", "pink"};
static const uint8_t rod_rgb[][3] = {{235, 235, 235}, {140, 140, 140}, {240, 150, 40}, {255, 150, 190}};
static const char *const bg_names[] = {"black", "navy", "forest", "maroon"};
static const uint8_t bg_rgb[][3] = {{0, 0, 0}, {20, 25, 75}, {15, 60, 25}, {70, 15, 20}};
static const char *const size_names[] = {"r3", "r4.5", "r6"};
static const double size_px[] = {3.0, 4.5, 6.0};
static const char *const angle_names[] = {"-90deg", "-60deg", "-30deg", "+30deg", "+60deg", "+90deg"};
static const double angle_deg[] = {-90, -60, -30, 30, 60, 90};
static const char *const vel_names[] = {"-1.5rad/s", "0rad/s", "+1.5rad/s"};
static const double vel_rad[] = {-1.5, 0.0, 1.5};
static const char *const len_names[] = {"0.5m", "0.75m", "1m", "1.25m"};
static const double len_m[] = {0.5, 0.75, 1.0, 1.25};
static const char *const damp_names[] = {"b0", "b0.15", "b0.4"};
static const double damp_s[] = {0.0, 0.15, 0.4};

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))
static const int n_classes[VDSM_PENDULUM_FACTORS] = {COUNT(bob_names),   COUNT(rod_names), COUNT(bg_names),
                                                     COUNT(size_names),  COUNT(angle_names), COUNT(vel_names),
                                                     COUNT(len_names),   COUNT(damp_names)};

struct vdsm_pendulum_opts vdsm_pendulum_defaults(void)
{
    return (struct vdsm_pendulum_opts){.sequences = 1000, .frames = 60, .seed = 1, .dt = 0.05};
}

double vdsm_pendulum_energy(double length, double theta, double omega)
{
    return 0.5 * length * length * omega * omega + VDSM_PENDULUM_G * length * (1.0 - cos(theta));
}

struct phys {
    double g_over_l, damping;
};

static int rhs(double t, const double y[], double dydt[], void *params)
{
    const struct phys *p = params;
    (void)t;
    dydt[0] = y[1];
    dydt[1] = -p->g_over_l * sin(y[0]) - p->damping * y[1];
    return GSL_SUCCESS;
}

nn_status vdsm_pendulum_simulate(double length, double damping, double theta0, double omega0, double dt,
                                 size_t n, double *theta_out, double *omega_out, struct nn_err *e)
{
    if (!(length > 0) || !(dt > 0) || !(damping >= 0))
        return nn_err_set(e, NN_INVALID, "pendulum: length and dt must be > 0 and damping >= 0");
    struct phys p = {VDSM_PENDULUM_G / length, damping};
    gsl_odeiv2_system sys = {rhs, NULL, 2, &p};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, dt / 4, 1e-10, 1e-10);
    if (!d) return nn_err_set(e, NN_OOM, "pendulum: cannot allocate the ODE driver");
    double y[2] = {theta0, omega0}, t = 0;
    nn_status s = NN_OK;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            int rc = gsl_odeiv2_driver_apply(d, &t, (double)i * dt, y);
            if (rc != GSL_SUCCESS) {
                s = nn_err_set(e, NN_INTERNAL, "pendulum: ODE solver failed at t=%g: %s", t, gsl_strerror(rc));
                break;
            }
        }
        if (theta_out) theta_out[i] = y[0];
        if (omega_out) omega_out[i] = y[1];
    }
    gsl_odeiv2_driver_free(d);
    return s;
}

static inline float clamp01(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

static inline void blend(uint8_t *px, const uint8_t *rgb, float a)
{
    for (int c = 0; c < 3; c++) px[c] = (uint8_t)(px[c] + a * ((float)rgb[c] - px[c]) + 0.5f);
}

/* Segment from (x0,y0) to (x1,y1), half-width hw, coverage by distance to the segment. */
static void draw_rod(uint8_t *img, float x0, float y0, float x1, float y1, float hw, const uint8_t *rgb)
{
    int xa = (int)floorf(fminf(x0, x1) - hw - 1), xb = (int)ceilf(fmaxf(x0, x1) + hw + 1);
    int ya = (int)floorf(fminf(y0, y1) - hw - 1), yb = (int)ceilf(fmaxf(y0, y1) + hw + 1);
    float dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy;
    for (int y = ya < 0 ? 0 : ya; y <= yb && y < S; y++)
        for (int x = xa < 0 ? 0 : xa; x <= xb && x < S; x++) {
            float px = (float)x + 0.5f - x0, py = (float)y + 0.5f - y0;
            float u = l2 > 0 ? clamp01((px * dx + py * dy) / l2) : 0;
            float ex = px - u * dx, ey = py - u * dy, d2 = ex * ex + ey * ey;
            if (d2 >= (hw + 0.5f) * (hw + 0.5f)) continue; /* most of the box: no sqrt */
            blend(img + ((size_t)y * S + (size_t)x) * 3, rgb, clamp01(hw + 0.5f - sqrtf(d2)));
        }
}

static void draw_disc(uint8_t *img, float cx, float cy, float r, const uint8_t *rgb)
{
    int xa = (int)floorf(cx - r - 1), xb = (int)ceilf(cx + r + 1);
    int ya = (int)floorf(cy - r - 1), yb = (int)ceilf(cy + r + 1);
    for (int y = ya < 0 ? 0 : ya; y <= yb && y < S; y++)
        for (int x = xa < 0 ? 0 : xa; x <= xb && x < S; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy, d2 = dx * dx + dy * dy;
            if (d2 >= (r + 0.5f) * (r + 0.5f)) continue;
            float a = d2 <= (r - 0.5f) * (r - 0.5f) ? 1.0f : clamp01(r + 0.5f - sqrtf(d2));
            blend(img + ((size_t)y * S + (size_t)x) * 3, rgb, a);
        }
}

static void draw_frame(uint8_t *img, const int32_t *lab, double theta)
{
    const uint8_t *bg = bg_rgb[lab[2]];
    for (size_t i = 0; i < S; i++) memcpy(img + 3 * i, bg, 3);
    for (size_t y = 1; y < S; y++) memcpy(img + y * S * 3, img, S * 3); /* row by row: fast fill */
    float cx = S / 2.0f, cy = S / 2.0f, len = (float)(len_m[lab[6]] * PX_PER_M);
    float bx = cx + len * (float)sin(theta), by = cy + len * (float)cos(theta);
    draw_rod(img, cx, cy, bx, by, (float)ROD_HALF_WIDTH, rod_rgb[lab[1]]);
    draw_disc(img, cx, cy, 1.2f, rod_rgb[lab[1]]);
    draw_disc(img, bx, by, (float)size_px[lab[3]], bob_rgb[lab[0]]);
}

/* One sequence: labels from its own stream, then simulate and draw. */
static nn_status render_one(const struct vdsm_pendulum_opts *o, size_t idx, uint8_t *frames, int32_t *lab,
                            double *theta, struct nn_err *e)
{
    struct vdsm_rng r;
    vdsm_rng_seed(&r, o->seed, idx);
    for (int f = 0; f < VDSM_PENDULUM_FACTORS; f++) lab[f] = (int32_t)vdsm_rng_below(&r, (uint32_t)n_classes[f]);
    double th0 = angle_deg[lab[4]] * M_PI / 180.0;
    if (vdsm_pendulum_simulate(len_m[lab[6]], damp_s[lab[7]], th0, vel_rad[lab[5]], o->dt, o->frames, theta, NULL, e))
        return e->code;
    for (size_t t = 0; t < o->frames; t++) draw_frame(frames + t * (size_t)S * S * 3, lab, theta[t]);
    return NN_OK;
}

nn_status vdsm_pendulum_render(const struct vdsm_pendulum_opts *o, size_t first, size_t count, uint8_t *frames,
                               int32_t *labels, struct nn_err *e)
{
    size_t seq_bytes = o->frames * S * S * 3;
    int failed = 0;
#pragma omp parallel
    {
        struct nn_err le = {0};
        double *theta = malloc((o->frames ? o->frames : 1) * sizeof *theta);
        if (!theta) nn_err_set(&le, NN_OOM, "pendulum: out of memory");
#pragma omp for schedule(dynamic, 4)
        for (size_t i = 0; i < count; i++)
            if (!le.code) render_one(o, first + i, frames + i * seq_bytes, labels + i * VDSM_PENDULUM_FACTORS, theta, &le);
        free(theta);
        if (le.code) {
#pragma omp critical
            {
                nn_err_set(e, le.code, "%s", le.msg);
                failed = 1;
            }
        }
    }
    return failed ? e->code : NN_OK;
}

nn_status vdsm_pendulum_meta(const struct vdsm_pendulum_opts *o, struct vdsm_meta *m, struct nn_err *e)
{
    static const char *const names[VDSM_PENDULUM_FACTORS] = {
        "bob_colour", "rod_colour", "background", "bob_size", "initial_angle", "initial_velocity", "length", "damping"};
    static const char *const *const classes[VDSM_PENDULUM_FACTORS] = {
        bob_names, rod_names, bg_names, size_names, angle_names, vel_names, len_names, damp_names};
    vdsm_meta_init(m, "pendulum");
    for (int f = 0; f < VDSM_PENDULUM_FACTORS; f++)
        if (vdsm_meta_add_factor(m, names[f], f < 4, n_classes[f], classes[f], e)) return e->code;
    size_t n_train = o->sequences - o->sequences / 10;
    m->train[0] = 0, m->train[1] = n_train, m->test[0] = n_train, m->test[1] = o->sequences;
    m->seed = o->seed;
    vdsm_meta_set_param(m, "sequences", "%zu", o->sequences);
    vdsm_meta_set_param(m, "frames", "%zu", o->frames);
    vdsm_meta_set_param(m, "dt_seconds", "%g", o->dt);
    vdsm_meta_set_param(m, "g", "%g", VDSM_PENDULUM_G);
    vdsm_meta_set_param(m, "solver", "gsl_odeiv2 rk8pd, rel/abs tol 1e-10");
    vdsm_meta_set_param(m, "pixels_per_metre", "%g", PX_PER_M);
    vdsm_meta_set_param(m, "rng", "xoshiro256** seeded by splitmix64(seed, sequence index)");
    return NN_OK;
}

nn_status vdsm_pendulum_generate(const char *dir, const struct vdsm_pendulum_opts *o, struct nn_err *e)
{
    if (o->sequences < 1 || o->frames < 1 || o->frames > 100000 || o->sequences > ((size_t)1 << 32) || !(o->dt > 0))
        return nn_err_set(e, NN_INVALID, "pendulum: need sequences >= 1, 1 <= frames <= 100000 and dt > 0");
    const size_t chunk = 256, seq_bytes = o->frames * S * S * 3;
    size_t shape[5] = {o->sequences, o->frames, S, S, 3};
    struct vdsm_meta m;
    struct vdsm_dataset_writer w;
    uint8_t *frames = malloc(chunk * seq_bytes);
    int32_t *labels = malloc(chunk * VDSM_PENDULUM_FACTORS * sizeof *labels);
    if (!frames || !labels) {
        free(frames);
        free(labels);
        return nn_err_set(e, NN_OOM, "pendulum: out of memory for a chunk of %zu sequences", chunk);
    }
    if (vdsm_pendulum_meta(o, &m, e) || vdsm_dataset_writer_open(&w, dir, shape, VDSM_PENDULUM_FACTORS, e))
        goto out;
    for (size_t i = 0; i < o->sequences; i += chunk) {
        size_t n = o->sequences - i < chunk ? o->sequences - i : chunk;
        if (vdsm_pendulum_render(o, i, n, frames, labels, e) || vdsm_dataset_writer_add(&w, frames, labels, n, e)) {
            vdsm_dataset_writer_abort(&w);
            goto out;
        }
    }
    vdsm_dataset_writer_close(&w, &m, e);
out:
    vdsm_meta_free(&m);
    free(frames);
    free(labels);
    return e->code;
}
