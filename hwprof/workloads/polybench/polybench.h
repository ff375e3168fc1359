/*
 * hwprof's PolyBench/C 4.2.1 support: dataset presets, the bench.start/bench.end markers and the
 * checksum/dump helpers every kernel shares. Written for hwprof from the published kernel
 * definitions; each kernel file picks its sizes with one of -DMINI_DATASET ... -DEXTRALARGE_DATASET
 * (LARGE when none is given, as in PolyBench).
 */
#ifndef HWPROF_POLYBENCH_H
#define HWPROF_POLYBENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(MINI_DATASET) && !defined(SMALL_DATASET) && !defined(MEDIUM_DATASET) && \
    !defined(LARGE_DATASET) && !defined(EXTRALARGE_DATASET)
#define LARGE_DATASET
#endif

/* Phase markers around exactly the kernel. In wasm they are imports from module "bench"; a native
 * build gets them from the host (HWPROF_NATIVE_MARKERS) or as no-ops. */
#if defined(__wasm__)
__attribute__((import_module("bench"), import_name("start"))) void bench_start(void);
__attribute__((import_module("bench"), import_name("end"))) void bench_end(void);
#elif defined(HWPROF_NATIVE_MARKERS)
void bench_start(void);
void bench_end(void);
#else
static inline void bench_start(void) {}
static inline void bench_end(void) {}
#endif

/* Arrays live on the heap, as PolyBench allocates them. */
#define POLYBENCH_ALLOC(type, n) ((type *)hwprof_alloc((size_t)(n) * sizeof(type)))

static inline void *hwprof_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory allocating %zu bytes\n", bytes);
        exit(2);
    }
    return p;
}

/* Dump format of PolyBench 4.2.1 (on stderr, when asked with argument "dump"). */
static inline int hwprof_dump_requested(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "dump") == 0;
}

static inline void hwprof_dump_begin(void) { fprintf(stderr, "==BEGIN DUMP_ARRAYS==\n"); }
static inline void hwprof_dump_end(void) { fprintf(stderr, "==END   DUMP_ARRAYS==\n"); }

static inline void hwprof_dump_array(const char *name, const double *a, long n)
{
    fprintf(stderr, "begin dump: %s", name);
    for (long i = 0; i < n; i++) {
        if (i % 20 == 0)
            fprintf(stderr, "\n");
        fprintf(stderr, "%0.2lf ", a[i]);
    }
    fprintf(stderr, "\nend   dump: %s\n", name);
}

/* The checksum line hwprof compares across runtimes: the sum of the live-out values, printed exactly. */
static inline void hwprof_checksum(const double *a, long n)
{
    double sum = 0.0;
    for (long i = 0; i < n; i++)
        sum += a[i];
    printf("checksum: %.17g\n", sum);
}

#endif
