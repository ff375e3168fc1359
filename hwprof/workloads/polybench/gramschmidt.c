/* PolyBench/C 4.2.1 gramschmidt: QR decomposition of A (M x N) by modified Gram-Schmidt, A = Q*R.
 * Written for hwprof. */
#include <math.h>

#include "polybench.h"

#if defined(MINI_DATASET)
#define M 20
#define N 30
#elif defined(SMALL_DATASET)
#define M 60
#define N 80
#elif defined(MEDIUM_DATASET)
#define M 200
#define N 240
#elif defined(LARGE_DATASET)
#define M 1000
#define N 1200
#else
#define M 2000
#define N 2600
#endif

static void init(int m, int n, double A[M][N], double R[N][N], double Q[M][N])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = (((double)((i * j) % m) / m) * 100) + 10;
            Q[i][j] = 0.0;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            R[i][j] = 0.0;
}

static void kernel_gramschmidt(int m, int n, double A[M][N], double R[N][N], double Q[M][N])
{
    for (int k = 0; k < n; k++) {
        double nrm = 0.0;
        for (int i = 0; i < m; i++)
            nrm += A[i][k] * A[i][k];
        R[k][k] = sqrt(nrm);
        for (int i = 0; i < m; i++)
            Q[i][k] = A[i][k] / R[k][k];
        for (int j = k + 1; j < n; j++) {
            R[k][j] = 0.0;
            for (int i = 0; i < m; i++)
                R[k][j] += Q[i][k] * A[i][j];
            for (int i = 0; i < m; i++)
                A[i][j] = A[i][j] - Q[i][k] * R[k][j];
        }
    }
}

int main(int argc, char **argv)
{
    double (*A)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)M * N);
    double (*R)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double (*Q)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)M * N);

    init(M, N, A, R, Q);
    bench_start();
    kernel_gramschmidt(M, N, A, R, Q);
    bench_end();

    double sum = hwprof_sum_double(0.0, &R[0][0], (long)N * N);
    hwprof_print_checksum_double(hwprof_sum_double(sum, &Q[0][0], (long)M * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("R", &R[0][0], (long)N * N);
        hwprof_dump_double("Q", &Q[0][0], (long)M * N);
        hwprof_dump_end();
    }
    free(A); free(R); free(Q);
    return 0;
}
