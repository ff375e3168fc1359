/* PolyBench/C 4.2.1 gemm: C := alpha*A*B + beta*C. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define NI 20
#define NJ 25
#define NK 30
#elif defined(SMALL_DATASET)
#define NI 60
#define NJ 70
#define NK 80
#elif defined(MEDIUM_DATASET)
#define NI 200
#define NJ 220
#define NK 240
#elif defined(LARGE_DATASET)
#define NI 1000
#define NJ 1100
#define NK 1200
#else
#define NI 2000
#define NJ 2300
#define NK 2600
#endif

static void init(int ni, int nj, int nk, double *alpha, double *beta, double *C, double *A, double *B)
{
    *alpha = 1.5;
    *beta = 1.2;
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++)
            C[i * nj + j] = (double)((i * j + 1) % ni) / ni;
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nk; j++)
            A[i * nk + j] = (double)(i * (j + 1) % nk) / nk;
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < nj; j++)
            B[i * nj + j] = (double)(i * (j + 2) % nj) / nj;
}

static void kernel_gemm(int ni, int nj, int nk, double alpha, double beta, double *C, const double *A, const double *B)
{
    for (int i = 0; i < ni; i++) {
        for (int j = 0; j < nj; j++)
            C[i * nj + j] *= beta;
        for (int k = 0; k < nk; k++)
            for (int j = 0; j < nj; j++)
                C[i * nj + j] += alpha * A[i * nk + k] * B[k * nj + j];
    }
}

int main(int argc, char **argv)
{
    double alpha, beta;
    double *C = POLYBENCH_ALLOC(double, NI * NJ);
    double *A = POLYBENCH_ALLOC(double, NI * NK);
    double *B = POLYBENCH_ALLOC(double, NK * NJ);

    init(NI, NJ, NK, &alpha, &beta, C, A, B);
    bench_start();
    kernel_gemm(NI, NJ, NK, alpha, beta, C, A, B);
    bench_end();

    hwprof_checksum(C, (long)NI * NJ);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_array("C", C, (long)NI * NJ);
        hwprof_dump_end();
    }
    free(C); free(A); free(B);
    return 0;
}
