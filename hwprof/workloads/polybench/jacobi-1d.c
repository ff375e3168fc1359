/* PolyBench/C 4.2.1 jacobi-1d: 1-D Jacobi stencil, three-point averaging A -> B -> A each time step.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TSTEPS 20
#define N 30
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

static void init(int n, double *A, double *B)
{
    for (int i = 0; i < n; i++) {
        A[i] = ((double)i + 2) / n;
        B[i] = ((double)i + 3) / n;
    }
}

static void kernel_jacobi_1d(int tsteps, int n, double *A, double *B)
{
    for (int t = 0; t < tsteps; t++) {
        for (int i = 1; i < n - 1; i++)
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1]);
        for (int i = 1; i < n - 1; i++)
            A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1]);
    }
}

int main(int argc, char **argv)
{
    double *A = POLYBENCH_ALLOC(double, N);
    double *B = POLYBENCH_ALLOC(double, N);

    init(N, A, B);
    bench_start();
    kernel_jacobi_1d(TSTEPS, N, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, A, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("A", A, N);
        hwprof_dump_end();
    }
    free(A); free(B);
    return 0;
}
