/* PolyBench/C 4.2.1 3mm: G := (A*B)*(C*D), via E := A*B and F := C*D. Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define NI 16
#define NJ 18
#define NK 20
#define NL 22
#define NM 24
#elif defined(SMALL_DATASET)
#define NI 40
#define NJ 50
#define NK 60
#define NL 70
#define NM 80
#elif defined(MEDIUM_DATASET)
#define NI 180
#define NJ 190
#define NK 200
#define NL 210
#define NM 220
#elif defined(LARGE_DATASET)
#define NI 800
#define NJ 900
#define NK 1000
#define NL 1100
#define NM 1200
#else
#define NI 1600
#define NJ 1800
#define NK 2000
#define NL 2200
#define NM 2400
#endif

static void init(int ni, int nj, int nk, int nl, int nm, double *A, double *B, double *C, double *D)
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nk; j++)
            A[i * nk + j] = (double)((i * j + 1) % ni) / (5 * ni);
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < nj; j++)
            B[i * nj + j] = (double)((i * (j + 1) + 2) % nj) / (5 * nj);
    for (int i = 0; i < nj; i++)
        for (int j = 0; j < nm; j++)
            C[i * nm + j] = (double)(i * (j + 3) % nl) / (5 * nl);
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++)
            D[i * nl + j] = (double)((i * (j + 2) + 2) % nk) / (5 * nk);
}

static void kernel_3mm(int ni, int nj, int nk, int nl, int nm, double *E, const double *A, const double *B,
                       double *F, const double *C, const double *D, double *G)
{
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nj; j++) {
            E[i * nj + j] = 0.0;
            for (int k = 0; k < nk; ++k)
                E[i * nj + j] += A[i * nk + k] * B[k * nj + j];
        }
    for (int i = 0; i < nj; i++)
        for (int j = 0; j < nl; j++) {
            F[i * nl + j] = 0.0;
            for (int k = 0; k < nm; ++k)
                F[i * nl + j] += C[i * nm + k] * D[k * nl + j];
        }
    for (int i = 0; i < ni; i++)
        for (int j = 0; j < nl; j++) {
            G[i * nl + j] = 0.0;
            for (int k = 0; k < nj; ++k)
                G[i * nl + j] += E[i * nj + k] * F[k * nl + j];
        }
}

int main(int argc, char **argv)
{
    double *E = POLYBENCH_ALLOC(double, NI * NJ);
    double *A = POLYBENCH_ALLOC(double, NI * NK);
    double *B = POLYBENCH_ALLOC(double, NK * NJ);
    double *F = POLYBENCH_ALLOC(double, NJ * NL);
    double *C = POLYBENCH_ALLOC(double, NJ * NM);
    double *D = POLYBENCH_ALLOC(double, NM * NL);
    double *G = POLYBENCH_ALLOC(double, NI * NL);

    init(NI, NJ, NK, NL, NM, A, B, C, D);
    bench_start();
    kernel_3mm(NI, NJ, NK, NL, NM, E, A, B, F, C, D, G);
    bench_end();

    hwprof_print_checksum_double(hwprof_sum_double(0.0, G, (long)NI * NL));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("G", G, (long)NI * NL);
        hwprof_dump_end();
    }
    free(E); free(A); free(B); free(F); free(C); free(D); free(G);
    return 0;
}
