#include "vdsm/run/checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"

#define CKPT_MAX 4096

static void ckpt_dir(const char *run_dir, char *out, size_t n) { vdsm_path_join(out, n, run_dir, "checkpoints"); }

/* ckpt-s<stage>-e<epoch>.safetensors, or ckpt-s<stage>-e<epoch>-b<batch>.safetensors for a
 * checkpoint written inside an epoch (a stop on a signal) */
static int parse_name(const char *name, int *stage, long *epoch, long *batch)
{
    int used = 0;
    *batch = 0;
    if (sscanf(name, "ckpt-s%d-e%ld.safetensors%n", stage, epoch, &used) == 2 && name[used] == '\0') return 1;
    used = 0;
    return sscanf(name, "ckpt-s%d-e%ld-b%ld.safetensors%n", stage, epoch, batch, &used) == 3 && name[used] == '\0' &&
           *batch > 0;
}

struct entry {
    int stage;
    long epoch, batch;
    char name[256];
};

static int cmp_newest_first(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->stage != y->stage) return y->stage - x->stage;
    if (x->epoch != y->epoch) return (y->epoch > x->epoch) - (y->epoch < x->epoch);
    return (y->batch > x->batch) - (y->batch < x->batch);
}

/* Lists checkpoints (newest first). A NAME.tmp is another writer's file in progress or a
 * leftover; only the lock holder removes leftovers (vdsm_run_clean). */
static int list_checkpoints(const char *dir, struct entry *out, int cap)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (n < cap && len < sizeof out[n].name && parse_name(de->d_name, &out[n].stage, &out[n].epoch, &out[n].batch)) {
            memcpy(out[n].name, de->d_name, len + 1);
            n++;
        }
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_newest_first);
    return n;
}

nn_status vdsm_ckpt_save(const char *run_dir, const struct ppl_param_store *store, struct vdsm_ckpt_info *info,
                         int keep_last, struct nn_err *err)
{
    char dir[VDSM_PATH_MAX];
    ckpt_dir(run_dir, dir, sizeof dir);
    if (vdsm_mkdirs(dir, err)) return err->code;
    char name[64];
    if (info->batch > 0)
        snprintf(name, sizeof name, "ckpt-s%d-e%06ld-b%06ld.safetensors", info->stage, info->epoch, info->batch);
    else
        snprintf(name, sizeof name, "ckpt-s%d-e%06ld.safetensors", info->stage, info->epoch);
    if (!vdsm_path_join(info->path, sizeof info->path, dir, name))
        return nn_err_set(err, NN_INVALID, "%s: run directory path too long", run_dir);
    char v[8][64];
    snprintf(v[0], 64, "%d", info->stage);
    snprintf(v[1], 64, "%ld", info->epoch);
    snprintf(v[2], 64, "%ld", info->step);
    snprintf(v[3], 64, "%016" PRIx64, info->spec_hash);
    snprintf(v[4], 64, "%016" PRIx64 ":%016" PRIx64, info->rng.key, info->rng.counter);
    snprintf(v[5], 64, "%.17g", info->lr_scale);
    snprintf(v[6], 64, "%d", info->nan_retries);
    snprintf(v[7], 64, "%ld", info->batch);
    const char *meta[] = {"vdsm.stage", v[0], "vdsm.epoch", v[1], "vdsm.step", v[2], "vdsm.spec_hash", v[3],
                          "vdsm.rng", v[4], "vdsm.lr_scale", v[5], "vdsm.nan_retries", v[6],
                          info->batch > 0 ? "vdsm.batch" : NULL, v[7], "vdsm.partial", info->partial, NULL, NULL};
    if (ppl_store_save(store, info->path, meta, err)) return err->code;
    /* prune: keep the newest keep_last of this stage, and every earlier stage's newest */
    struct entry *e = malloc(CKPT_MAX * sizeof *e);
    if (!e) return NN_OK;
    int n = list_checkpoints(dir, e, CKPT_MAX), kept = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].stage != info->stage) continue;
        if (++kept <= keep_last) continue;
        char p[VDSM_PATH_MAX];
        if (vdsm_path_join(p, sizeof p, dir, e[i].name)) remove(p);
    }
    free(e);
    return NN_OK;
}

static const char *meta_str(const cJSON *meta, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static nn_status parse_meta(const char *path, const cJSON *meta, struct vdsm_ckpt_info *info, struct nn_err *err)
{
    const char *st = meta_str(meta, "vdsm.stage"), *ep = meta_str(meta, "vdsm.epoch"), *sp = meta_str(meta, "vdsm.step");
    const char *h = meta_str(meta, "vdsm.spec_hash"), *r = meta_str(meta, "vdsm.rng");
    const char *lr = meta_str(meta, "vdsm.lr_scale"), *nr = meta_str(meta, "vdsm.nan_retries");
    if (!st || !ep || !sp || !h || !r || !lr || !nr)
        return nn_err_set(err, NN_PARSE, "%s: not a vdsm checkpoint (metadata incomplete)", path);
    info->stage = atoi(st);
    info->epoch = atol(ep);
    info->step = atol(sp);
    info->spec_hash = strtoull(h, NULL, 16);
    info->lr_scale = atof(lr);
    info->nan_retries = atoi(nr);
    const char *b = meta_str(meta, "vdsm.batch"), *part = meta_str(meta, "vdsm.partial");
    info->batch = b ? atol(b) : 0;
    info->partial[0] = '\0';
    if (info->batch > 0 && (!part || strlen(part) >= sizeof info->partial))
        return nn_err_set(err, NN_PARSE, "%s: vdsm.batch without a readable vdsm.partial", path);
    if (info->batch > 0) memcpy(info->partial, part, strlen(part) + 1);
    if (info->batch < 0) return nn_err_set(err, NN_PARSE, "%s: bad vdsm.batch", path);
    if (sscanf(r, "%" SCNx64 ":%" SCNx64, &info->rng.key, &info->rng.counter) != 2 || info->stage < 1 ||
        info->stage > 2 || info->epoch < 0)
        return nn_err_set(err, NN_PARSE, "%s: bad vdsm metadata", path);
    if (strlen(path) >= sizeof info->path) return nn_err_set(err, NN_INVALID, "%s: path too long", path);
    memcpy(info->path, path, strlen(path) + 1);
    return NN_OK;
}

nn_status vdsm_ckpt_read_info(const char *path, struct vdsm_ckpt_info *info, struct nn_err *err)
{
    /* a FIFO named like a checkpoint must not block the run */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) return nn_err_set(err, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nn_err_set(err, NN_IO, "%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return nn_err_set(err, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    uint8_t len8[8];
    uint64_t hl = 0;
    nn_status st = NN_OK;
    if (fread(len8, 1, 8, f) != 8) st = nn_err_set(err, NN_PARSE, "%s: truncated header", path);
    for (int i = 0; i < 8; i++) hl |= (uint64_t)len8[i] << (8 * i);
    if (!st && (hl == 0 || hl > (64u << 20))) st = nn_err_set(err, NN_PARSE, "%s: header length %" PRIu64 " invalid", path, hl);
    char *txt = st ? NULL : malloc(hl + 1);
    if (!st && (!txt || fread(txt, 1, hl, f) != hl)) st = nn_err_set(err, NN_PARSE, "%s: truncated header", path);
    fclose(f);
    if (st) {
        free(txt);
        return st;
    }
    txt[hl] = '\0';
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    const cJSON *meta = root ? cJSON_GetObjectItemCaseSensitive(root, "__metadata__") : NULL;
    st = meta ? parse_meta(path, meta, info, err) : nn_err_set(err, NN_PARSE, "%s: header is not safetensors JSON", path);
    cJSON_Delete(root);
    return st;
}

static void note(char *notes, size_t len, const char *why)
{
    if (!notes || !len) return;
    size_t k = strlen(notes);
    if (k < len) snprintf(notes + k, len - k, "skipped %s\n", why);
}

nn_status vdsm_ckpt_choose(const char *run_dir, int stage, const struct ppl_param_store *store, bool resume,
                           struct vdsm_ckpt_info *info, bool *found, char *notes, size_t notes_len,
                           struct nn_err *err)
{
    char dir[VDSM_PATH_MAX];
    ckpt_dir(run_dir, dir, sizeof dir);
    *found = false;
    if (notes && notes_len) notes[0] = '\0';
    struct entry *e = malloc(CKPT_MAX * sizeof *e);
    if (!e) return nn_err_set(err, NN_OOM, "out of memory");
    int n = list_checkpoints(dir, e, CKPT_MAX), tried = 0;
    char first_why[NN_ERR_MSG_LEN] = "";
    for (int i = 0; i < n && !*found; i++) {
        if (stage && e[i].stage != stage) continue;
        char p[VDSM_PATH_MAX];
        struct nn_err why = {0};
        tried++;
        if (!vdsm_path_join(p, sizeof p, dir, e[i].name)) continue;
        if (vdsm_ckpt_read_info(p, info, &why)) goto skip;
        /* past its first step a stage's checkpoint holds the optimizer state of what it trains */
        unsigned flags = resume && info->step > 0 ? PPL_VERIFY_OPTIM : 0;
        if (!ppl_store_verify(store, p, flags, &why)) {
            *found = true;
            break;
        }
    skip:
        note(notes, notes_len, why.msg);   /* the message starts with the file's path */
        if (!first_why[0]) snprintf(first_why, sizeof first_why, "%s", why.msg);
    }
    free(e);
    if (*found || !tried) return NN_OK;
    /* never start over silently past checkpoints that exist */
    return nn_err_set(err, NN_IO, "%s: none of the %d checkpoint%s%s in %s can be used (newest: %s); move them away "
                      "to start over", run_dir, tried, tried == 1 ? "" : "s",
                      stage ? (stage == 1 ? " of stage 1" : " of stage 2") : "", dir, first_why);
}

nn_status vdsm_ckpt_find_latest(const char *run_dir, int stage, struct vdsm_ckpt_info *info, bool *found,
                                struct nn_err *err)
{
    return vdsm_ckpt_choose(run_dir, stage, NULL, false, info, found, NULL, 0, err);
}

nn_status vdsm_ckpt_load(const char *path, struct ppl_param_store *store, struct vdsm_ckpt_info *info,
                         struct nn_err *err)
{
    if (vdsm_ckpt_read_info(path, info, err)) return err->code;
    /* the load checks the whole file before it writes a value (after a failure the values are
     * unchanged; the optimizers are reset) */
    ppl_store_reset_optim(store);
    return ppl_store_load_exact(store, path, err);
}

nn_status vdsm_run_open(const char *run_dir, enum nn_device dev, struct vdsm_run *run, struct nn_err *err)
{
    memset(run, 0, sizeof *run);
    char spec_path[VDSM_PATH_MAX];
    if (strlen(run_dir) >= sizeof run->dir || !vdsm_path_join(spec_path, sizeof spec_path, run_dir, "spec.yaml"))
        return nn_err_set(err, NN_INVALID, "%s: path too long", run_dir);
    memcpy(run->dir, run_dir, strlen(run_dir) + 1);
    if (vdsm_spec_load(spec_path, NULL, 0, &run->spec, err)) return err->code;
    struct nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)run->spec.runtime.seed);
    run->store = ppl_store_new();
    if (!run->store) return nn_err_set(err, NN_OOM, "out of memory");
    if (vdsm_net_init(&run->net, &run->spec, dev, &rng, err) || vdsm_net_register(&run->net, run->store, err))
        goto fail;
    bool found;
    if (vdsm_ckpt_choose(run_dir, 0, run->store, false, &run->ckpt, &found, run->notes, sizeof run->notes, err))
        goto fail;
    if (!found) {
        nn_err_set(err, NN_IO, "%s: no checkpoint in %s/checkpoints (train it first: vdsm train %s)", run_dir,
                   run_dir, spec_path);
        goto fail;
    }
    if (vdsm_ckpt_load(run->ckpt.path, run->store, &run->ckpt, err)) goto fail;
    if (vdsm_net_set_stage(&run->net, run->ckpt.stage, err)) goto fail;
    return NN_OK;
fail:
    vdsm_run_close(run);
    return err->code;
}

void vdsm_run_close(struct vdsm_run *run)
{
    if (run->store) ppl_store_free(run->store);
    if (run->net.nparams) vdsm_net_free(&run->net);
    vdsm_spec_free(&run->spec);
    memset(run, 0, sizeof *run);
}
