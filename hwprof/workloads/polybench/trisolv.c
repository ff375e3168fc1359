/* PolyBench/C 4.2.1 trisolv: forward substitution, solving L*x = b for lower-triangular L. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define N 40
#elif defined(SMALL_DATASET)
#define N 120
#elif defined(MEDIUM_DATASET)
#define N 400
#elif defined(LARGE_DATASET)
#define N 2000
#else
#define N 4000
#endif

static void init(int n, double L[N][N], double *x, double *b)
{
    for (int i = 0; i < n; i++) {
        x[i] = -999;
        b[i] = i;
        for (int j = 0; j <= i; j++)
            L[i][j] = (double)(i + n - j + 1) * 2 / n;
    }
}

static void kernel_trisolv(int n, double L[N][N], double *x, const double *b)
{
    for (int i = 0; i < n; i++) {
        x[i] = b[i];
        for (int j = 0; j < i; j++)
            x[i] -= L[i][j] * x[j];
        x[i] = x[i] / L[i][i];
    }
}

/* PolyBench's trisolv prints each value before its line break (a break after elements 0, 20, 40, ...). */
static void dump_x(int n, const double *x)
{
    fprintf(stderr, "begin dump: %s", "x");
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "%0.2lf ", x[i]);
        if (i % 20 == 0)
            fprintf(stderr, "\n");
    }
    fprintf(stderr, "\nend   dump: %s\n", "x");
}

int main(int argc, char **argv)
{
    double (*L)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double *x = POLYBENCH_ALLOC(double, N);
    double *b = POLYBENCH_ALLOC(double, N);

    init(N, L, x, b);
    bench_start();
    kernel_trisolv(N, L, x, b);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, x, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        dump_x(N, x);
        hwprof_dump_end();
    }
    free(L); free(x); free(b);
    return 0;
}
