/* PolyBench/C 4.2.1 floyd-warshall: all-pairs shortest path lengths in a dense weighted graph, in integers.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define N 60
#elif defined(SMALL_DATASET)
#define N 180
#elif defined(MEDIUM_DATASET)
#define N 500
#elif defined(LARGE_DATASET)
#define N 2800
#else
#define N 5600
#endif

/* Edge weights 1..7, and 999 (no edge) where i+j is a multiple of 13, 7 or 11. */
static void init(int n, int path[N][N])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            path[i][j] = i * j % 7 + 1;
            if ((i + j) % 13 == 0 || (i + j) % 7 == 0 || (i + j) % 11 == 0)
                path[i][j] = 999;
        }
}

static void kernel_floyd_warshall(int n, int path[N][N])
{
    for (int k = 0; k < n; k++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                path[i][j] = path[i][j] < path[i][k] + path[k][j] ? path[i][j] : path[i][k] + path[k][j];
}

int main(int argc, char **argv)
{
    int (*path)[N] = (int (*)[N])POLYBENCH_ALLOC(int, (long)N * N);

    init(N, path);
    bench_start();
    kernel_floyd_warshall(N, path);
    bench_end();

    hwprof_print_checksum_int(hwprof_sum_int(0, &path[0][0], (long)N * N));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_int("path", &path[0][0], (long)N * N);
        hwprof_dump_end();
    }
    free(path);
    return 0;
}
