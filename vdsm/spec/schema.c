/* vdsm/spec/schema.c: every spec key, its type, range, default and documentation.
 *
 * Defaults are the original release's MUG-FED settings (full_train.sh) where the original has
 * the setting; specs/ override them per dataset. */
#include "vdsm/spec/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct vdsm_spec, f)
#define INT(p, f, lo, hi, d, doc) {p, VDSM_KT_INT, OFF(f), lo, hi, false, false, NULL, d, doc, NULL}
#define FLT(p, f, lo, hi, lopen, hopen, d, doc) {p, VDSM_KT_FLOAT, OFF(f), lo, hi, lopen, hopen, NULL, d, doc, NULL}
#define BOOL(p, f, d, doc) {p, VDSM_KT_BOOL, OFF(f), 0, 0, false, false, NULL, d, doc, NULL}
#define STR(p, f, d, doc, chk) {p, VDSM_KT_STRING, OFF(f), 0, 0, false, false, NULL, d, doc, chk}
#define ENUM(p, f, ch, d, doc) {p, VDSM_KT_ENUM, OFF(f), 0, 0, false, false, ch, d, doc, NULL}
#define SCHED(p, f, d, doc) {p, VDSM_KT_SCHEDULE, OFF(f), 0, 0, false, false, NULL, d, doc, NULL}
#define MODEL(p, f, stage, d, doc) {p, VDSM_KT_MODEL, OFF(f), stage, stage, false, false, NULL, d, doc, NULL}

static const char *check_device(const char *v)
{
    if (!strcmp(v, "cpu") || !strcmp(v, "cuda")) return NULL;
    if (!strncmp(v, "cuda:", 5) && v[5] >= '0' && v[5] <= '9') {
        char *end;
        long n = strtol(v + 5, &end, 10);
        if (!*end && n >= 0 && n < 64) return NULL;
    }
    return "expected cpu, cuda or cuda:N";
}

static const char *check_nonempty(const char *v)
{
    return *v ? NULL : "expected a non-empty string";
}

/* The keys of one training stage; S is "stage1" or "stage2", F the struct member. Its schedules
 * follow, one per annealed quantity (SCHED1, SCHED2). */
#define STAGE_KEYS(S, F, N, MODEL_DEF, EP, SEQ, FLIP)                                                      \
    MODEL(S ".model", F.model, N, MODEL_DEF,                                                               \
          "Model/guide pair of this stage, by name (the table under Models below); the default is the "     \
          "release's."),                                                                                   \
    INT(S ".epochs", F.epochs, 1, 1000000, EP, "Epochs of this stage (the schedules span them)."),        \
    INT(S ".batches_per_epoch", F.batches_per_epoch, 1, 100000000, "50",                                   \
        "Optimizer steps per epoch (the original's --bs_per_epoch)."),                                     \
    INT(S ".batch_size", F.batch_size, 1, 4096, "20", "Sequences per step, B (--bs)."),                   \
    INT(S ".seq_len", F.seq_len, 1, 10000, SEQ,                                                            \
        "Frames per training window, T (per clip in pair mode, where T = 2 seq_len)."),                    \
    BOOL(S ".pair", F.pair, "false",                                                                       \
         "Pair mode: each item is two windows of two sequences with the same identity, concatenated "      \
         "in time (the original's Sprites loader)."),                                                      \
    BOOL(S ".flip", F.flip, FLIP, "Random horizontal flip of whole windows. The original flips MUG in stage 1, each frame on its own (docs/model.md)."), \
    FLT(S ".lr", F.lr, 0, 10, true, false, "0.001", "Learning rate."),                                     \
    FLT(S ".lrd", F.lrd, 0, 1, true, false, "1", "Learning-rate decay per step (clipped_adam only)."),     \
    FLT(S ".clip", F.clip, 0, 1e9, true, false, "10", "Gradient clip norm (clipped_adam only)."),          \
    FLT(S ".lr_resume", F.lr_resume, 0, 10, false, false, "0",                                             \
        "Learning rate to use when resuming this stage (0 = keep; the original's --lr_resume)."),          \
    ENUM(S ".optimizer", F.optimizer, "adam|clipped_adam", "adam", "Optimizer (the original uses Adam)."), \
    ENUM(S ".elbo", F.elbo, "trace|mean_field", "trace",                                                   \
         "ELBO estimator: Trace_ELBO, or TraceMeanField_ELBO (analytic KL where known). The original's "   \
         "stage 2 TraceEnum_ELBO has no enumerated sites, so it is trace."),                               \
    INT(S ".num_particles", F.num_particles, 1, 1024, "1", "Particles per ELBO estimate.")
#define SCHED1(id, field, key, column, title, log, role, doc, d1, d2) \
    SCHED("stage1.schedules." #key, stage1.schedules.key, d1, doc),
#define SCHED2(id, field, key, column, title, log, role, doc, d1, d2) \
    SCHED("stage2.schedules." #key, stage2.schedules.key, d2, doc),

const struct vdsm_spec_key vdsm_spec_keys[] = {
    STR("name", name, "vdsm", "Experiment name (names the default run directory).", check_nonempty),
    STR("description", description, "\"\"", "Free text.", NULL),
    {"stages", VDSM_KT_LIST, OFF(stages), 0, 0, false, false, "encdec|seq", "[encdec, seq]",
     "Stages `vdsm train` runs, in order: encdec (stage 1, encoder + mixture-of-experts decoder) "
     "and seq (stage 2, dynamics on the frozen stage 1).", NULL},

    ENUM("dataset.name", dataset.name, "pendulum|mmnist|sprites|mug", "pendulum", "Which dataset."),
    STR("dataset.path", dataset.path, "data/pendulum", "Dataset directory (frames.npy, labels.npy, meta.yaml).",
        check_nonempty),
    ENUM("dataset.split", dataset.split, "train|test|all", "train", "Split trained on."),
    INT("dataset.image_size", dataset.image_size, 16, 1024, "64",
        "Frame height = width; the encoder/decoder geometry needs 64."),
    INT("dataset.channels", dataset.channels, 1, 4, "3", "Channels per frame, C."),

    INT("model.z_dim", model.z_dim, 1, 4096, "30", "Pose latent size per frame, Z."),
    INT("model.n_e_w", model.n_e_w, 1, 512, "15", "Experts in the decoder = identity dimensions, E."),
    INT("model.dynamics_dim", model.dynamics_dim, 1, 4096, "50", "Dynamics latent size, D."),
    INT("model.lstm_layers", model.lstm_layers, 1, 16, "3", "Layers of the stage-2 LSTMs."),
    INT("model.lstm_hidden", model.lstm_hidden, 1, 8192, "512",
        "Hidden size of the stage-2 LSTMs, the combiner and the gated transition."),
    FLT("model.lstm_dropout", model.lstm_dropout, 0, 1, false, true, "0.1",
        "Dropout between LSTM layers and after the encoder LSTM's output layer."),
    FLT("model.encoder_leaky_slope", model.encoder_leaky_slope, 0, 1, false, false, "1",
        "Negative slope of the frame encoder's activations. 1 reproduces the original, whose "
        "nn.LeakyReLU(True) sets the slope to 1 (the activations are the identity)."),
    FLT("model.leaky_slope", model.leaky_slope, 0, 1, false, false, "0.01",
        "Negative slope of every other LeakyReLU (decoder, heads, identity layers, combiner)."),
    ENUM("model.likelihood", model.likelihood, "bernoulli|continuous_bernoulli|normal|bernoulli_clamped", "bernoulli",
         "Pixel likelihood. `bernoulli_clamped` is the release's Bernoulli(probs = sigmoid(logits)), "
         "probabilities clamped to [eps, 1 - eps] (eps = 2^-23), which caps a pixel's loss at "
         "-log(eps) = 15.9 nats; `bernoulli` takes the logits and has no cap."),
    FLT("model.normal_scale", model.normal_scale, 0, 100, true, false, "0.1",
        "Standard deviation of the normal likelihood."),
    FLT("model.min_scale", model.min_scale, 0, 1, false, true, "0",
        "Added to every scale the networks produce (the guide's posteriors, the transition prior). "
        "0 is the original; 1e-4 keeps a collapsing scale away from 0, where softplus underflows "
        "and the site's log-probability turns NaN."),
    FLT("model.conv_width", model.conv_width, 0, 4, true, false, "1",
        "Multiplies the channels of every convolution of the frame encoder (32, 32, 64, 64, 256) and "
        "of the expert decoder (512, 256, 128, 64), each rounded, at least 1. 1 is the original; 0.5 "
        "gives those layers about 4x fewer multiply-adds, for quick runs and ablations."),
    ENUM("model.first_pose_scale", model.first_pose_scale, "consistent|original", "consistent",
         "Stage 2: `original` reproduces the release, whose model samples the first pose z_0 outside "
         "the pose-KL scale while its guide samples it inside; `consistent` scales both."),
    ENUM("model.decoder_init", model.decoder_init, "original|per_expert", "original",
         "Expert weight initialisation. `original`: kaiming_uniform over the whole 5-D [E, Cin, Cout, 4, 4] "
         "tensor, as the release does, whose fan-in (Cin*Cout*16) makes the weights so small that the early "
         "layers start with vanishing gradients; `per_expert`: each expert as a ConvTranspose2d of its layer "
         "(U(+-1/sqrt(Cout*16))), which trains much faster from scratch."),
    FLT("model.test_temperature", model.test_temperature, 0, 1e6, true, false, "10",
        "Identity temperature for reconstructions and swaps (--test_temp_id)."),

    STAGE_KEYS("stage1", stage1, 1, "encdec", "250", "20", "true"),
    VDSM_ANNEALED(SCHED1)
    STAGE_KEYS("stage2", stage2, 2, "seq", "200", "20", "false"),
    VDSM_ANNEALED(SCHED2)

    INT("runtime.seed", runtime.seed, 0, 2147483647, "0", "Seed of every random stream (Philox)."),
    STR("runtime.device", runtime.device, "cpu", "cpu, cuda or cuda:N.", check_device),
    ENUM("runtime.precision", runtime.precision, "fp32|tf32|bf16", "fp32",
         "Math of the GEMMs, convolutions and LSTM products: fp32 (exact), bf16 (inputs rounded to bfloat16, "
         "fp32 accumulation, fp32 weights, optimizer state and everything else; on the CPU the products bf16 "
         "does not speed up stay fp32: the expert blend, convolutions with a side under 16 channels; steps "
         "1.1-1.5x faster than fp32 on an AVX512-BF16 CPU; on CPUs without bf16 instructions it is emulated "
         "and slower than fp32) or tf32 (CUDA only). docs/performance.md."),
    INT("runtime.threads", runtime.threads, 0, 1024, "0", "CPU threads: 0 = `OMP_NUM_THREADS` when it is set, else every core the process may use (its affinity: taskset, a Slurm cpuset); `vdsm train --threads N` overrides it."),
    INT("runtime.step_memory_mb", runtime.step_memory_mb, 16, 1048576, "8192",
        "Per-step arena for intermediate tensors, MiB: a bound (on the CPU it is reserved as address space, "
        "and a run holds only the pages its steps write); raise it when a step reports the arena full."),
    INT("runtime.header_memory_mb", runtime.header_memory_mb, 1, 65536, "256",
        "Per-step arena for tensor headers, tape nodes and trace sites, MiB."),
    INT("runtime.scratch_mb", runtime.scratch_mb, 0, 65536, "0",
        "Working memory of ops that go through a batch in chunks (the experts' blend, conv + "
        "BlurPool), MiB; 0 = 128 on the CPU, 512 on a GPU. More is faster (fewer passes over the "
        "experts) and raises the step's peak by about as much."),
    INT("runtime.checkpoint_every", runtime.checkpoint_every, 1, 1000000, "1", "Epochs between checkpoints."),
    INT("runtime.keep_last", runtime.keep_last, 1, 1000, "3", "Checkpoints kept (older ones are deleted)."),
    INT("runtime.nan_retries", runtime.nan_retries, 0, 100, "3",
        "Roll-backs to the last good checkpoint after a NaN/Inf loss before the run stops."),
    FLT("runtime.nan_lr_factor", runtime.nan_lr_factor, 0, 1, true, false, "0.8",
        "Learning-rate factor applied at each NaN roll-back (the original suggests 0.8: 0.001 -> 0.0008)."),

    STR("output.run_dir", output.run_dir, "\"\"", "Run directory (empty = runs/<name>).", NULL),
    INT("output.grids_every", output.grids_every, 0, 1000000, "10",
        "Epochs between PNG grids (0 = only at the end; the original's --model_test_interval)."),
    INT("output.gifs_every", output.gifs_every, 0, 1000000, "10", "Epochs between GIF animations (0 = only at the end)."),
    INT("output.num_test_ids", output.num_test_ids, 1, 256, "10", "Test sequences shown in grids and swaps."),
};

const size_t vdsm_spec_nkeys = sizeof vdsm_spec_keys / sizeof vdsm_spec_keys[0];

const struct vdsm_spec_key *vdsm_spec_key_find(const char *path)
{
    for (size_t i = 0; i < vdsm_spec_nkeys; i++)
        if (!strcmp(vdsm_spec_keys[i].path, path)) return &vdsm_spec_keys[i];
    return NULL;
}

bool vdsm_spec_is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < vdsm_spec_nkeys; i++)
        if (!strncmp(vdsm_spec_keys[i].path, path, n) && vdsm_spec_keys[i].path[n] == '.') return true;
    return false;
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *vdsm_spec_suggest(const char *parent, const char *name, char *buf, size_t len)
{
    size_t pl = parent ? strlen(parent) : 0;
    int best = 3;
    const char *found = NULL;
    for (size_t i = 0; i < vdsm_spec_nkeys; i++) {
        const char *p = vdsm_spec_keys[i].path;
        if (pl && (strncmp(p, parent, pl) || p[pl] != '.')) continue;
        const char *child = pl ? p + pl + 1 : p;
        char seg[64];
        size_t sl = strcspn(child, ".");
        if (sl >= sizeof seg) continue;
        memcpy(seg, child, sl);
        seg[sl] = '\0';
        int d = edit_distance(seg, name);
        if (d < best) {
            best = d;
            snprintf(buf, len, "%s", seg);
            found = buf;
        }
    }
    return found;
}
