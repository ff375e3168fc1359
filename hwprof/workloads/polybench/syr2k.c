/* PolyBench/C 4.2.1 syr2k: C := alpha A B^T + alpha B A^T + beta C on C's lower triangle. Written for hwprof. */
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

static void init(int n, int m, double *alpha, double *beta, double *C, double *A, double *B)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            A[i * m + j] = (double)((i * j + 1) % n) / n;
            B[i * m + j] = (double)((i * j + 2) % m) / m;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            C[i * n + j] = (double)((i * j + 3) % n) / m;
}

/* BLAS UPLO = 'L', TRANS = 'N'. */
static void kernel_syr2k(int n, int m, double alpha, double beta, double *C, const double *A, const double *B)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            C[i * n + j] *= beta;
        for (int k = 0; k < m; k++)
            for (int j = 0; j <= i; j++)
                C[i * n + j] += A[j * m + k] * alpha * B[i * m + k] + B[j * m + k] * alpha * A[i * m + k];
    }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *C = POLYBENCH_ALLOC(double, N * N);
    double *A = POLYBENCH_ALLOC(double, N * M);
    double *B = POLYBENCH_ALLOC(double, N * M);

    init(N, M, &alpha, &beta, C, A, B);
    bench_start();
    kernel_syr2k(N, M, alpha, beta, C, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, C, (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("C", C, (long)N * N);
        hwprof_dump_end();
    }
    free(C); free(A); free(B);
    return 0;
}
