/* PolyBench/C 4.2.1 heat-3d: explicit 3-D heat equation, a 7-point stencil applied A -> B -> A each time step.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TSTEPS 20
#define N 10
#elif defined(SMALL_DATASET)
#define TSTEPS 40
#define N 20
#elif defined(MEDIUM_DATASET)
#define TSTEPS 100
#define N 40
#elif defined(LARGE_DATASET)
#define TSTEPS 500
#define N 120
#else
#define TSTEPS 1000
#define N 200
#endif

static void init(int n, double A[N][N][N], double B[N][N][N])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                A[i][j][k] = B[i][j][k] = (double)(i + j + (n - k)) * 10 / (n);
}

static void kernel_heat_3d(int tsteps, int n, double A[N][N][N], double B[N][N][N])
{
    for (int t = 1; t <= tsteps; t++) {
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                for (int k = 1; k < n - 1; k++)
                    B[i][j][k] = 0.125 * (A[i + 1][j][k] - 2.0 * A[i][j][k] + A[i - 1][j][k])
                               + 0.125 * (A[i][j + 1][k] - 2.0 * A[i][j][k] + A[i][j - 1][k])
                               + 0.125 * (A[i][j][k + 1] - 2.0 * A[i][j][k] + A[i][j][k - 1])
                               + A[i][j][k];
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                for (int k = 1; k < n - 1; k++)
                    A[i][j][k] = 0.125 * (B[i + 1][j][k] - 2.0 * B[i][j][k] + B[i - 1][j][k])
                               + 0.125 * (B[i][j + 1][k] - 2.0 * B[i][j][k] + B[i][j - 1][k])
                               + 0.125 * (B[i][j][k + 1] - 2.0 * B[i][j][k] + B[i][j][k - 1])
                               + B[i][j][k];
    }
}

int main(int argc, char **argv)
{
    double (*A)[N][N] = (double (*)[N][N])POLYBENCH_ALLOC(double, (long)N * N * N);
    double (*B)[N][N] = (double (*)[N][N])POLYBENCH_ALLOC(double, (long)N * N * N);

    init(N, A, B);
    bench_start();
    kernel_heat_3d(TSTEPS, N, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, &A[0][0][0], (long)N * N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("A", &A[0][0][0], (long)N * N * N);
        hwprof_dump_end();
    }
    free(A); free(B);
    return 0;
}
