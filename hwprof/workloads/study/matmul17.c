/*
 * The study's Fig. 6 program (its Listing 1): the product of two 17x17 int matrices held in variable-length
 * arrays, three nested loops, mul[c][d] += first[c][k] * second[k][d]. The listing's loops are kept as they are,
 * in a function of their own that is never inlined, so every compiler's code of exactly these loops can be read
 * (`hwprof codegen matmul17 --function matmul17`). Around it: inputs from a fixed formula, the multiply repeated
 * so the execute phase is long enough to time (REPEATS by size), and a checksum so nothing is optimised away.
 */
#include "../common/hwprof_bench.h"

#if defined(MINI_DATASET)
#define REPEATS 1
#elif defined(SMALL_DATASET)
#define REPEATS 1000
#elif defined(MEDIUM_DATASET)
#define REPEATS 20000
#else
#define REPEATS 200000
#endif

__attribute__((noinline)) static void matmul17(int m, int n, int p, int q, int first[m][n], int second[p][q],
                                                int mul[m][q])
{
    for (int c = 0; c < m; c++) {
        for (int d = 0; d < q; d++) {
            for (int k = 0; k < p; k++) {
                mul[c][d] += first[c][k] * second[k][d];
            }
        }
    }
}

int main(void)
{
    int m = 17, n = 17, p = 17, q = 17;
    int first[m][n], second[p][q], mul[m][q];
    for (int c = 0; c < m; c++)
        for (int d = 0; d < n; d++)
            first[c][d] = (c * 7 + d * 3) % 11 - 5;
    for (int c = 0; c < p; c++)
        for (int d = 0; d < q; d++)
            second[c][d] = (c * 5 + d * 2) % 13 - 6;
    memset(mul, 0, sizeof mul);

    bench_start();
    for (int r = 0; r < REPEATS; r++)
        matmul17(m, n, p, q, first, second, mul);
    bench_end();

    hwprof_checksum_int(&mul[0][0], (long)m * q);
    return 0;
}
