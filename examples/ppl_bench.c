/* Runs the ppl per-site overhead benchmark: example_ppl_bench */
#include "ppl/bench.h"

int main(void) { return ppl_bench_overhead(stdout); }
