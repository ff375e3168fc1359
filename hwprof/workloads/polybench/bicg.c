/* PolyBench/C 4.2.1 bicg: the BiCG sub-kernel s := A^T r and q := A p in one sweep. Written for hwprof. */
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

static void init(int m, int n, double *A, double *r, double *p)
{
    for (int i = 0; i < m; i++)
        p[i] = (double)(i % m) / m;
    for (int i = 0; i < n; i++) {
        r[i] = (double)(i % n) / n;
        for (int j = 0; j < m; j++)
            A[i * m + j] = (double)(i * (j + 1) % n) / n;
    }
}

static void kernel_bicg(int m, int n, const double *A, double *s, double *q, const double *p, const double *r)
{
    for (int i = 0; i < m; i++)
        s[i] = 0;
    for (int i = 0; i < n; i++) {
        q[i] = 0.0;
        for (int j = 0; j < m; j++) {
            s[j] = s[j] + r[i] * A[i * m + j];
            q[i] = q[i] + A[i * m + j] * p[j];
        }
    }
}

int main(int argc, char **argv)
{
    double *A = POLYBENCH_ALLOC(double, N * M);
    double *s = POLYBENCH_ALLOC(double, M);
    double *q = POLYBENCH_ALLOC(double, N);
    double *p = POLYBENCH_ALLOC(double, M);
    double *r = POLYBENCH_ALLOC(double, N);

    init(M, N, A, r, p);
    bench_start();
    kernel_bicg(M, N, A, s, q, p, r);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(hwprof_sum_double(0.0, s, M), q, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("s", s, M);
        hwprof_dump_double("q", q, N);
        hwprof_dump_end();
    }
    free(A); free(s); free(q); free(p); free(r);
    return 0;
}
