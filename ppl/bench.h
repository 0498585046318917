/* ppl/bench.h: per-site overhead of the runtime, for examples/ppl_bench.c and docs/performance.md.
 *
 * Times SVI steps (Trace_ELBO, Adam) of two models: 1000 scalar Normal sites with a guide of
 * 1000 scalar Normal sites sharing two params, and one vectorised site of 1000 elements in a
 * plate with a 1000-element mean-field guide. Prints microseconds per site per step.
 * Returns 0, or a status when a step fails (message printed to out).
 *
 *   ppl_bench_overhead(stdout);
 */
#ifndef PPL_BENCH_H
#define PPL_BENCH_H

#include <stdio.h>

int ppl_bench_overhead(FILE *out);

#endif
