/*
 * What every hwprof workload shares: the bench.start/bench.end phase markers, heap allocation,
 * the checksum line hwprof compares across runtimes, and PolyBench's array dump format.
 *
 * Markers: in wasm they are imports from module "bench" (the host defines them); a native build
 * gets them from a host (HWPROF_NATIVE_MARKERS) or as no-ops. Call each exactly once, around the
 * kernel and nothing else.
 */
#ifndef HWPROF_BENCH_H
#define HWPROF_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(HWPROF_WASI_MARKERS)
/*
 * For runtimes whose host hwprof does not write (command-line runtimes, sandboxes), through WASI's
 * standard streams alone: a marker writes a tagged line to stderr and waits for one byte on stdin.
 * hwprof's relay reads the runtime's stderr, turns the marker into phase edges and answers on stdin.
 * (Files in a preopened folder will not do: runtimes write files at a tracked offset, which a FIFO
 * refuses.) Run without the relay, a marker finds stdin closed and goes on at once.
 */
#include <unistd.h>
#define HWPROF_MARKER_TAG "\x1b[hwprof-marker:"
static inline void hwprof_marker(char what)
{
    char line[] = HWPROF_MARKER_TAG "?]\n", ack;
    line[sizeof line - 4] = what;   /* the "?" */
    if (write(2, line, sizeof line - 1) == (ssize_t)(sizeof line - 1))
        (void)read(0, &ack, 1);
}
static inline void bench_start(void) { hwprof_marker('S'); }
static inline void bench_end(void) { hwprof_marker('E'); }
#elif defined(__wasm__)
__attribute__((import_module("bench"), import_name("start"))) void bench_start(void);
__attribute__((import_module("bench"), import_name("end"))) void bench_end(void);
#elif defined(HWPROF_NATIVE_MARKERS)
void bench_start(void);
void bench_end(void);
#else
static inline void bench_start(void) {}
static inline void bench_end(void) {}
#endif

static inline void *hwprof_alloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory allocating %zu bytes\n", bytes);
        exit(2);
    }
    return p;
}

/* The checksum line: "checksum: <value>", printed exactly (%.17g for floating point). */
static inline void hwprof_checksum_double(const double *a, long n)
{
    double sum = 0.0;
    for (long i = 0; i < n; i++)
        sum += a[i];
    printf("checksum: %.17g\n", sum);
}

static inline void hwprof_checksum_float(const float *a, long n)
{
    double sum = 0.0;
    for (long i = 0; i < n; i++)
        sum += (double)a[i];
    printf("checksum: %.17g\n", sum);
}

static inline void hwprof_checksum_int(const int *a, long n)
{
    long long sum = 0;
    for (long i = 0; i < n; i++)
        sum += a[i];
    printf("checksum: %lld\n", sum);
}

/* For several live-out arrays: add each to one running sum, then print it once. */
static inline double hwprof_sum_double(double acc, const double *a, long n)
{
    for (long i = 0; i < n; i++)
        acc += a[i];
    return acc;
}

static inline double hwprof_sum_float(double acc, const float *a, long n)
{
    for (long i = 0; i < n; i++)
        acc += (double)a[i];
    return acc;
}

static inline long long hwprof_sum_int(long long acc, const int *a, long n)
{
    for (long i = 0; i < n; i++)
        acc += a[i];
    return acc;
}

static inline void hwprof_print_checksum_double(double sum) { printf("checksum: %.17g\n", sum); }
static inline void hwprof_print_checksum_int(long long sum) { printf("checksum: %lld\n", sum); }

/* FNV-1a over bytes, for outputs that are not numbers to add up (images, decompressed files). */
static inline void hwprof_checksum_bytes(const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
}

/* PolyBench 4.2.1's dump format, on stderr, when the program is run with the argument "dump". */
static inline int hwprof_dump_requested(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "dump") == 0;
}

static inline void hwprof_dump_begin(void) { fprintf(stderr, "==BEGIN DUMP_ARRAYS==\n"); }
static inline void hwprof_dump_end(void) { fprintf(stderr, "==END   DUMP_ARRAYS==\n"); }

#define HWPROF_DUMP_ARRAY(fmt, name, a, n)                      \
    do {                                                        \
        fprintf(stderr, "begin dump: %s", (name));              \
        for (long i_ = 0; i_ < (long)(n); i_++) {               \
            if (i_ % 20 == 0)                                   \
                fprintf(stderr, "\n");                          \
            fprintf(stderr, fmt, (a)[i_]);                      \
        }                                                       \
        fprintf(stderr, "\nend   dump: %s\n", (name));          \
    } while (0)

static inline void hwprof_dump_double(const char *name, const double *a, long n) { HWPROF_DUMP_ARRAY("%0.2lf ", name, a, n); }
static inline void hwprof_dump_float(const char *name, const float *a, long n) { HWPROF_DUMP_ARRAY("%0.2f ", name, a, n); }
static inline void hwprof_dump_int(const char *name, const int *a, long n) { HWPROF_DUMP_ARRAY("%d ", name, a, n); }

#endif
