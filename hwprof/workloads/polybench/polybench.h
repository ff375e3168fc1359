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

/* Kept for the first kernels: the double-precision checksum and dump. */
#define hwprof_checksum(a, n) hwprof_checksum_double((a), (n))
#define hwprof_dump_array(name, a, n) hwprof_dump_double((name), (a), (n))

#endif
