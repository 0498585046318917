/* LSTM benchmark at VDSM's shapes (see nn/bench.h): the module's forward and backward through
 * autograd (3 layers x 512, bidirectional, 20 sequences), so the figure includes everything a
 * training step pays: the input-projection GEMM, the per-step recurrent GEMMs and cell
 * kernels, BPTT and the weight-gradient GEMMs. FLOPs count the GEMMs only: forward
 * 2*T*B*4H*I + 2*(T-1)*B*4H*H per layer and direction; backward twice that (data + weights).
 * The forward + backward is timed again in bf16 (runtime.precision). */
#include <time.h>

#include "nn/bench.h"
#include "nn/modules/lstm.h"
#include "nn/ops.h"

#define REPS 3

struct lstm_case {
    int64_t t, in;
};

static const struct lstm_case lstm_cases[] = {{8, 30}, {20, 30}, {8, 512}, {20, 512}};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double fwd_flops(const struct nn_lstm *m, int64_t t, int64_t b)
{
    double f = 0, h = (double)m->cfg.hidden_size;
    for (int l = 0; l < m->cfg.num_layers; l++) {
        double in = l ? m->ndir * h : (double)m->cfg.input_size;
        f += m->ndir * (2.0 * t * b * 4 * h * in + 2.0 * (t - 1) * b * 4 * h * h);
    }
    return f;
}

/* one forward + backward; times of each into *tf, *tb; 0 or -1 */
static int run_once(nn_ctx *ctx, struct nn_lstm *m, const struct lstm_case *c, int64_t b,
                    double *tf, double *tb)
{
    nn_ctx_step_reset(ctx);
    struct nn_tensor *x = nn_full(ctx, 3, (int64_t[]){c->t, b, c->in}, 0.1f);
    if (!x) return -1;
    double t0 = now_s();
    struct nn_tensor *y = nn_lstm_forward(ctx, m, x, NULL, NULL, false, NULL, NULL, NULL);
    struct nn_tensor *loss = nn_sum_all(ctx, y);
    double t1 = now_s();
    if (!loss || nn_backward(ctx, loss)) return -1;
    double t2 = now_s();
    *tf = t1 - t0;
    *tb = t2 - t1;
    return 0;
}

static int bench_case(FILE *out, nn_ctx *ctx, const struct lstm_case *c)
{
    const int64_t B = 20, H = 512;
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    struct nn_err err = {0};
    struct nn_lstm m;
    struct nn_lstm_config cfg = {.input_size = c->in, .hidden_size = H, .num_layers = 3,
                                 .bidirectional = true};
    if (nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err)) return -1;
    double bf = 1e30, bb = 1e30, tf, tb;
    int rc = run_once(ctx, &m, c, B, &tf, &tb); /* warm-up: arena chunks, BLAS buffers */
    for (int r = 0; rc == 0 && r < REPS; r++) {
        rc = run_once(ctx, &m, c, B, &tf, &tb);
        if (tf < bf) bf = tf;
        if (tb < bb) bb = tb;
    }
    /* the same in bf16: fwd+bwd, best of REPS */
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    enum nn_precision was = be->precision();
    double b16 = 1e30;
    if (rc == 0 && be->set_precision(NN_PREC_BF16, &err) == NN_OK) {
        rc = run_once(ctx, &m, c, B, &tf, &tb);
        for (int r = 0; rc == 0 && r < REPS; r++) {
            rc = run_once(ctx, &m, c, B, &tf, &tb);
            if (tf + tb < b16) b16 = tf + tb;
        }
        be->set_precision(was, &err);
    }
    if (rc == 0) {
        double ff = fwd_flops(&m, c->t, B);
        fprintf(out, "  lstm 3x%lld bidir B=%lld T=%-2lld I=%-3lld fwd %7.1f ms %6.1f GFLOP/s | "
                "bwd %7.1f ms %6.1f GFLOP/s | fwd+bwd %6.1f GFLOP/s | bf16 fwd+bwd %6.1f GFLOP/s\n",
                (long long)H, (long long)B, (long long)c->t, (long long)c->in, 1e3 * bf,
                ff / bf * 1e-9, 1e3 * bb, 2 * ff / bb * 1e-9, 3 * ff / (bf + bb) * 1e-9, 3 * ff / b16 * 1e-9);
    }
    nn_lstm_free(&m);
    return rc;
}

int nn_bench_lstm(FILE *out)
{
    struct nn_err err = {0};
    nn_ctx *ctx = nn_ctx_new(NULL, &err);
    if (!ctx) return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof lstm_cases / sizeof *lstm_cases; i++)
        rc = bench_case(out, ctx, &lstm_cases[i]);
    nn_ctx_free(ctx);
    return rc;
}
