/*
 * The study's matrix-multiplication size sweep (Fig. 8): C = A x B for square N x N matrices of doubles,
 * N given as the program's argument, so one build serves every size and start-up stays the same while
 * execution grows. Inputs come from a fixed-seed generator, so every runtime computes the same product.
 */
#include "../common/hwprof_bench.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: a deterministic stream of doubles in [0, 1). */
static double next_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static void matmul(long n, const double *a, const double *b, double *c)
{
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (long j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    if (n < 1 || n > 20000) {
        fprintf(stderr, "matmul: size must be 1..20000, got %s\n", argc > 1 ? argv[1] : "?");
        return 2;
    }
    double *a = hwprof_alloc((size_t)(n * n) * sizeof(double));
    double *b = hwprof_alloc((size_t)(n * n) * sizeof(double));
    double *c = hwprof_alloc((size_t)(n * n) * sizeof(double));
    for (long i = 0; i < n * n; i++)
        a[i] = next_uniform();
    for (long i = 0; i < n * n; i++)
        b[i] = next_uniform();

    bench_start();
    matmul(n, a, b, c);
    bench_end();

    hwprof_checksum_double(c, n * n);
    if (argc > 2 && strcmp(argv[2], "dump") == 0) {
        hwprof_dump_begin();
        hwprof_dump_double("C", c, n * n);
        hwprof_dump_end();
    }
    free(a); free(b); free(c);
    return 0;
}
