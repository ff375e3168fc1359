/* Test module for the sandbox rule. `jail read PATH` prints how many bytes PATH holds or why it cannot be
 * opened; `jail link TARGET PATH` makes a symbolic link and prints whether that was allowed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "read")) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) {
            printf("checksum: denied %s\n", strerror(errno));
            return 0;
        }
        long n = 0;
        while (fgetc(f) != EOF)
            n++;
        fclose(f);
        printf("checksum: read %ld\n", n);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "link")) {
        int rc = symlink(argv[2], argv[3]);
        printf("checksum: link %s\n", rc == 0 ? "made" : strerror(errno));
        return 0;
    }
    return 2;
}
