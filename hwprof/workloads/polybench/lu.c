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

/* PolyBench's positive-definite matrix (as for cholesky): a unit lower-triangular L0, then A = L0 * L0^T. */
static void init_spd(int n, double A[N][N])
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            A[i][j] = (double)(-j % n) / n + 1;
        for (int j = i + 1; j < n; j++)
            A[i][j] = 0;
        A[i][i] = 1;
    }
    double (*B)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    for (int r = 0; r < n; ++r)
        for (int s = 0; s < n; ++s)
            B[r][s] = 0;
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < n; ++r)
            for (int s = 0; s < n; ++s)
                B[r][s] += A[r][t] * A[s][t];
    for (int r = 0; r < n; ++r)
        for (int s = 0; s < n; ++s)
            A[r][s] = B[r][s];
    free(B);
}

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

    init_spd(N, A);
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
