/* PolyBench/C 4.2.1 correlation: the M x M Pearson correlation matrix of N samples of M variables. Written for hwprof. */
#include <math.h>

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
            data[i * m + j] = (double)(i * j) / m + i;
}

static void kernel_correlation(int m, int n, double float_n, double *data, double *corr,
                               double *mean, double *stddev)
{
    double eps = 0.1;

    for (int j = 0; j < m; j++) {
        mean[j] = 0.0;
        for (int i = 0; i < n; i++)
            mean[j] += data[i * m + j];
        mean[j] /= float_n;
    }
    for (int j = 0; j < m; j++) {
        stddev[j] = 0.0;
        for (int i = 0; i < n; i++)
            stddev[j] += (data[i * m + j] - mean[j]) * (data[i * m + j] - mean[j]);
        stddev[j] /= float_n;
        stddev[j] = sqrt(stddev[j]);
        /* A near-zero standard deviation would divide by zero below: PolyBench makes it 1. */
        stddev[j] = stddev[j] <= eps ? 1.0 : stddev[j];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            data[i * m + j] -= mean[j];
            data[i * m + j] /= sqrt(float_n) * stddev[j];
        }
    for (int i = 0; i < m - 1; i++) {
        corr[i * m + i] = 1.0;
        for (int j = i + 1; j < m; j++) {
            corr[i * m + j] = 0.0;
            for (int k = 0; k < n; k++)
                corr[i * m + j] += data[k * m + i] * data[k * m + j];
            corr[j * m + i] = corr[i * m + j];
        }
    }
    corr[(m - 1) * m + (m - 1)] = 1.0;
}

int main(int argc, char **argv)
{
    double float_n;
    double *data = POLYBENCH_ALLOC(double, N * M);
    double *corr = POLYBENCH_ALLOC(double, M * M);
    double *mean = POLYBENCH_ALLOC(double, M);
    double *stddev = POLYBENCH_ALLOC(double, M);

    init(M, N, &float_n, data);
    bench_start();
    kernel_correlation(M, N, float_n, data, corr, mean, stddev);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, corr, (long)M * M));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("corr", corr, (long)M * M);
        hwprof_dump_end();
    }
    free(data); free(corr); free(mean); free(stddev);
    return 0;
}
