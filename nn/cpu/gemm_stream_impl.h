/* GEMMs with two small sides and one huge one, streamed without packing, and GEMMs with few
 * rows (included by the files of nn/cpu/conv_direct_impl.h after it, with the same macros).
 *
 * Such products move far more memory than they compute on: the mixture decoder blends 40
 * experts of 2.1 M weights into 20 sequences' ([20, 40] x [40, 2.1 M]) and takes the gradient
 * of the mixture ([20, 2.1 M] x [40, 2.1 M]^T). OpenBLAS packs the huge operand before using
 * it, so it crosses memory three times; measured at 8-11 GB/s against 18-23 for a copy.
 * These kernels read each element of the huge operand once.
 *
 * wide: C [m, n] = beta C + alpha op(A) [m, k] B [k, n], with m, k <= STREAM_SMALL and n
 *   huge. A (alpha applied) is copied to [m, k]; a column block of B (k rows of WIDE_COLS)
 *   stays in L1 while tiles of mr rows by 2 vectors sum over k: per k two vector loads and
 *   mr broadcasts for 2 mr multiply-adds. The first row tile also prefetches, into L2, the
 *   same columns of the thread's next block: a block reads k short row segments far apart
 *   (Sprites' blend: 40 segments of 1 KB, 8 MB apart), more streams than the hardware
 *   prefetchers follow. The second decoder layer's blend ([20, 40] x [40, 2.1 M], /tmp
 *   harness, 2 threads, AMD EPYC, 2026-12-02): 28-31 -> 15-16 ms, the copy rate (34-36 GB/s);
 *   two blocks ahead were no better, into L1 instead of L2 22-24 ms.
 * deep: C [m, n] = beta C + alpha A [m, k] B [n, k]^T, with m, n <= STREAM_SMALL and k huge.
 *   k is cut in chunks of DEEP_CHUNK (the chunk's rows of A and B stay in L2); tiles of DEEP_MR rows
 *   of A by DEEP_NR rows of B keep one vector accumulator per pair, summed across lanes into
 *   the thread's partial C at the end of each chunk. Each block of B's rows meets every tile of
 *   A before the next block is read, so after the first block only DEEP_NR rows stream from
 *   memory at a time (the other order, all of B's rows per tile of A, streamed 40 rows at once
 *   at Sprites' mixture gradient: 28.7-30.3 -> 26.6-27.7 ms, /tmp harness, 2026-12-02).
 *   Threads take contiguous ranges of chunks and their partial sums are added in thread order:
 *   the result depends on the thread count only. */

#define WIDE_COLS (16 * VL)
#define LINE_FLOATS 16 /* floats per 64-byte cache line */
#define DEEP_CHUNK ((int64_t)4096)
#ifndef DEEP_MR
#define DEEP_MR 4
#endif
#define DEEP_NR (NI / 2)
#define STREAM_SMALL NN_CPU_STREAM_SMALL

/* ---- wide */

/* mr rows (a constant in each copy) by 2 VL columns at col: c = beta c + sum_k ap[r, k] b[k, col];
 * pf (or NULL): the same columns of the next block, prefetched into L2; nt: beta is 0 and c
 * aligned, stored past the caches (a blend of 168 MB is not read back from them, and a plain
 * store would read each line first) */
INLINE void FN(wide_tile)(const int mr, const float *ap, int64_t k, const float *b, int64_t ldb, float beta,
                          float *c, int64_t ldc, bool nt, const float *pf)
{
    VF acc[NI][2];
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = VZERO();
    for (int64_t kk = 0; kk < k; kk++) {
        if (pf)
            for (int l = 0; l < 2 * VL; l += LINE_FLOATS) _mm_prefetch((const char *)(pf + kk * ldb + l), _MM_HINT_T1);
        VF b0 = VLOAD(b + kk * ldb), b1 = VLOAD(b + kk * ldb + VL);
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            VF a = VSET1(ap[r * k + kk]);
            acc[r][0] = VFMA(a, b0, acc[r][0]);
            acc[r][1] = VFMA(a, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (nt) {
            VSTREAM(cr, acc[r][0]);
            VSTREAM(cr + VL, acc[r][1]);
            continue;
        }
        if (beta != 0.0f) {
            acc[r][0] = VFMA(VSET1(beta), VLOAD(cr), acc[r][0]);
            acc[r][1] = VFMA(VSET1(beta), VLOAD(cr + VL), acc[r][1]);
        }
        VSTORE(cr, acc[r][0]);
        VSTORE(cr + VL, acc[r][1]);
    }
}

static void FN(wide_tile_n)(int mr, const float *ap, int64_t k, const float *b, int64_t ldb, float beta, float *c,
                            int64_t ldc, bool nt, const float *pf)
{
    switch (mr) {
#define WTILE(r)                                                                          \
    case r:                                                                               \
        if (r <= NI) FN(wide_tile)(r <= NI ? r : 1, ap, k, b, ldb, beta, c, ldc, nt, pf); \
        break;
        WTILE(1) WTILE(2) WTILE(3) WTILE(4) WTILE(5) WTILE(6) WTILE(7) WTILE(8) WTILE(9) WTILE(10) WTILE(11) WTILE(12)
#undef WTILE
    default: break;
    }
}

static void FN(gemm_wide)(int ta, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    float ap[STREAM_SMALL * STREAM_SMALL];
    for (int64_t r = 0; r < m; r++)
        for (int64_t kk = 0; kk < k; kk++) ap[r * k + kk] = alpha * (ta ? a[kk * lda + r] : a[r * lda + kk]);
    /* rows per tile: as many as the accumulators allow, evened out over m */
    int64_t tiles = (m + NI - 1) / NI, mr = (m + tiles - 1) / tiles;
    int64_t blocks = n / WIDE_COLS, done = blocks * WIDE_COLS;
    int t = omp_in_parallel() ? 1 : (int)FN(min64)(omp_get_max_threads(), blocks);
    bool nt = beta == 0.0f && (uintptr_t)c % 64 == 0 && ldc % 16 == 0;
#pragma omp parallel num_threads(t > 1 ? t : 1) if (t > 1)
    {
#pragma omp for schedule(static)
        for (int64_t j = 0; j < blocks; j++)
            for (int64_t r0 = 0; r0 < m; r0 += mr)
                for (int64_t v = 0; v < WIDE_COLS; v += 2 * VL)
                    FN(wide_tile_n)((int)FN(min64)(mr, m - r0), ap + r0 * k, k, b + j * WIDE_COLS + v, ldb, beta,
                                    c + r0 * ldc + j * WIDE_COLS + v, ldc, nt,
                                    r0 == 0 && j + 1 < blocks ? b + (j + 1) * WIDE_COLS + v : NULL);
        if (nt) _mm_sfence(); /* the streamed stores are visible before the region ends */
    }
    for (int64_t r = 0; r < m; r++) /* the last columns */
        for (int64_t col = done; col < n; col++) {
            float sum = 0.0f;
            for (int64_t kk = 0; kk < k; kk++) sum += ap[r * k + kk] * b[kk * ldb + col];
            c[r * ldc + col] = (beta == 0.0f ? 0.0f : beta * c[r * ldc + col]) + sum;
        }
}

/* ---- deep */

/* mr rows of A by nr rows of B (constants in each copy) over len (whole vectors) of k:
 * part[i * ldp + j] += sum a[i, :] b[j, :] */
INLINE void FN(deep_tile)(const int mr, const int nr, const float *a, int64_t lda, const float *b, int64_t ldb,
                          int64_t len, float *part, int64_t ldp)
{
    VF acc[DEEP_MR][DEEP_NR];
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) acc[i][j] = VZERO();
    for (int64_t kk = 0; kk < len; kk += VL) {
        VF av[DEEP_MR];
#pragma GCC unroll 4
        for (int i = 0; i < mr; i++) av[i] = VLOAD(a + i * lda + kk);
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) {
            VF bv = VLOAD(b + j * ldb + kk);
#pragma GCC unroll 4
            for (int i = 0; i < mr; i++) acc[i][j] = VFMA(av[i], bv, acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 8
        for (int j = 0; j < nr; j++) part[i * ldp + j] += VHSUM(acc[i][j]);
}

static void FN(deep_tile_n)(int mr, int nr, const float *a, int64_t lda, const float *b, int64_t ldb, int64_t len,
                            float *part, int64_t ldp)
{
    switch (mr * 8 + nr) {
#define DTILE(i, j)                                                                                       \
    case i * 8 + j:                                                                                       \
        if (i <= DEEP_MR && j <= DEEP_NR)                                                                 \
            FN(deep_tile)(i <= DEEP_MR ? i : 1, j <= DEEP_NR ? j : 1, a, lda, b, ldb, len, part, ldp);    \
        break;
#define DROW(i) DTILE(i, 1) DTILE(i, 2) DTILE(i, 3) DTILE(i, 4) DTILE(i, 5) DTILE(i, 6)
        DROW(1) DROW(2) DROW(3) DROW(4)
#undef DROW
#undef DTILE
    default: break;
    }
}

/* k range [k0, k1) into part [m, n] (+=) */
static void FN(deep_range)(int64_t m, int64_t n, int64_t k0, int64_t k1, const float *a, int64_t lda, const float *b,
                           int64_t ldb, float *part)
{
    for (int64_t c0 = k0; c0 < k1; c0 += DEEP_CHUNK) {
        int64_t len = FN(min64)(DEEP_CHUNK, k1 - c0), vec = len / VL * VL;
        for (int64_t j = 0; j < n; j += DEEP_NR)
            for (int64_t i = 0; i < m; i += DEEP_MR)
                FN(deep_tile_n)((int)FN(min64)(DEEP_MR, m - i), (int)FN(min64)(DEEP_NR, n - j), a + i * lda + c0, lda,
                                b + j * ldb + c0, ldb, vec, part + i * n + j, n);
        for (int64_t i = 0; i < m; i++) /* the chunk's last elements */
            for (int64_t j = 0; j < n; j++)
                for (int64_t kk = c0 + vec; kk < c0 + len; kk++) part[i * n + j] += a[i * lda + kk] * b[j * ldb + kk];
    }
}

static void FN(gemm_deep)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                          int64_t ldb, float beta, float *c, int64_t ldc)
{
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    float part[8][STREAM_SMALL * STREAM_SMALL];
    if (t > 8) t = 8;
    /* whole chunks per thread */
    int64_t chunks = (k + DEEP_CHUNK - 1) / DEEP_CHUNK, per = (chunks + t - 1) / t;
#pragma omp parallel num_threads(t) if (t > 1)
    {
        int me = omp_get_thread_num();
        int64_t k0 = FN(min64)(k, me * per * DEEP_CHUNK), k1 = FN(min64)(k, (me + 1) * per * DEEP_CHUNK);
        memset(part[me], 0, (size_t)(m * n) * sizeof(float));
        FN(deep_range)(m, n, k0, k1, a, lda, b, ldb, part[me]);
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int u = 0; u < t; u++) sum += part[u][i * n + j];
            c[i * ldc + j] = (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]) + alpha * sum;
        }
}

/* ---- narrow */

#if VL == 16
#define NARROW_NV 4
#else
#define NARROW_NV 2
#endif
#define NARROW_MR (2 * NI / NARROW_NV) /* rows per tile: the accumulators of the conv tiles */
#define NARROW_KC ((int64_t)128)       /* rows of B per panel: NARROW_NV * VL * 128 floats in L1 */
#define NARROW_PAR_WORK ((int64_t)1 << 18) /* multiply-adds worth two threads */

/* mr rows by nv vectors at c over kc of k: c = beta c + alpha sum_k a[r, k] b[k, :] (beta 0:
 * c is not read) */
INLINE void FN(narrow_tile)(const int mr, const int nv, const float *a, int64_t lda, int64_t kc, const float *b,
                            int64_t ldb, float alpha, float beta, float *c, int64_t ldc)
{
    VF acc[NARROW_MR][NARROW_NV];
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = VZERO();
    for (int64_t kk = 0; kk < kc; kk++) {
        VF bv[NARROW_NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) bv[v] = VLOAD(b + kk * ldb + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < mr; r++) {
            VF av = VSET1(a[r * lda + kk]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = VFMA(av, bv[v], acc[r][v]);
        }
    }
    VF va = VSET1(alpha), vb = VSET1(beta);
#pragma GCC unroll 16
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            float *cp = c + r * ldc + v * VL;
            VSTORE(cp, beta == 0.0f ? VMUL(va, acc[r][v]) : VFMA(va, acc[r][v], VMUL(vb, VLOAD(cp))));
        }
}

static void FN(narrow_tile_n)(int mr, int nv, const float *a, int64_t lda, int64_t kc, const float *b, int64_t ldb,
                              float alpha, float beta, float *c, int64_t ldc)
{
    switch (mr * 8 + (nv == NARROW_NV)) {
#define NTILE(r)                                                                                                 \
    case r * 8:                                                                                                  \
        if (r <= NARROW_MR) FN(narrow_tile)(r <= NARROW_MR ? r : 1, 1, a, lda, kc, b, ldb, alpha, beta, c, ldc); \
        break;                                                                                                   \
    case r * 8 + 1:                                                                                              \
        if (r <= NARROW_MR)                                                                                      \
            FN(narrow_tile)(r <= NARROW_MR ? r : 1, NARROW_NV, a, lda, kc, b, ldb, alpha, beta, c, ldc);         \
        break;
        NTILE(1) NTILE(2) NTILE(3) NTILE(4) NTILE(5) NTILE(6)
#undef NTILE
    default: break;
    }
}

/* columns [j, j + nv * VL) of C, all rows, over all of k */
static void FN(narrow_panel)(int64_t m, int64_t mr, int nv, int64_t k, const float *a, int64_t lda, const float *b,
                             int64_t ldb, float alpha, float beta, float *c, int64_t ldc)
{
    for (int64_t k0 = 0; k0 < k; k0 += NARROW_KC) {
        int64_t kc = FN(min64)(NARROW_KC, k - k0);
        for (int64_t r0 = 0; r0 < m; r0 += mr)
            FN(narrow_tile_n)((int)FN(min64)(mr, m - r0), nv, a + r0 * lda + k0, lda, kc, b + k0 * ldb, ldb, alpha,
                              k0 ? 1.0f : beta, c + r0 * ldc, ldc);
    }
}

static void FN(gemm_narrow)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                            int64_t ldb, float beta, float *c, int64_t ldc)
{
    int64_t tiles = (m + NARROW_MR - 1) / NARROW_MR, mr = (m + tiles - 1) / tiles;
    int64_t pw = NARROW_NV * VL, panels = n / pw, vecs = (n - panels * pw) / VL, done = panels * pw + vecs * VL;
    int t = omp_in_parallel() || m * n * k < NARROW_PAR_WORK ? 1 : (int)FN(min64)(omp_get_max_threads(), panels + vecs);
    /* whole panels first, then single vectors; each column belongs to one thread */
#pragma omp parallel for num_threads(t > 1 ? t : 1) if (t > 1) schedule(static)
    for (int64_t j = 0; j < panels + vecs; j++) {
        bool wide = j < panels;
        int64_t col = wide ? j * pw : panels * pw + (j - panels) * VL;
        FN(narrow_panel)(m, mr, wide ? NARROW_NV : 1, k, a, lda, b + col, ldb, alpha, beta, c + col, ldc);
    }
    for (int64_t r = 0; r < m; r++) /* the last columns */
        for (int64_t col = done; col < n; col++) {
            float sum = 0.0f;
            for (int64_t kk = 0; kk < k; kk++) sum += a[r * lda + kk] * b[kk * ldb + col];
            c[r * ldc + col] = (beta == 0.0f ? 0.0f : beta * c[r * ldc + col]) + alpha * sum;
        }
}

/* ---- narrow, B transposed: C [m, n] = beta C + alpha A [m, k] B [n, k]^T with m at most
 * NN_CPU_NARROW_M (a linear layer's x W^T for a few rows, an LSTM's gates one step at a
 * time). OpenBLAS packs all of B for so few rows of A. Here DEEP_NR rows of B at a time are
 * read in place and stay in L1 while every tile of DEEP_MR rows of A is dotted with them
 * (deep_tile over the whole vectors of k; the last elements of k in scalar code). Threads take
 * whole blocks of B's rows, so each element of C has one sum order whatever the threads. */
static void FN(gemm_narrow_t)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                              const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    int64_t vec = k / VL * VL, blocks = (n + DEEP_NR - 1) / DEEP_NR;
    int t = omp_in_parallel() || m * n * k < NARROW_PAR_WORK ? 1 : (int)FN(min64)(omp_get_max_threads(), blocks);
#pragma omp parallel for num_threads(t > 1 ? t : 1) if (t > 1) schedule(static)
    for (int64_t jb = 0; jb < blocks; jb++) {
        int64_t j = jb * DEEP_NR, nr = FN(min64)(DEEP_NR, n - j);
        for (int64_t i = 0; i < m; i += DEEP_MR) {
            int64_t mr = FN(min64)(DEEP_MR, m - i);
            float part[DEEP_MR * DEEP_NR] = {0};
            FN(deep_tile_n)((int)mr, (int)nr, a + i * lda, lda, b + j * ldb, ldb, vec, part, DEEP_NR);
            for (int64_t r = 0; r < mr; r++)
                for (int64_t q = 0; q < nr; q++) {
                    float sum = part[r * DEEP_NR + q];
                    for (int64_t kk = vec; kk < k; kk++) sum += a[(i + r) * lda + kk] * b[(j + q) * ldb + kk];
                    float *cp = c + (i + r) * ldc + j + q;
                    *cp = (beta == 0.0f ? 0.0f : beta * *cp) + alpha * sum;
                }
        }
    }
}
