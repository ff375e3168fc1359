/* Test module: reads /data/in.txt, which exists only when the harness is asked to give the module a folder. */
#include <stdio.h>

int main(void)
{
    FILE *f = fopen("/data/in.txt", "rb");
    if (!f) {
        printf("cannot open /data/in.txt\n");
        return 1;
    }
    long n = 0;
    while (fgetc(f) != EOF)
        n++;
    fclose(f);
    printf("checksum: %ld\n", n);
    return 0;
}
