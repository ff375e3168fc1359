/* PolyBench/C 4.2.1 gemver: A := A + u1 v1^T + u2 v2^T, x := beta A^T y + z, w := alpha A x. Written for hwprof. */
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

static void init(int n, double *alpha, double *beta, double *A, double *u1, double *v1, double *u2, double *v2,
                 double *w, double *x, double *y, double *z)
{
    *alpha = 1.5;
    *beta = 1.2;
    double fn = (double)n;
    for (int i = 0; i < n; i++) {
        u1[i] = i;
        u2[i] = ((i + 1) / fn) / 2.0;
        v1[i] = ((i + 1) / fn) / 4.0;
        v2[i] = ((i + 1) / fn) / 6.0;
        y[i] = ((i + 1) / fn) / 8.0;
        z[i] = ((i + 1) / fn) / 9.0;
        x[i] = 0.0;
        w[i] = 0.0;
        for (int j = 0; j < n; j++)
            A[i * n + j] = (double)(i * j % n) / n;
    }
}

static void kernel_gemver(int n, double alpha, double beta, double *A, const double *u1, const double *v1,
                          const double *u2, const double *v2, double *w, double *x, const double *y,
                          const double *z)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            A[i * n + j] = A[i * n + j] + u1[i] * v1[j] + u2[i] * v2[j];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            x[i] = x[i] + beta * A[j * n + i] * y[j];
    for (int i = 0; i < n; i++)
        x[i] = x[i] + z[i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            w[i] = w[i] + alpha * A[i * n + j] * x[j];
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *A = POLYBENCH_ALLOC(double, N * N);
    double *u1 = POLYBENCH_ALLOC(double, N);
    double *v1 = POLYBENCH_ALLOC(double, N);
    double *u2 = POLYBENCH_ALLOC(double, N);
    double *v2 = POLYBENCH_ALLOC(double, N);
    double *w = POLYBENCH_ALLOC(double, N);
    double *x = POLYBENCH_ALLOC(double, N);
    double *y = POLYBENCH_ALLOC(double, N);
    double *z = POLYBENCH_ALLOC(double, N);

    init(N, &alpha, &beta, A, u1, v1, u2, v2, w, x, y, z);
    bench_start();
    kernel_gemver(N, alpha, beta, A, u1, v1, u2, v2, w, x, y, z);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, w, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("w", w, N);
        hwprof_dump_end();
    }
    free(A); free(u1); free(v1); free(u2); free(v2); free(w); free(x); free(y); free(z);
    return 0;
}
