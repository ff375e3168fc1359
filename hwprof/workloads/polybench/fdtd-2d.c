/* PolyBench/C 4.2.1 fdtd-2d: 2-D finite-difference time-domain update of the ex, ey and hz fields.
 * Written for hwprof. */
#include "polybench.h"

#if defined(MINI_DATASET)
#define TMAX 20
#define NX 20
#define NY 30
#elif defined(SMALL_DATASET)
#define TMAX 40
#define NX 60
#define NY 80
#elif defined(MEDIUM_DATASET)
#define TMAX 100
#define NX 200
#define NY 240
#elif defined(LARGE_DATASET)
#define TMAX 500
#define NX 1000
#define NY 1200
#else
#define TMAX 1000
#define NX 2000
#define NY 2600
#endif

static void init(int tmax, int nx, int ny, double ex[NX][NY], double ey[NX][NY], double hz[NX][NY], double *fict)
{
    for (int i = 0; i < tmax; i++)
        fict[i] = (double)i;
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++) {
            ex[i][j] = ((double)i * (j + 1)) / nx;
            ey[i][j] = ((double)i * (j + 2)) / ny;
            hz[i][j] = ((double)i * (j + 3)) / nx;
        }
}

static void kernel_fdtd_2d(int tmax, int nx, int ny, double ex[NX][NY], double ey[NX][NY], double hz[NX][NY],
                           const double *fict)
{
    for (int t = 0; t < tmax; t++) {
        for (int j = 0; j < ny; j++)
            ey[0][j] = fict[t];
        for (int i = 1; i < nx; i++)
            for (int j = 0; j < ny; j++)
                ey[i][j] = ey[i][j] - 0.5 * (hz[i][j] - hz[i - 1][j]);
        for (int i = 0; i < nx; i++)
            for (int j = 1; j < ny; j++)
                ex[i][j] = ex[i][j] - 0.5 * (hz[i][j] - hz[i][j - 1]);
        for (int i = 0; i < nx - 1; i++)
            for (int j = 0; j < ny - 1; j++)
                hz[i][j] = hz[i][j] - 0.7 * (ex[i][j + 1] - ex[i][j] + ey[i + 1][j] - ey[i][j]);
    }
}

/* PolyBench's fdtd-2d breaks lines where (i*NX + j) % 20 == 0 (NX, not NY) and closes the dump right after
   ex, before ey and hz; both quirks are kept so that dumps compare byte for byte with PolyBench's. */
static void dump_field(const char *name, int nx, int ny, double a[NX][NY])
{
    fprintf(stderr, "begin dump: %s", name);
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++) {
            if ((i * nx + j) % 20 == 0)
                fprintf(stderr, "\n");
            fprintf(stderr, "%0.2lf ", a[i][j]);
        }
    fprintf(stderr, "\nend   dump: %s\n", name);
}

int main(int argc, char **argv)
{
    double (*ex)[NY] = (double (*)[NY])POLYBENCH_ALLOC(double, (long)NX * NY);
    double (*ey)[NY] = (double (*)[NY])POLYBENCH_ALLOC(double, (long)NX * NY);
    double (*hz)[NY] = (double (*)[NY])POLYBENCH_ALLOC(double, (long)NX * NY);
    double *fict = POLYBENCH_ALLOC(double, TMAX);

    init(TMAX, NX, NY, ex, ey, hz, fict);
    bench_start();
    kernel_fdtd_2d(TMAX, NX, NY, ex, ey, hz, fict);
    bench_end();

    double sum = hwprof_sum_double(0.0, &ex[0][0], (long)NX * NY);
    sum = hwprof_sum_double(sum, &ey[0][0], (long)NX * NY);
    hwprof_print_checksum_double(hwprof_sum_double(sum, &hz[0][0], (long)NX * NY));
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        dump_field("ex", NX, NY, ex);
        hwprof_dump_end();
        dump_field("ey", NX, NY, ey);
        dump_field("hz", NX, NY, hz);
    }
    free(ex); free(ey); free(hz); free(fict);
    return 0;
}
