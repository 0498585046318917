/* End to end: a tiny run trained through both stages, then vdsm generate: every output exists,
 * PNGs and GIFs are valid and of the expected sizes, the same seed gives the same bytes, a
 * failed generate keeps the previous outputs, and the report embeds what was written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/generate/generate.h"
#include "vdsm/generate/grid.h"
#include "vdsm/io/png.h"
#include "vdsm/report/report.h"
#include "vdsm/spec/spec.h"
#include "vdsm/train/train.h"

static char tmp[256], data_dir[300], run_dir[300];

static const char *sets_tail[] = {"stage1.epochs=1", "stage1.batches_per_epoch=1", "stage1.batch_size=2",
                                  "stage1.seq_len=3", "stage2.epochs=1", "stage2.batches_per_epoch=1",
                                  "stage2.batch_size=2", "stage2.seq_len=3", "runtime.threads=1",
                                  "output.num_test_ids=3",
                                  "stage1.schedules.pose_kl={curve: constant, value: 1}",
                                  "stage2.schedules.pose_kl={curve: constant, value: 1}"};

static void train_tiny(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-generate-XXXXXX");
    cr_assert(mkdtemp(tmp));
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 40; /* 4 test clips */
    o.frames = 8;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(data_dir, &o, &e), NN_OK, "%s", e.msg);
    const char *sets[16];
    char path_set[400];
    snprintf(path_set, sizeof path_set, "dataset.path=%s", data_dir);
    int n = 0;
    sets[n++] = path_set;
    for (size_t i = 0; i < sizeof sets_tail / sizeof sets_tail[0]; i++) sets[n++] = sets_tail[i];
    struct vdsm_spec spec;
    cr_assert_eq(vdsm_spec_load(tu_source_path("specs/quick.yaml"), sets, n, &spec, &e), NN_OK, "%s", e.msg);
    FILE *log = fopen("/dev/null", "w");
    struct vdsm_train_opts to = {.run_dir = run_dir, .log = log, .quiet = true};
    cr_assert_eq(vdsm_train(&spec, &to, &e), NN_OK, "%s", e.msg);
    fclose(log);
    vdsm_spec_free(&spec);
}

static void cleanup(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "missing %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void png_size(const char *dir, const char *name, int *w, int *h)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    struct vdsm_image img = {0};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_png_read(path, &img, &e), NN_OK, "%s", e.msg);
    *w = img.w, *h = img.h;
    vdsm_image_free(&img);
}

/* logical screen size and the number of image descriptors of a GIF */
static void gif_info(const char *dir, const char *name, int *w, int *h, int *frames)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.gif", dir, name);
    size_t n;
    unsigned char *d = read_all(path, &n);
    cr_assert(n > 13 && !memcmp(d, "GIF89a", 6), "%s is not a GIF89a", path);
    *w = d[6] | d[7] << 8, *h = d[8] | d[9] << 8;
    *frames = 0;
    for (size_t i = 0; i + 3 < n; i++) /* graphic control extensions, one per frame */
        *frames += d[i] == 0x21 && d[i + 1] == 0xf9 && d[i + 2] == 0x04;
    free(d);
}

static bool same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_all(a, &na), *y = read_all(b, &nb);
    bool same = na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

Test(generate_e2e, outputs_sizes_determinism_report, .init = train_tiny, .fini = cleanup, .timeout = 120)
{
    enum { N = 3, T = 6, S = 64 };
    struct vdsm_generate_opts o = {.n = N, .frames = T, .has_seed = true, .seed = 7};
    struct vdsm_generate_info info;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_generate(run_dir, &o, &info, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(info.stage, 2);
    cr_assert_eq(info.n, N);
    cr_assert_eq(info.frames, T);
    cr_assert_eq(info.nfiles, 11);
    char images[400];
    snprintf(images, sizeof images, "%s/images", run_dir);
    cr_assert_str_eq(info.out_dir, images);

    const char *names[] = {"recon", "swap", "prior", "action_transfer", "identity_transfer"};
    int w, h, frames;
    for (int i = 0; i < 5; i++) {
        png_size(images, names[i], &w, &h);
        gif_info(images, names[i], &w, &h, &frames);
        cr_assert_eq(frames, T, "%s.gif has %d frames", names[i], frames);
    }
    /* recon: 3 rows per clip (real, stage 1, seq net), T frames wide */
    png_size(images, "recon", &w, &h);
    int strip_w = T * S + (T - 1) * VDSM_GRID_FRAME_GAP;
    cr_assert_eq(h, VDSM_GRID_MARGIN + VDSM_GRID_TITLE_H + 3 * N * (S + 2) - 2 + (N - 1) * VDSM_GRID_GROUP_GAP +
                        VDSM_GRID_MARGIN);
    cr_assert(w > strip_w + 2 * VDSM_GRID_MARGIN && w < strip_w + 2 * VDSM_GRID_MARGIN + 100, "recon width %d", w);
    /* its GIF: kinds x clips, one frame per cell */
    gif_info(images, "recon", &w, &h, &frames);
    cr_assert_eq(h, VDSM_GRID_MARGIN + VDSM_GRID_TITLE_H + VDSM_GRID_HEADER_H + 3 * (S + VDSM_GRID_CELL_GAP) -
                        VDSM_GRID_CELL_GAP + VDSM_GRID_MARGIN);
    /* swap: (N+1) x (N+1) cells of 4 frames */
    png_size(images, "swap", &w, &h);
    int cell_w = 4 * S + 3 * VDSM_GRID_FRAME_GAP;
    cr_assert_eq(h, VDSM_GRID_MARGIN + VDSM_GRID_TITLE_H + VDSM_GRID_HEADER_H + (N + 1) * (S + VDSM_GRID_CELL_GAP) -
                        VDSM_GRID_CELL_GAP + VDSM_GRID_MARGIN);
    int body = (N + 1) * (cell_w + VDSM_GRID_CELL_GAP) - VDSM_GRID_CELL_GAP;
    cr_assert(w > body + 2 * VDSM_GRID_MARGIN && w < body + 2 * VDSM_GRID_MARGIN + 100, "swap width %d", w);
    /* prior: N samples, one per row */
    png_size(images, "prior", &w, &h);
    cr_assert_eq(h, VDSM_GRID_MARGIN + VDSM_GRID_TITLE_H + N * (S + VDSM_GRID_CELL_GAP) - VDSM_GRID_CELL_GAP +
                        VDSM_GRID_MARGIN);

    /* the same seed again, elsewhere: the same bytes; another seed: other prior samples */
    char again[400], other[400], a[500], b[500];
    snprintf(again, sizeof again, "%s/again", tmp);
    snprintf(other, sizeof other, "%s/other", tmp);
    struct vdsm_generate_opts o2 = o;
    o2.out_dir = again;
    struct vdsm_generate_info info2;
    cr_assert_eq(vdsm_generate(run_dir, &o2, &info2, &e), NN_OK, "%s", e.msg);
    for (int i = 0; i < info.nfiles; i++) {
        if (!strcmp(info.files[i], "generate.json")) continue; /* names its out dir's checkpoint path only */
        snprintf(a, sizeof a, "%s/%s", images, info.files[i]);
        snprintf(b, sizeof b, "%s/%s", again, info.files[i]);
        cr_assert(same_file(a, b), "%s differs between two runs with the same seed", info.files[i]);
    }
    o2.out_dir = other;
    o2.seed = 8;
    cr_assert_eq(vdsm_generate(run_dir, &o2, &info2, &e), NN_OK, "%s", e.msg);
    snprintf(a, sizeof a, "%s/prior.png", images);
    snprintf(b, sizeof b, "%s/prior.png", other);
    cr_assert(!same_file(a, b), "another seed gives other prior samples");
    snprintf(a, sizeof a, "%s/recon.png", images);
    snprintf(b, sizeof b, "%s/recon.png", other);
    cr_assert(same_file(a, b), "reconstructions do not depend on the seed");

    /* --clips naming the clips the default spreads over the test split (sequences 36-39 of 40:
     * 36 + i 4 / 3 for 3 clips) draws the same grids; a clip outside the test split, or a count
     * that disagrees, is refused */
    char named[400];
    snprintf(named, sizeof named, "%s/named", tmp);
    const long first[N] = {36, 37, 38};
    struct vdsm_generate_opts o3 = o;
    o3.out_dir = named, o3.n = 0, o3.clips = first, o3.n_clips = N;
    cr_assert_eq(vdsm_generate(run_dir, &o3, &info2, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(info2.n, N);
    for (int i = 0; i < 5; i++) {
        snprintf(a, sizeof a, "%s/%s.png", images, names[i]);
        snprintf(b, sizeof b, "%s/%s.png", named, names[i]);
        cr_assert(same_file(a, b), "%s.png: --clips 36,37,38 differs from the default 3 test clips", names[i]);
    }
    /* two clips: the first of the first half and the second of the second (36 and 39), not the
     * first two */
    char two[2][400];
    const long spread[2] = {36, 39};
    for (int k = 0; k < 2; k++) {
        snprintf(two[k], sizeof two[k], "%s/two%d", tmp, k);
        struct vdsm_generate_opts o4 = o;
        o4.out_dir = two[k];
        if (k) o4.n = 0, o4.clips = spread, o4.n_clips = 2;
        else o4.n = 2;
        cr_assert_eq(vdsm_generate(run_dir, &o4, &info2, &e), NN_OK, "%s", e.msg);
    }
    snprintf(a, sizeof a, "%s/recon.png", two[0]);
    snprintf(b, sizeof b, "%s/recon.png", two[1]);
    cr_assert(same_file(a, b), "--n 2 draws test clips 36 and 39");
    const long outside[2] = {39, 5};
    o3.clips = outside, o3.n_clips = 2;
    e = (struct nn_err){0};
    cr_assert_eq(vdsm_generate(run_dir, &o3, &info2, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "clip 5 is not in the test split (sequences 36 to 39)"), "%s", e.msg);
    o3.n = 3;
    e = (struct nn_err){0};
    cr_assert_eq(vdsm_generate(run_dir, &o3, &info2, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "2 clips named but 3 asked for"), "%s", e.msg);

    /* a failing generate (too many frames) leaves the previous outputs as they were */
    snprintf(a, sizeof a, "%s/recon.png", images);
    size_t before_len;
    unsigned char *before = read_all(a, &before_len);
    struct vdsm_generate_opts bad = {.frames = 100};
    e = (struct nn_err){0};
    cr_assert_eq(vdsm_generate(run_dir, &bad, &info2, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "--frames 100"), "%s", e.msg);
    size_t after_len;
    unsigned char *after = read_all(a, &after_len);
    cr_assert(before_len == after_len && !memcmp(before, after, before_len));
    free(before), free(after);
    e = (struct nn_err){0};
    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such-run", tmp);
    cr_assert_neq(vdsm_generate(missing, NULL, &info2, &e), NN_OK);
    cr_assert(strstr(e.msg, "no-such-run"), "%s", e.msg);

    /* the report: every image embedded, curves of both stages, eval.json as a table */
    char path[400];
    snprintf(path, sizeof path, "%s/eval.json", run_dir);
    FILE *f = fopen(path, "w");
    fputs("{\"recon\": {\"psnr\": 12.5}}", f);
    fclose(f);
    cr_assert_eq(vdsm_report_write(run_dir, &e), NN_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/report.html", run_dir);
    size_t n;
    char *html = (char *)read_all(path, &n);
    for (int i = 0; i < 5; i++) {
        char want[128];
        snprintf(want, sizeof want, "<img alt=\"%s\" src=\"data:image/png;base64,iVBORw0KGgo", names[i]);
        cr_assert(strstr(html, want), "report lacks %s.png", names[i]);
        snprintf(want, sizeof want, "<img alt=\"%s\" src=\"data:image/gif;base64,R0lGODlh", names[i]);
        cr_assert(strstr(html, want), "report lacks %s.gif", names[i]);
    }
    cr_assert(strstr(html, "Stage 1 (encdec)") && strstr(html, "Stage 2 (seq)"));
    cr_assert(strstr(html, "term model:obs"));
    cr_assert(strstr(html, "<th>psnr</th><td>12.5</td>"));
    cr_assert(strstr(html, "stage 2, epoch 1"));
    free(html);
}
