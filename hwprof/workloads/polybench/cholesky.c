/* PolyBench/C 4.2.1 cholesky: A = L*L^T in place (L in the lower triangle), A symmetric positive definite.
 * Written for hwprof. */
#include <math.h>

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

static void kernel_cholesky(int n, double A[N][N])
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            for (int k = 0; k < j; k++)
                A[i][j] -= A[i][k] * A[j][k];
            A[i][j] /= A[j][j];
        }
        for (int k = 0; k < i; k++)
            A[i][i] -= A[i][k] * A[i][k];
        A[i][i] = sqrt(A[i][i]);
    }
}

/* The live-out data is the lower triangle (j <= i), row by row, as PolyBench prints it. */
static void dump_lower(int n, double A[N][N])
{
    fprintf(stderr, "begin dump: %s", "A");
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            if ((i * n + j) % 20 == 0)
                fprintf(stderr, "\n");
            fprintf(stderr, "%0.2lf ", A[i][j]);
        }
    fprintf(stderr, "\nend   dump: %s\n", "A");
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);

    hwprof_spd_matrix(N, &A[0][0]);
    bench_start();
    kernel_cholesky(N, A);
    bench_end();

    double sum = 0.0;
    for (int i = 0; i < N; i++)
        sum = hwprof_sum_double(sum, A[i], i + 1);
    hwprof_print_checksum_double(sum);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        dump_lower(N, A);
        hwprof_dump_end();
    }
    free(A);
    return 0;
}
