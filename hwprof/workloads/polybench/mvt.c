/* PolyBench/C 4.2.1 mvt: x1 := x1 + A y_1 and x2 := x2 + A^T y_2. Written for hwprof. */
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

static void init(int n, double *x1, double *x2, double *y_1, double *y_2, double *A)
{
    for (int i = 0; i < n; i++) {
        x1[i] = (double)(i % n) / n;
        x2[i] = (double)((i + 1) % n) / n;
        y_1[i] = (double)((i + 3) % n) / n;
        y_2[i] = (double)((i + 4) % n) / n;
        for (int j = 0; j < n; j++)
            A[i * n + j] = (double)(i * j % n) / n;
    }
}

static void kernel_mvt(int n, double *x1, double *x2, const double *y_1, const double *y_2, const double *A)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            x1[i] = x1[i] + A[i * n + j] * y_1[j];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            x2[i] = x2[i] + A[j * n + i] * y_2[j];
}

int main(int argc, char **argv)
{
    double *A = POLYBENCH_ALLOC(double, N * N);
    double *x1 = POLYBENCH_ALLOC(double, N);
    double *x2 = POLYBENCH_ALLOC(double, N);
    double *y_1 = POLYBENCH_ALLOC(double, N);
    double *y_2 = POLYBENCH_ALLOC(double, N);

    init(N, x1, x2, y_1, y_2, A);
    bench_start();
    kernel_mvt(N, x1, x2, y_1, y_2, A);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(hwprof_sum_double(0.0, x1, N), x2, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("x1", x1, N);
        hwprof_dump_double("x2", x2, N);
        hwprof_dump_end();
    }
    free(A); free(x1); free(x2); free(y_1); free(y_2);
    return 0;
}
