/* vdsm eval: the evaluation protocols over a trained run (docs/evaluation.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/commands.h"
#include "vdsm/eval/eval.h"
#include "vdsm/eval/judge.h"
#include "vdsm/io/file.h"
#include "vdsm/report/report.h"
#include "vdsm/run/checkpoint.h"
#include "vdsm/run/lock.h"

enum { P_JUDGE = 1, P_CONS = 2, P_RECON = 4 };

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm eval RUN --protocol judge|consistency|recon|all [--judge FILE] [--seeds N]\n"
               "                 [--seed S] [--batch B] [--data DIR] [--dsa-epochs N] [--dsa-width NF]\n"
               "                 [--export DIR]\n"
               "  Evaluates the newest checkpoint of RUN on its dataset's test split and writes\n"
               "  RUN/eval.json and RUN/eval.md (protocols already there from earlier calls are kept).\n"
               "  --protocol P     judge (needs a judge: vdsm judge train DATA), consistency, recon or all;\n"
               "                   repeatable or comma-separated\n"
               "  --judge FILE     the judge classifier (default DATA/judge.safetensors)\n"
               "  --seeds N        repetitions, reported as mean and spread (default 3)\n"
               "  --seed S         first seed (default 0)\n"
               "  --batch B        clips per forward pass (default 16)\n"
               "  --data DIR       the dataset (default the run spec's dataset.path)\n"
               "  --dsa-epochs N   consistency: DSA classifier training epochs (default 60)\n"
               "  --dsa-width NF   consistency: DSA base channels (default 64, the published size)\n"
               "  --export DIR     also write the clips each protocol scores, per protocol and seed, as\n"
               "                   npy arrays (uint8 frames, int32 labels, float32 identity and dynamics\n"
               "                   latents) with an export.json, for any other classifier or probe\n"
               "                   (docs/evaluation.md)\n"
               "  Every number in the outputs is filed under the protocol that produced it.\n");
}

static int parse_protocols(const char *v, int *mask)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", v);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "judge")) *mask |= P_JUDGE;
        else if (!strcmp(t, "consistency")) *mask |= P_CONS;
        else if (!strcmp(t, "recon")) *mask |= P_RECON;
        else if (!strcmp(t, "all")) *mask |= P_JUDGE | P_CONS | P_RECON;
        else {
            fprintf(stderr, "vdsm eval: unknown protocol '%s' (judge, consistency, recon, all)\n", t);
            return 2;
        }
    }
    return 0;
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) {
        fprintf(stderr, "vdsm eval: %s takes an integer in %d..%d, got '%s'\n", opt, lo, hi, v);
        return 2;
    }
    *out = (int)x;
    return 0;
}

static cJSON *read_json(const char *path)
{
    char *s = vdsm_file_read(path, NULL);
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    free(s);
    return cJSON_IsObject(o) ? o : (cJSON_Delete(o), NULL);
}

static nn_status write_atomic(const char *path, const char *text, struct nn_err *e)
{
    char tmp[VDSM_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot write (%s)", tmp, strerror(errno));
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return nn_err_set(e, NN_IO, "%s: cannot write", path);
    }
    return NN_OK;
}

static void replace(cJSON *root, cJSON *from, const char *key)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(from, key);
    if (!v) return;
    cJSON_DeleteItemFromObjectCaseSensitive(root, key);
    cJSON_AddItemToObject(root, key, v);
}

int vdsm_cmd_eval(int argc, char **argv)
{
    const char *run_dir = NULL, *judge_path = NULL, *data = NULL;
    int mask = 0, seed = 0;
    struct vdsm_eval_opts o = vdsm_eval_defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (run_dir) {
                fprintf(stderr, "vdsm eval: unexpected argument '%s'\n", a);
                return 2;
            }
            run_dir = a;
            continue;
        }
        if (!v) {
            fprintf(stderr, "vdsm eval: %s needs a value (or is unknown)\n", a);
            return 2;
        }
        i++;
        int rc = 0;
        if (!strcmp(a, "--protocol")) rc = parse_protocols(v, &mask);
        else if (!strcmp(a, "--judge")) judge_path = v;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--export")) o.export_dir = v;
        else if (!strcmp(a, "--seeds")) rc = parse_int(a, v, 1, 64, &o.seeds);
        else if (!strcmp(a, "--seed")) rc = parse_int(a, v, 0, 1 << 30, &seed);
        else if (!strcmp(a, "--batch")) rc = parse_int(a, v, 2, 4096, &o.batch);
        else if (!strcmp(a, "--dsa-epochs")) rc = parse_int(a, v, 0, 100000, &o.dsa_epochs);
        else if (!strcmp(a, "--dsa-width")) rc = parse_int(a, v, 1, 1024, &o.dsa_width);
        else {
            fprintf(stderr, "vdsm eval: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (rc) return rc;
    }
    if (!run_dir || !mask) {
        if (run_dir) fprintf(stderr, "vdsm eval: say which protocol (--protocol judge|consistency|recon|all)\n");
        usage(stderr);
        return 2;
    }
    o.seed = (uint64_t)seed;
    o.log = stderr;
    struct nn_err e = {0};
    struct vdsm_run run;
    struct vdsm_dataset ds;
    struct vdsm_clf judge;
    memset(&ds, 0, sizeof ds);
    memset(&judge, 0, sizeof judge);
    bool ds_open = false;
    nn_ctx *ctx = NULL;
    cJSON *res = cJSON_CreateObject(), *root = NULL;
    char path[VDSM_PATH_MAX + 64], jbuf[VDSM_PATH_MAX + 64];
    int rc = 1;
    struct vdsm_run_lock lock;
    if (vdsm_run_lock(run_dir, false, "vdsm eval", &lock, &e) || vdsm_run_open(run_dir, NN_DEV_CPU, &run, &e)) {
        fprintf(stderr, "vdsm eval: %s\n", e.msg);
        vdsm_run_unlock(&lock);
        cJSON_Delete(res);
        return 1;
    }
    if (run.notes[0]) fprintf(stderr, "vdsm eval: note: %s", run.notes);
    vdsm_run_clean(run_dir);
    if (!data) data = run.spec.dataset.path;
    if (vdsm_dataset_open(data, &ds, &e)) goto done;
    ds_open = true;
    if (!(ctx = nn_ctx_new(NULL, &e))) goto done;
    o.temp = (float)run.spec.model.test_temperature;
    o.checkpoint = run.ckpt.path;
    o.model = run.ckpt.stage == 2 ? run.spec.stage2.model : run.spec.stage1.model;
    fprintf(stderr, "vdsm eval: %s (checkpoint stage %d epoch %ld) on %s, test split %zu clips, %d seed(s)\n", run_dir,
            run.ckpt.stage, run.ckpt.epoch, data, ds.meta.test[1] - ds.meta.test[0], o.seeds);
    if (mask & P_JUDGE) {
        if (!judge_path) snprintf(jbuf, sizeof jbuf, "%s/judge.safetensors", data), judge_path = jbuf;
        if (vdsm_clf_load(&judge, judge_path, NN_DEV_CPU, &e)) {
            fprintf(stderr, "vdsm eval: the judge protocol needs a judge classifier (vdsm judge train %s)\n", data);
            goto done;
        }
        double acc[VDSM_CLF_MAX_HEADS];
        if (vdsm_clf_split_accuracy(ctx, &judge, &ds, VDSM_SPLIT_TEST, o.batch, acc, &e) ||
            vdsm_eval_judge(ctx, &run.net, &ds, &judge, &o, res, &e))
            goto done;
        cJSON *j = cJSON_GetObjectItemCaseSensitive(res, "judge");
        cJSON_AddStringToObject(j, "judge_file", judge_path);
        cJSON *ja = cJSON_AddObjectToObject(j, "judge_test_accuracy");
        for (int k = 0; k < judge.cfg.n_heads; k++) {
            cJSON_AddNumberToObject(ja, judge.cfg.names[k], acc[k]);
            if (acc[k] < 0.99)
                fprintf(stderr, "vdsm eval: note: the judge %s labels %.1f%% of the real test clips' %s right; its "
                                "scores of generated clips mean little under ~99%% (train it longer)\n",
                        judge_path, 100 * acc[k], judge.cfg.names[k]);
        }
    }
    if ((mask & P_CONS) && vdsm_eval_consistency(ctx, &run.net, &ds, &o, res, &e)) goto done;
    if ((mask & P_RECON) && vdsm_eval_recon(ctx, &run.net, run.store, &ds, run.ckpt.stage, &o, res, &e)) goto done;
    /* merge into an existing eval.json: this call's protocols replace theirs */
    snprintf(path, sizeof path, "%s/eval.json", run_dir);
    root = read_json(path);
    if (!root) root = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(root, "run");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "dataset");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "checkpoint");
    cJSON_AddStringToObject(root, "run", run_dir);
    cJSON_AddStringToObject(root, "dataset", ds.meta.name);
    cJSON_AddStringToObject(root, "checkpoint", run.ckpt.path);
    replace(root, res, "judge");
    replace(root, res, "consistency");
    replace(root, res, "recon");
    char *json = cJSON_Print(root), *md = vdsm_eval_markdown(root);
    if (!json || !md) nn_err_set(&e, NN_OOM, "out of memory");
    else if (!write_atomic(path, json, &e)) {
        snprintf(path, sizeof path, "%s/eval.md", run_dir);
        if (!write_atomic(path, md, &e)) {
            fputs(md, stdout);
            fprintf(stderr, "vdsm eval: wrote %s/eval.json and %s/eval.md\n", run_dir, run_dir);
            if (o.export_dir && (mask & (P_JUDGE | P_CONS)))
                fprintf(stderr, "vdsm eval: the scored clips are in %s\n", o.export_dir);
            rc = 0;
            /* the run's report shows eval.json; a report failure does not undo the evaluation */
            struct nn_err re = {0};
            if (vdsm_report_write(run_dir, &re)) fprintf(stderr, "vdsm eval: report not updated: %s\n", re.msg);
        }
    }
    free(json);
    free(md);
done:
    if (rc) fprintf(stderr, "vdsm eval: %s\n", e.msg[0] ? e.msg : "failed");
    cJSON_Delete(res);
    cJSON_Delete(root);
    vdsm_clf_free(&judge);
    if (ctx) nn_ctx_free(ctx);
    if (ds_open) vdsm_dataset_close(&ds);
    vdsm_run_close(&run);
    vdsm_run_unlock(&lock);
    return rc;
}
