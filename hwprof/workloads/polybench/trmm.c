/* PolyBench/C 4.2.1 trmm: B := alpha A^T B with A unit lower triangular. Written for hwprof. */
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

/* A's upper triangle is never set nor read. */
static void init(int m, int n, double *alpha, double *A, double *B)
{
    *alpha = 1.5;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < i; j++)
            A[i * m + j] = (double)((i + j) % m) / m;
        A[i * m + i] = 1.0;
        for (int j = 0; j < n; j++)
            B[i * n + j] = (double)((n + (i - j)) % n) / n;
    }
}

/* BLAS SIDE = 'L', UPLO = 'L', TRANSA = 'T', DIAG = 'U'. */
static void kernel_trmm(int m, int n, double alpha, const double *A, double *B)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            for (int k = i + 1; k < m; k++)
                B[i * n + j] += A[k * m + i] * B[k * n + j];
            B[i * n + j] = alpha * B[i * n + j];
        }
}

int main(int argc, char **argv)
{
    double alpha;
    double *A = POLYBENCH_ALLOC(double, M * M);
    double *B = POLYBENCH_ALLOC(double, M * N);

    init(M, N, &alpha, A, B);
    bench_start();
    kernel_trmm(M, N, alpha, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, B, (long)M * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("B", B, (long)M * N);
        hwprof_dump_end();
    }
    free(A); free(B);
    return 0;
}
