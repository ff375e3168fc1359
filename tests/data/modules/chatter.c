/* Test module: writes argv[1] MiB of text to stdout (and argv[2] MiB to stderr), then its checksum line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    long out = argc > 1 ? atol(argv[1]) * 1024 : 0, err = argc > 2 ? atol(argv[2]) * 1024 : 0;
    for (long i = 0; i < out; i++)
        fwrite(line, 1, sizeof line, stdout);
    for (long i = 0; i < err; i++)
        fwrite(line, 1, sizeof line, stderr);
    printf("checksum: %ld\n", out + err);
    return 0;
}
