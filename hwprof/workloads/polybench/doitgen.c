/* PolyBench/C 4.2.1 doitgen: multiresolution analysis kernel, A[r][q][:] := A[r][q][:] * C4. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define NQ 8
#define NR 10
#define NP 12
#elif defined(SMALL_DATASET)
#define NQ 20
#define NR 25
#define NP 30
#elif defined(MEDIUM_DATASET)
#define NQ 40
#define NR 50
#define NP 60
#elif defined(LARGE_DATASET)
#define NQ 140
#define NR 150
#define NP 160
#else
#define NQ 220
#define NR 250
#define NP 270
#endif

/* A is NR x NQ x NP, stored row-major: A[r][q][p] is A[(r * nq + q) * np + p]. */
static void init(int nr, int nq, int np, double *A, double *C4)
{
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nq; j++)
            for (int k = 0; k < np; k++)
                A[(i * nq + j) * np + k] = (double)((i * j + k) % np) / np;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < np; j++)
            C4[i * np + j] = (double)(i * j % np) / np;
}

static void kernel_doitgen(int nr, int nq, int np, double *A, const double *C4, double *sum)
{
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nq; q++) {
            double *row = &A[(r * nq + q) * np];
            for (int p = 0; p < np; p++) {
                sum[p] = 0.0;
                for (int s = 0; s < np; s++)
                    sum[p] += row[s] * C4[s * np + p];
            }
            for (int p = 0; p < np; p++)
                row[p] = sum[p];
        }
}

int main(int argc, char **argv)
{
    double *A = POLYBENCH_ALLOC(double, NR * NQ * NP);
    double *sum = POLYBENCH_ALLOC(double, NP);
    double *C4 = POLYBENCH_ALLOC(double, NP * NP);

    init(NR, NQ, NP, A, C4);
    bench_start();
    kernel_doitgen(NR, NQ, NP, A, C4, sum);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, A, (long)NR * NQ * NP));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("A", A, (long)NR * NQ * NP);
        hwprof_dump_end();
    }
    free(A); free(sum); free(C4);
    return 0;
}
