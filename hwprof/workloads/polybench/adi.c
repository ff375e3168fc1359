/* PolyBench/C 4.2.1 adi: alternating direction implicit 2-D heat solver (column, then row tridiagonal sweeps).
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TSTEPS 20
#define N 20
#elif defined(SMALL_DATASET)
#define TSTEPS 40
#define N 60
#elif defined(MEDIUM_DATASET)
#define TSTEPS 100
#define N 200
#elif defined(LARGE_DATASET)
#define TSTEPS 500
#define N 1000
#else
#define TSTEPS 1000
#define N 2000
#endif

static void init(int n, double u[N][N])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            u[i][j] = (double)(i + n - j) / n;
}

static void kernel_adi(int tsteps, int n, double u[N][N], double v[N][N], double p[N][N], double q[N][N])
{
    double DX = 1.0 / (double)n;
    double DY = 1.0 / (double)n;
    double DT = 1.0 / (double)tsteps;
    double B1 = 2.0;
    double B2 = 1.0;
    double mul1 = B1 * DT / (DX * DX);
    double mul2 = B2 * DT / (DY * DY);
    double a = -mul1 / 2.0;
    double b = 1.0 + mul1;
    double c = a;
    double d = -mul2 / 2.0;
    double e = 1.0 + mul2;
    double f = d;

    for (int t = 1; t <= tsteps; t++) {
        /* column sweep */
        for (int i = 1; i < n - 1; i++) {
            v[0][i] = 1.0;
            p[i][0] = 0.0;
            q[i][0] = v[0][i];
            for (int j = 1; j < n - 1; j++) {
                p[i][j] = -c / (a * p[i][j - 1] + b);
                q[i][j] = (-d * u[j][i - 1] + (1.0 + 2.0 * d) * u[j][i] - f * u[j][i + 1] - a * q[i][j - 1])
                          / (a * p[i][j - 1] + b);
            }
            v[n - 1][i] = 1.0;
            for (int j = n - 2; j >= 1; j--)
                v[j][i] = p[i][j] * v[j + 1][i] + q[i][j];
        }
        /* row sweep */
        for (int i = 1; i < n - 1; i++) {
            u[i][0] = 1.0;
            p[i][0] = 0.0;
            q[i][0] = u[i][0];
            for (int j = 1; j < n - 1; j++) {
                p[i][j] = -f / (d * p[i][j - 1] + e);
                q[i][j] = (-a * v[i - 1][j] + (1.0 + 2.0 * a) * v[i][j] - c * v[i + 1][j] - d * q[i][j - 1])
                          / (d * p[i][j - 1] + e);
            }
            u[i][n - 1] = 1.0;
            for (int j = n - 2; j >= 1; j--)
                u[i][j] = p[i][j] * u[i][j + 1] + q[i][j];
        }
    }
}

int main(int argc, char **argv)
{
    double (*u)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double (*v)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double (*p)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);
    double (*q)[N] = (double (*)[N])POLYBENCH_ALLOC(double, (long)N * N);

    init(N, u);
    bench_start();
    kernel_adi(TSTEPS, N, u, v, p, q);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, &u[0][0], (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("u", &u[0][0], (long)N * N);
        hwprof_dump_end();
    }
    free(u); free(v); free(p); free(q);
    return 0;
}
