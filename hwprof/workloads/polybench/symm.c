/* PolyBench/C 4.2.1 symm: C := alpha A B + beta C with A symmetric, its lower triangle stored. Written for hwprof. */
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

static void init(int m, int n, double *alpha, double *beta, double *C, double *A, double *B)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            C[i * n + j] = (double)((i + j) % 100) / m;
            B[i * n + j] = (double)((n + i - j) % 100) / m;
        }
    for (int i = 0; i < m; i++) {
        for (int j = 0; j <= i; j++)
            A[i * m + j] = (double)((i + j) % 100) / m;
        for (int j = i + 1; j < m; j++)
            A[i * m + j] = -999; /* the upper triangle is never read */
    }
}

/* BLAS SIDE = 'L', UPLO = 'L', with C's row-major layout. */
static void kernel_symm(int m, int n, double alpha, double beta, double *C, const double *A, const double *B)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double temp2 = 0;
            for (int k = 0; k < i; k++) {
                C[k * n + j] += alpha * B[i * n + j] * A[i * m + k];
                temp2 += B[k * n + j] * A[i * m + k];
            }
            C[i * n + j] = beta * C[i * n + j] + alpha * B[i * n + j] * A[i * m + i] + alpha * temp2;
        }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *C = POLYBENCH_ALLOC(double, M * N);
    double *A = POLYBENCH_ALLOC(double, M * M);
    double *B = POLYBENCH_ALLOC(double, M * N);

    init(M, N, &alpha, &beta, C, A, B);
    bench_start();
    kernel_symm(M, N, alpha, beta, C, A, B);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, C, (long)M * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("C", C, (long)M * N);
        hwprof_dump_end();
    }
    free(C); free(A); free(B);
    return 0;
}
