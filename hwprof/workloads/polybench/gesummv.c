/* PolyBench/C 4.2.1 gesummv: y := alpha A x + beta B x. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define N 30
#elif defined(SMALL_DATASET)
#define N 90
#elif defined(MEDIUM_DATASET)
#define N 250
#elif defined(LARGE_DATASET)
#define N 1300
#else
#define N 2800
#endif

static void init(int n, double *alpha, double *beta, double *A, double *B, double *x)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < n; i++) {
        x[i] = (double)(i % n) / n;
        for (int j = 0; j < n; j++) {
            A[i * n + j] = (double)((i * j + 1) % n) / n;
            B[i * n + j] = (double)((i * j + 2) % n) / n;
        }
    }
}

static void kernel_gesummv(int n, double alpha, double beta, const double *A, const double *B, double *tmp,
                           const double *x, double *y)
{
    for (int i = 0; i < n; i++) {
        tmp[i] = 0.0;
        y[i] = 0.0;
        for (int j = 0; j < n; j++) {
            tmp[i] = A[i * n + j] * x[j] + tmp[i];
            y[i] = B[i * n + j] * x[j] + y[i];
        }
        y[i] = alpha * tmp[i] + beta * y[i];
    }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *A = POLYBENCH_ALLOC(double, N * N);
    double *B = POLYBENCH_ALLOC(double, N * N);
    double *tmp = POLYBENCH_ALLOC(double, N);
    double *x = POLYBENCH_ALLOC(double, N);
    double *y = POLYBENCH_ALLOC(double, N);

    init(N, &alpha, &beta, A, B, x);
    bench_start();
    kernel_gesummv(N, alpha, beta, A, B, tmp, x, y);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, y, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("y", y, N);
        hwprof_dump_end();
    }
    free(A); free(B); free(tmp); free(x); free(y);
    return 0;
}
