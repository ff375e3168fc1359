/* PolyBench/C 4.2.1 syrk: C := alpha A A^T + beta C on C's lower triangle. Written for hwprof. */
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

static void init(int n, int m, double *alpha, double *beta, double *C, double *A)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i * m + j] = (double)((i * j + 1) % n) / n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            C[i * n + j] = (double)((i * j + 2) % m) / m;
}

/* BLAS UPLO = 'L', TRANS = 'N'. */
static void kernel_syrk(int n, int m, double alpha, double beta, double *C, const double *A)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            C[i * n + j] *= beta;
        for (int k = 0; k < m; k++)
            for (int j = 0; j <= i; j++)
                C[i * n + j] += alpha * A[i * m + k] * A[j * m + k];
    }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *C = POLYBENCH_ALLOC(double, N * N);
    double *A = POLYBENCH_ALLOC(double, N * M);

    init(N, M, &alpha, &beta, C, A);
    bench_start();
    kernel_syrk(N, M, alpha, beta, C, A);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, C, (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("C", C, (long)N * N);
        hwprof_dump_end();
    }
    free(C); free(A);
    return 0;
}
