/* PolyBench/C 4.2.1 jacobi-2d: 2-D Jacobi stencil, five-point averaging A -> B -> A each time step.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TSTEPS 20
#define N 30
#elif defined(SMALL_DATASET)
#define TSTEPS 40
#define N 90
#elif defined(MEDIUM_DATASET)
#define TSTEPS 100
#define N 250
#elif defined(LARGE_DATASET)
#define TSTEPS 500
#define N 1300
#else
#define TSTEPS 1000
#define N 2800
#endif

static void init(int n, double A[N][N], double B[N][N])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = ((double)i * (j + 2) + 2) / n;
            B[i][j] = ((double)i * (j + 3) + 3) / n;
        }
}

static void kernel_jacobi_2d(int tsteps, int n, double A[N][N], double B[N][N])
{
    for (int t = 0; t < tsteps; t++) {
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                B[i][j] = 0.2 * (A[i][j] + A[i][j - 1] + A[i][1 + j] + A[1 + i][j] + A[i - 1][j]);
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                A[i][j] = 0.2 * (B[i][j] + B[i][j - 1] + B[i][1 + j] + B[1 + i][j] + B[i - 1][j]);
    }
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double (*B)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);

    init(N, A, B);
    bench_start();
    kernel_jacobi_2d(TSTEPS, N, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, &A[0][0], (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("A", &A[0][0], (long)N * N);
        hwprof_dump_end();
    }
    free(A); free(B);
    return 0;
}
