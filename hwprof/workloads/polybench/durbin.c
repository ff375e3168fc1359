/* PolyBench/C 4.2.1 durbin: Levinson-Durbin recursion, solving the Yule-Walker equations for y given r.
 * Written for hwprof. */
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

static void init(int n, double *r)
{
    for (int i = 0; i < n; i++)
        r[i] = (n + 1 - i);
}

static void kernel_durbin(int n, const double *r, double *y)
{
    double z[N];
    double alpha, beta, sum;

    y[0] = -r[0];
    beta = 1.0;
    alpha = -r[0];
    for (int k = 1; k < n; k++) {
        beta = (1 - alpha * alpha) * beta;
        sum = 0.0;
        for (int i = 0; i < k; i++)
            sum += r[k - i - 1] * y[i];
        alpha = -(r[k] + sum) / beta;
        for (int i = 0; i < k; i++)
            z[i] = y[i] + alpha * y[k - i - 1];
        for (int i = 0; i < k; i++)
            y[i] = z[i];
        y[k] = alpha;
    }
}

int main(int argc, char **argv)
{
    double *r = POLYBENCH_ALLOC(double, N);
    double *y = POLYBENCH_ALLOC(double, N);

    init(N, r);
    bench_start();
    kernel_durbin(N, r, y);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, y, N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("y", y, N);
        hwprof_dump_end();
    }
    free(r); free(y);
    return 0;
}
