/* PolyBench/C 4.2.1 covariance: the M x M sample covariance matrix of N samples of M variables. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define M 28
#define N 32
#elif defined(SMALL_DATASET)
#define M 80
#define N 100
#elif defined(MEDIUM_DATASET)
#define M 240
#define N 260
#elif defined(LARGE_DATASET)
#define M 1200
#define N 1400
#else
#define M 2600
#define N 3000
#endif

static void init(int m, int n, double *float_n, double *data)
{
    *float_n = (double)n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            data[i * m + j] = ((double)i * j) / m;
}

static void kernel_covariance(int m, int n, double float_n, double *data, double *cov, double *mean)
{
    for (int j = 0; j < m; j++) {
        mean[j] = 0.0;
        for (int i = 0; i < n; i++)
            mean[j] += data[i * m + j];
        mean[j] /= float_n;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            data[i * m + j] -= mean[j];
    for (int i = 0; i < m; i++)
        for (int j = i; j < m; j++) {
            cov[i * m + j] = 0.0;
            for (int k = 0; k < n; k++)
                cov[i * m + j] += data[k * m + i] * data[k * m + j];
            cov[i * m + j] /= (float_n - 1.0);
            cov[j * m + i] = cov[i * m + j];
        }
}

int main(int argc, char **argv)
{
    double float_n;
    double *data = POLYBENCH_ALLOC(double, N * M);
    double *cov = POLYBENCH_ALLOC(double, M * M);
    double *mean = POLYBENCH_ALLOC(double, M);

    init(M, N, &float_n, data);
    bench_start();
    kernel_covariance(M, N, float_n, data, cov, mean);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, cov, (long)M * M));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("cov", cov, (long)M * M);
        hwprof_dump_end();
    }
    free(data); free(cov); free(mean);
    return 0;
}
