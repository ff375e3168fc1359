/* PolyBench/C 4.2.1 seidel-2d: 2-D Gauss-Seidel stencil, nine-point averaging in place each time step.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TSTEPS 20
#define N 40
#elif defined(SMALL_DATASET)
#define TSTEPS 40
#define N 120
#elif defined(MEDIUM_DATASET)
#define TSTEPS 100
#define N 400
#elif defined(LARGE_DATASET)
#define TSTEPS 500
#define N 2000
#else
#define TSTEPS 1000
#define N 4000
#endif

static void init(int n, double A[N][N])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            A[i][j] = ((double)i * (j + 2) + 2) / n;
}

static void kernel_seidel_2d(int tsteps, int n, double A[N][N])
{
    for (int t = 0; t <= tsteps - 1; t++)
        for (int i = 1; i <= n - 2; i++)
            for (int j = 1; j <= n - 2; j++)
                A[i][j] = (A[i - 1][j - 1] + A[i - 1][j] + A[i - 1][j + 1]
                           + A[i][j - 1] + A[i][j] + A[i][j + 1]
                           + A[i + 1][j - 1] + A[i + 1][j] + A[i + 1][j + 1]) / 9.0;
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);

    init(N, A);
    bench_start();
    kernel_seidel_2d(TSTEPS, N, A);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, &A[0][0], (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("A", &A[0][0], (long)N * N);
        hwprof_dump_end();
    }
    free(A);
    return 0;
}
