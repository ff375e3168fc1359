/* PolyBench/C 4.2.1 lu: LU decomposition without pivoting, in place (unit L below the diagonal, U on and above).
 * Written for hwprof. */
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

static void kernel_lu(int n, double A[N][N])
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            for (int k = 0; k < j; k++)
                A[i][j] -= A[i][k] * A[k][j];
            A[i][j] /= A[j][j];
        }
        for (int j = i; j < n; j++)
            for (int k = 0; k < i; k++)
                A[i][j] -= A[i][k] * A[k][j];
    }
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);

    hwprof_spd_matrix(N, &A[0][0]);
    bench_start();
    kernel_lu(N, A);
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
