/* Test module: asks malloc for argv[1] MiB at once (in wasm: one memory.grow) and touches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 0;
    char *p = malloc(mib << 20);
    if (!p) {
        printf("checksum: refused\n");
        return 0;
    }
    memset(p, 1, mib << 20);
    unsigned long sum = 0;
    for (size_t i = 0; i < mib << 20; i += 4096)
        sum += ((volatile char *)p)[i];           /* read back, so the compiler keeps the allocation */
    printf("checksum: got %zu (%lu pages touched)\n", mib, sum);
    return 0;
}
