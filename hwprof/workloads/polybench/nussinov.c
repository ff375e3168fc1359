/* PolyBench/C 4.2.1 nussinov: Nussinov's dynamic programme for the maximum number of base pairs in an RNA sequence.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define N 60
#elif defined(SMALL_DATASET)
#define N 180
#elif defined(MEDIUM_DATASET)
#define N 500
#elif defined(LARGE_DATASET)
#define N 2500
#else
#define N 5500
#endif

/* RNA bases as chars 0..3; a pair bonds when the two bases add up to 3. */
typedef char base;
#define match(b1, b2) (((b1) + (b2)) == 3 ? 1 : 0)
#define max_score(s1, s2) ((s1 >= s2) ? s1 : s2)

static void init(int n, base *seq, int table[N][N])
{
    for (int i = 0; i < n; i++)
        seq[i] = (base)((i + 1) % 4);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            table[i][j] = 0;
}

static void kernel_nussinov(int n, const base *seq, int table[N][N])
{
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++) {
            if (j - 1 >= 0)
                table[i][j] = max_score(table[i][j], table[i][j - 1]);
            if (i + 1 < n)
                table[i][j] = max_score(table[i][j], table[i + 1][j]);
            if (j - 1 >= 0 && i + 1 < n) {
                /* adjacent bases do not bond */
                if (i < j - 1)
                    table[i][j] = max_score(table[i][j], table[i + 1][j - 1] + match(seq[i], seq[j]));
                else
                    table[i][j] = max_score(table[i][j], table[i + 1][j - 1]);
            }
            for (int k = i + 1; k < j; k++)
                table[i][j] = max_score(table[i][j], table[i][k] + table[k + 1][j]);
        }
    }
}

/* The live-out data is the upper triangle (j >= i), row by row, a line break every 20 values printed. */
static void dump_upper(int n, int table[N][N])
{
    long t = 0;
    fprintf(stderr, "begin dump: %s", "table");
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            if (t % 20 == 0)
                fprintf(stderr, "\n");
            fprintf(stderr, "%d ", table[i][j]);
            t++;
        }
    fprintf(stderr, "\nend   dump: %s\n", "table");
}

int main(int argc, char **argv)
{
    base *seq = POLYBENCH_ALLOC(base, N);
    int (*table)[N] = (int (*)[N])POLYBENCH_ALLOC(int, (long)N * N);

    init(N, seq, table);
    bench_start();
    kernel_nussinov(N, seq, table);
    bench_end();

    long long sum = 0;
    for (int i = 0; i < N; i++)
        sum = hwprof_sum_int(sum, &table[i][i], N - i);
    hwprof_print_checksum_int(sum);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        dump_upper(N, table);
        hwprof_dump_end();
    }
    free(seq); free(table);
    return 0;
}
