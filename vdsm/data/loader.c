/* vdsm/data/loader.c: batches of float windows from a memory-mapped dataset, with a one-batch
 * prefetch thread. Every random choice of batch k comes from a stream seeded by (seed, k), and the
 * epoch's shuffle from (seed, epoch), which is what makes prefetching invisible in the output. */
#include "vdsm/data/loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/rng.h"

enum job_state { JOB_IDLE, JOB_RUNNING, JOB_DONE };

struct vdsm_loader {
    const struct vdsm_dataset *ds;
    struct vdsm_loader_opts o;
    size_t lo, n, bpe, t_out;
    uint32_t *perm;            /* [n] order of the split for perm_epoch */
    uint64_t perm_epoch;
    uint32_t *group_start;     /* pair mode: [n_groups + 1] offsets into group_members */
    uint32_t *group_members;   /* [n] split-local indices sorted by group */
    uint32_t *group_of;        /* [n] group id of each split-local index */
    struct vdsm_batch buf[2];
    int cur;
    uint64_t next_step;
    float lut[256];
    /* prefetch */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int have_thread, quit;
    enum job_state job;
    int job_buf;
    uint64_t job_step;
    struct nn_err job_err;
};

struct vdsm_loader_opts vdsm_loader_defaults(void)
{
    return (struct vdsm_loader_opts){.batch = 16, .split = VDSM_SPLIT_TRAIN, .shuffle = 1, .prefetch = 1};
}

size_t vdsm_loader_batches_per_epoch(const struct vdsm_loader *l) { return l->bpe; }
size_t vdsm_loader_split_size(const struct vdsm_loader *l) { return l->n; }

static void ensure_perm(struct vdsm_loader *l, uint64_t epoch)
{
    if (l->perm_epoch == epoch) return;
    for (size_t i = 0; i < l->n; i++) l->perm[i] = (uint32_t)i;
    if (l->o.shuffle) {
        struct vdsm_rng r;
        vdsm_rng_seed(&r, l->o.seed, 0x5eed000000000000ull ^ epoch);
        vdsm_rng_shuffle(&r, l->perm, l->n);
    }
    l->perm_epoch = epoch;
}

/* uint8 [T, H, W, C] frames -> float [T, C, H, W], optionally mirrored in x. */
static void convert(const struct vdsm_loader *l, float *dst, const uint8_t *src, size_t frames, int flip)
{
    const struct vdsm_dataset *ds = l->ds;
    size_t H = ds->h, W = ds->w, C = ds->c;
    for (size_t t = 0; t < frames; t++, src += H * W * C, dst += C * H * W)
        for (size_t y = 0; y < H; y++) {
            const uint8_t *row = src + y * W * C;
            for (size_t c = 0; c < C; c++) {
                float *o = dst + (c * H + y) * W;
                if (flip)
                    for (size_t x = 0; x < W; x++) o[x] = l->lut[row[(W - 1 - x) * C + c]];
                else
                    for (size_t x = 0; x < W; x++) o[x] = l->lut[row[x * C + c]];
            }
        }
}

static size_t pick_partner(const struct vdsm_loader *l, struct vdsm_rng *r, uint32_t s)
{
    uint32_t g = l->group_of[s], a = l->group_start[g], size = l->group_start[g + 1] - a;
    if (size < 2) return s;
    uint32_t j = vdsm_rng_below(r, size - 1), m = l->group_members[a + j];
    return m == s ? l->group_members[a + size - 1] : m; /* skip s itself, stay uniform */
}

static void fill(struct vdsm_loader *l, struct vdsm_batch *b, uint64_t step)
{
    const struct vdsm_dataset *ds = l->ds;
    size_t L = l->o.seq_len, frame_bytes = ds->h * ds->w * ds->c, item = l->t_out * frame_bytes;
    uint64_t epoch = step / l->bpe;
    size_t pos = (size_t)(step % l->bpe) * l->o.batch;
    struct vdsm_rng r;
    ensure_perm(l, epoch);
    vdsm_rng_seed(&r, l->o.seed, 0xba7c000000000000ull ^ step);
    b->step = step;
    b->epoch = epoch;
    for (size_t i = 0; i < l->o.batch; i++) {
        uint32_t s = l->perm[(pos + i) % l->n];
        size_t s2 = l->o.pair ? pick_partner(l, &r, s) : s;
        size_t span = ds->t - L + 1;
        b->seq[i] = l->lo + s;
        b->seq2[i] = l->lo + s2;
        b->start[i] = l->o.shuffle ? vdsm_rng_below(&r, (uint32_t)span) : 0;
        b->start2[i] = l->o.pair && l->o.shuffle ? vdsm_rng_below(&r, (uint32_t)span) : 0;
        b->flipped[i] = l->o.flip ? (uint8_t)vdsm_rng_below(&r, 2) : 0;
        float *x = b->x + i * item;
        convert(l, x, vdsm_dataset_seq(ds, b->seq[i]) + b->start[i] * frame_bytes, L, b->flipped[i]);
        if (l->o.pair)
            convert(l, x + L * frame_bytes, vdsm_dataset_seq(ds, b->seq2[i]) + b->start2[i] * frame_bytes, L,
                    b->flipped[i]);
        memcpy(b->labels + i * ds->k, ds->labels + b->seq[i] * ds->k, ds->k * sizeof(int32_t));
    }
}

static void *worker(void *arg)
{
    struct vdsm_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->quit) {
        if (l->job != JOB_RUNNING) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        int bi = l->job_buf;
        uint64_t step = l->job_step;
        pthread_mutex_unlock(&l->mu);
        fill(l, &l->buf[bi], step);
        pthread_mutex_lock(&l->mu);
        l->job = JOB_DONE;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Called with mu held. */
static void start_job(struct vdsm_loader *l, int bi, uint64_t step)
{
    l->job_buf = bi;
    l->job_step = step;
    l->job = JOB_RUNNING;
    pthread_cond_broadcast(&l->cv);
}

const struct vdsm_batch *vdsm_loader_next(struct vdsm_loader *l, struct nn_err *e)
{
    if (!l->have_thread) {
        fill(l, &l->buf[0], l->next_step++);
        return &l->buf[0];
    }
    pthread_mutex_lock(&l->mu);
    while (l->job == JOB_RUNNING) pthread_cond_wait(&l->cv, &l->mu);
    if (l->job != JOB_DONE || l->job_step != l->next_step) { /* first call, or after a seek */
        start_job(l, 1 - l->cur, l->next_step);
        while (l->job == JOB_RUNNING) pthread_cond_wait(&l->cv, &l->mu);
    }
    l->cur = l->job_buf;
    l->next_step++;
    start_job(l, 1 - l->cur, l->next_step);
    pthread_mutex_unlock(&l->mu);
    (void)e;
    return &l->buf[l->cur];
}

nn_status vdsm_loader_next_into(struct vdsm_loader *l, float *dst, int32_t *labels_dst, struct nn_err *e)
{
    const struct vdsm_batch *b = vdsm_loader_next(l, e);
    if (!b) return e->code;
    memcpy(dst, b->x, b->b * b->t * b->c * b->h * b->w * sizeof(float));
    if (labels_dst) memcpy(labels_dst, b->labels, b->b * b->k * sizeof(int32_t));
    return NN_OK;
}

void vdsm_loader_seek(struct vdsm_loader *l, uint64_t step) { l->next_step = step; }

/* Pair mode: group the split's sequences by their identity-factor labels (sort by label tuple). */
static const struct vdsm_loader *sort_ctx;
static int cmp_identity(const void *pa, const void *pb)
{
    const struct vdsm_loader *l = sort_ctx;
    const struct vdsm_dataset *ds = l->ds;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const int32_t *la = ds->labels + (l->lo + a) * ds->k, *lb = ds->labels + (l->lo + b) * ds->k;
    for (size_t j = 0; j < ds->k; j++) {
        if (!ds->meta.factors[j].identity || la[j] == lb[j]) continue;
        return la[j] < lb[j] ? -1 : 1;
    }
    return a < b ? -1 : a > b;
}

static int same_identity(const struct vdsm_loader *l, uint32_t a, uint32_t b)
{
    const struct vdsm_dataset *ds = l->ds;
    const int32_t *la = ds->labels + (l->lo + a) * ds->k, *lb = ds->labels + (l->lo + b) * ds->k;
    for (size_t j = 0; j < ds->k; j++)
        if (ds->meta.factors[j].identity && la[j] != lb[j]) return 0;
    return 1;
}

static nn_status build_groups(struct vdsm_loader *l, struct nn_err *e)
{
    static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;
    l->group_members = malloc(l->n * sizeof(uint32_t));
    l->group_of = malloc(l->n * sizeof(uint32_t));
    l->group_start = malloc((l->n + 1) * sizeof(uint32_t));
    if (!l->group_members || !l->group_of || !l->group_start)
        return nn_err_set(e, NN_OOM, "loader: out of memory for pair groups");
    for (size_t i = 0; i < l->n; i++) l->group_members[i] = (uint32_t)i;
    pthread_mutex_lock(&sort_mu); /* qsort has no context argument in C11 */
    sort_ctx = l;
    qsort(l->group_members, l->n, sizeof(uint32_t), cmp_identity);
    uint32_t g = 0;
    l->group_start[0] = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0 && !same_identity(l, l->group_members[i - 1], l->group_members[i])) l->group_start[++g] = (uint32_t)i;
        l->group_of[l->group_members[i]] = g;
    }
    pthread_mutex_unlock(&sort_mu);
    l->group_start[++g] = (uint32_t)l->n;
    return NN_OK;
}

static nn_status alloc_batch(struct vdsm_loader *l, struct vdsm_batch *b, struct nn_err *e)
{
    const struct vdsm_dataset *ds = l->ds;
    size_t B = l->o.batch;
    *b = (struct vdsm_batch){.b = B, .t = l->t_out, .c = ds->c, .h = ds->h, .w = ds->w, .k = ds->k};
    size_t floats = B * l->t_out * ds->c * ds->h * ds->w;
    b->x = malloc(floats * sizeof(float));
    b->labels = malloc((B * ds->k + 1) * sizeof(int32_t));
    b->seq = malloc(B * sizeof(size_t));
    b->seq2 = malloc(B * sizeof(size_t));
    b->start = malloc(B * sizeof(size_t));
    b->start2 = malloc(B * sizeof(size_t));
    b->flipped = malloc(B);
    if (!b->x || !b->labels || !b->seq || !b->seq2 || !b->start || !b->start2 || !b->flipped)
        return nn_err_set(e, NN_OOM, "loader: out of memory for a batch of %zu floats", floats);
    return NN_OK;
}

static void free_batch(struct vdsm_batch *b)
{
    free(b->x);
    free(b->labels);
    free(b->seq);
    free(b->seq2);
    free(b->start);
    free(b->start2);
    free(b->flipped);
}

static nn_status check_opts(struct vdsm_loader *l, const struct vdsm_dataset *ds, struct nn_err *e)
{
    const struct vdsm_meta *m = &ds->meta;
    const size_t *range = l->o.split == VDSM_SPLIT_TRAIN ? m->train : l->o.split == VDSM_SPLIT_TEST ? m->test : NULL;
    l->lo = range ? range[0] : 0;
    l->n = range ? range[1] - range[0] : ds->n;
    if (l->o.seq_len == 0) l->o.seq_len = ds->t;
    l->t_out = l->o.seq_len * (l->o.pair ? 2 : 1);
    if (l->n == 0) return nn_err_set(e, NN_INVALID, "loader: the %s split of dataset '%s' is empty",
                                     l->o.split == VDSM_SPLIT_TEST ? "test" : "train", m->name);
    if (l->n > UINT32_MAX) return nn_err_set(e, NN_INVALID, "loader: more than 2^32 sequences");
    if (l->o.seq_len > ds->t)
        return nn_err_set(e, NN_INVALID, "loader: seq_len %zu is longer than the dataset's %zu frames", l->o.seq_len, ds->t);
    if (l->o.batch < 1 || l->o.batch > 65536) return nn_err_set(e, NN_INVALID, "loader: batch must be 1..65536");
    l->bpe = l->n / l->o.batch ? l->n / l->o.batch : 1;
    return NN_OK;
}

struct vdsm_loader *vdsm_loader_new(const struct vdsm_dataset *ds, const struct vdsm_loader_opts *o, struct nn_err *e)
{
    struct vdsm_loader *l = calloc(1, sizeof *l);
    if (!l) {
        nn_err_set(e, NN_OOM, "loader: out of memory");
        return NULL;
    }
    l->ds = ds;
    l->o = *o;
    l->perm_epoch = UINT64_MAX;
    for (int i = 0; i < 256; i++) l->lut[i] = (float)i / 255.0f;
    if (check_opts(l, ds, e)) goto fail;
    l->perm = malloc(l->n * sizeof(uint32_t));
    if (!l->perm) {
        nn_err_set(e, NN_OOM, "loader: out of memory");
        goto fail;
    }
    if ((l->o.pair && build_groups(l, e)) || alloc_batch(l, &l->buf[0], e) || alloc_batch(l, &l->buf[1], e)) goto fail;
    if (l->o.prefetch) {
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->cv, NULL);
        if (pthread_create(&l->th, NULL, worker, l)) {
            pthread_mutex_destroy(&l->mu);
            pthread_cond_destroy(&l->cv);
        } else {
            l->have_thread = 1;
        }
    }
    return l;
fail:
    vdsm_loader_free(l);
    return NULL;
}

void vdsm_loader_free(struct vdsm_loader *l)
{
    if (!l) return;
    if (l->have_thread) {
        pthread_mutex_lock(&l->mu);
        l->quit = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->th, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
    }
    free_batch(&l->buf[0]);
    free_batch(&l->buf[1]);
    free(l->perm);
    free(l->group_members);
    free(l->group_of);
    free(l->group_start);
    free(l);
}
