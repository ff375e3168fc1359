/* PolyBench/C 4.2.1 ludcmp: LU decomposition without pivoting, then forward and back substitution solving A*x = b.
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

/* b, x, y, then PolyBench's positive-definite A (as for cholesky): unit lower-triangular L0, A = L0 * L0^T. */
static void init(int n, double A[N][N], double *b, double *x, double *y)
{
    double fn = (double)n;
    for (int i = 0; i < n; i++) {
        x[i] = 0;
        y[i] = 0;
        b[i] = (i + 1) / fn / 2.0 + 4;
    }
    hwprof_spd_matrix(n, &A[0][0]);
}

static void kernel_ludcmp(int n, double A[N][N], const double *b, double *x, double *y)
{
    double w;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            w = A[i][j];
            for (int k = 0; k < j; k++)
                w -= A[i][k] * A[k][j];
            A[i][j] = w / A[j][j];
        }
        for (int j = i; j < n; j++) {
            w = A[i][j];
            for (int k = 0; k < i; k++)
                w -= A[i][k] * A[k][j];
            A[i][j] = w;
        }
    }
    for (int i = 0; i < n; i++) {
        w = b[i];
        for (int j = 0; j < i; j++)
            w -= A[i][j] * y[j];
        y[i] = w;
    }
    for (int i = n - 1; i >= 0; i--) {
        w = y[i];
        for (int j = i + 1; j < n; j++)
            w -= A[i][j] * x[j];
        x[i] = w / A[i][i];
    }
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double *b = POLYBENCH_ALLOC(double, N);
    double *x = POLYBENCH_ALLOC(double, N);
    double *y = POLYBENCH_ALLOC(double, N);

    init(N, A, b, x, y);
    bench_start();
    kernel_ludcmp(N, A, b, x, y);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, x, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("x", x, N);
        hwprof_dump_end();
    }
    free(A); free(b); free(x); free(y);
    return 0;
}
