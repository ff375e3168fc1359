/* PolyBench/C 4.2.1 atax: y := A^T (A x). Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define M 38
#define N 42
#elif defined(SMALL_DATASET)
#define M 116
#define N 124
#elif defined(MEDIUM_DATASET)
#define M 390
#define N 410
#elif defined(LARGE_DATASET)
#define M 1900
#define N 2100
#else
#define M 1800
#define N 2200
#endif

static void init(int m, int n, double *A, double *x)
{
    double fn = (double)n;
    for (int i = 0; i < n; i++)
        x[i] = 1 + (i / fn);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            A[i * n + j] = (double)((i + j) % n) / (5 * m);
}

static void kernel_atax(int m, int n, const double *A, const double *x, double *y, double *tmp)
{
    for (int i = 0; i < n; i++)
        y[i] = 0;
    for (int i = 0; i < m; i++) {
        tmp[i] = 0.0;
        for (int j = 0; j < n; j++)
            tmp[i] = tmp[i] + A[i * n + j] * x[j];
        for (int j = 0; j < n; j++)
            y[j] = y[j] + A[i * n + j] * tmp[i];
    }
}

int main(int argc, char **argv)
{
    double *A = POLYBENCH_ALLOC(double, M * N);
    double *x = POLYBENCH_ALLOC(double, N);
    double *y = POLYBENCH_ALLOC(double, N);
    double *tmp = POLYBENCH_ALLOC(double, M);

    init(M, N, A, x);
    bench_start();
    kernel_atax(M, N, A, x, y, tmp);
    bench_end();

    hwprof_checksum(y, N);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_array("y", y, N);
        hwprof_dump_end();
    }
    free(A); free(x); free(y); free(tmp);
    return 0;
}
