/* vdsm train: train the stages a spec names, resuming from the run directory's checkpoints. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/cli/commands.h"
#include "vdsm/spec/spec.h"
#include "vdsm/train/train.h"

#define MAX_SETS 64

/* The first SIGINT, SIGTERM or SIGHUP asks the trainer to stop after the current step (it
 * writes a checkpoint and returns); a second one ends the process at once. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    static const char msg[] = "\nvdsm train: stopping after the current step (a checkpoint is written); "
                              "signal again to stop at once\n";
    ssize_t k = write(2, msg, sizeof msg - 1);
    (void)k;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vdsm train SPEC [--set key.path=value]... [--run-dir DIR] [--quiet] [--max-steps N]\n"
            "                  [--threads N]\n"
            "\n"
            "Trains the stages SPEC names (stages: [encdec, seq]) into a run directory (default\n"
            "output.run_dir, else runs/<name>): spec.yaml, metrics.jsonl, checkpoints/, train.log.\n"
            "Running it again resumes from the newest good checkpoint; finished stages are skipped.\n"
            "\n"
            "  --set k=v      override a spec key (value read as YAML), e.g. --set stage1.epochs=5\n"
            "  --run-dir DIR  train into DIR\n"
            "  --quiet        no progress line, epoch lines only\n"
            "  --max-steps N  stop after N SVI steps (as if interrupted; run again to resume)\n"
            "  --threads N    CPU threads instead of runtime.threads (not part of the spec)\n"
            "\n"
            "SIGINT, SIGTERM or SIGHUP: the current step finishes, a checkpoint is written and the\n"
            "stop logged (exit status 128 + the signal's number); a second signal stops at once.\n");
}

int vdsm_cmd_train(int argc, char **argv)
{
    const char *spec_path = NULL, *sets[MAX_SETS];
    int nsets = 0;
    struct vdsm_train_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--set") && i + 1 < argc) {
            if (nsets == MAX_SETS) {
                fprintf(stderr, "vdsm train: at most %d --set options\n", MAX_SETS);
                return 2;
            }
            sets[nsets++] = argv[++i];
        } else if (!strcmp(a, "--run-dir") && i + 1 < argc) {
            o.run_dir = argv[++i];
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = true;
        } else if (!strcmp(a, "--max-steps") && i + 1 < argc) {
            char *end;
            o.max_steps = strtol(argv[++i], &end, 10);
            if (*end || o.max_steps < 1) {
                fprintf(stderr, "vdsm train: --max-steps needs a positive integer, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) {
                fprintf(stderr, "vdsm train: --threads needs an integer in [1, 1024], got '%s'\n", argv[i]);
                return 2;
            }
            o.threads = (int)t;
        } else if (a[0] == '-' || spec_path) {
            fprintf(stderr, "vdsm train: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            spec_path = a;
        }
    }
    if (!spec_path) {
        usage(stderr);
        return 2;
    }
    struct nn_err err = {0};
    struct vdsm_spec spec;
    if (vdsm_spec_load(spec_path, sets, nsets, &spec, &err)) {
        fprintf(stderr, "vdsm train: %s\n", err.msg);
        return 2;
    }
    o.stop = &stop_signal;
    catch_signals();
    nn_status st = vdsm_train(&spec, &o, &err);
    if (st) fprintf(stderr, "vdsm train: %s\n", err.msg);
    vdsm_spec_free(&spec);
    if (!st && stop_signal) {
        fprintf(stderr, "vdsm train: stopped by signal %d (%s); the run resumes from its checkpoint when trained again\n",
                (int)stop_signal, strsignal(stop_signal));
        return 128 + stop_signal;
    }
    return st ? 1 : 0;
}
