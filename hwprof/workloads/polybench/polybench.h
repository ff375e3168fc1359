/*
 * hwprof's PolyBench/C 4.2.1 support: the dataset preset (one of -DMINI_DATASET ... -DEXTRALARGE_DATASET,
 * LARGE when none is given, as in PolyBench) and the shared workload helpers. Kernels are written for
 * hwprof from the published kernel definitions.
 */
#ifndef HWPROF_POLYBENCH_H
#define HWPROF_POLYBENCH_H

#include "../common/hwprof_bench.h"

#if !defined(MINI_DATASET) && !defined(SMALL_DATASET) && !defined(MEDIUM_DATASET) && \
    !defined(LARGE_DATASET) && !defined(EXTRALARGE_DATASET)
#define LARGE_DATASET
#endif

/* Arrays live on the heap, as PolyBench allocates them. */
#define POLYBENCH_ALLOC(type, n) ((type *)hwprof_alloc((size_t)(n) * sizeof(type)))

/* PolyBench's symmetric positive-definite input (cholesky, lu, ludcmp): a unit lower-triangular L0,
 * then A = L0 * L0^T through a scratch matrix. A is n x n, row-major. */
static inline void hwprof_spd_matrix(int n, double *A)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            A[(long)i * n + j] = (double)(-j % n) / n + 1;
        for (int j = i + 1; j < n; j++)
            A[(long)i * n + j] = 0;
        A[(long)i * n + i] = 1;
    }
    double *B = POLYBENCH_ALLOC(double, (long)n * n);
    for (long r = 0; r < (long)n * n; ++r)
        B[r] = 0;
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < n; ++r)
            for (int s = 0; s < n; ++s)
                B[(long)r * n + s] += A[(long)r * n + t] * A[(long)s * n + t];
    for (long r = 0; r < (long)n * n; ++r)
        A[r] = B[r];
    free(B);
}

/* Kept for the first kernels: the double-precision checksum and dump. */
#define hwprof_checksum(a, n) hwprof_checksum_double((a), (n))
#define hwprof_dump_array(name, a, n) hwprof_dump_double((name), (a), (n))

#endif
