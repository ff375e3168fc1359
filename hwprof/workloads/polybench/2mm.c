/* PolyBench/C 4.2.1 2mm: D := alpha*A*B*C + beta*D, via tmp := alpha*A*B. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define NI 16
#define NJ 18
#define NK 22
#define NL 24
#elif defined(SMALL_DATASET)
#define NI 40
#define NJ 50
#define NK 70
#define NL 80
#elif defined(MEDIUM_DATASET)
#define NI 180
#define NJ 190
#define NK 210
#define NL 220
#elif defined(LARGE_DATASET)
#define NI 800
#define NJ 900
#define NK 1100
#define NL 1200
#else
#define NI 1600
#define NJ 1800
#define NK 2200
#define NL 2400
#endif

static void init(int ni, int nj, int nk, int nl, double *alpha, double *beta,
                 double *A, double *B, double *C, double *D)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nk; j++)
            A[i * nk + j] = (double)((i * j + 1) % ni) / ni;
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < nj; j++)
            B[i * nj + j] = (double)(i * (j + 1) % nj) / nj;
    for (int i = 0; i < nj; i++)
        for (int j = 0; j < nl; j++)
            C[i * nl + j] = (double)((i * (j + 3) + 1) % nl) / nl;
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nl; j++)
            D[i * nl + j] = (double)(i * (j + 2) % nk) / nk;
}

static void kernel_2mm(int ni, int nj, int nk, int nl, double alpha, double beta,
                       double *tmp, const double *A, const double *B, const double *C, double *D)
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            tmp[i * nj + j] = 0.0;
            for (int k = 0; k < nk; ++k)
                tmp[i * nj + j] += alpha * A[i * nk + k] * B[k * nj + j];
        }
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nl; j++) {
            D[i * nl + j] *= beta;
            for (int k = 0; k < nj; ++k)
                D[i * nl + j] += tmp[i * nj + k] * C[k * nl + j];
        }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *tmp = POLYBENCH_ALLOC(double, NI * NJ);
    double *A = POLYBENCH_ALLOC(double, NI * NK);
    double *B = POLYBENCH_ALLOC(double, NK * NJ);
    double *C = POLYBENCH_ALLOC(double, NJ * NL);
    double *D = POLYBENCH_ALLOC(double, NI * NL);

    init(NI, NJ, NK, NL, &alpha, &beta, A, B, C, D);
    bench_start();
    kernel_2mm(NI, NJ, NK, NL, alpha, beta, tmp, A, B, C, D);
    bench_end();

    hwprof_checksum(D, (long)NI * NL);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_array("D", D, (long)NI * NL);
        hwprof_dump_end();
    }
    free(tmp); free(A); free(B); free(C); free(D);
    return 0;
}
