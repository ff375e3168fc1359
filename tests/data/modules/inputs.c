/* What a module was given, printed as one checksum line: argv[1..], $HWPROF_TEST, stdin's size and byte sum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((export_name("mix")))
int64_t mix(int32_t a, int64_t b, double c) { return (int64_t)a * 1000 + b + (int64_t)(c * 10); }

__attribute__((export_name("halve")))
double halve(double x) { return x / 2; }

int main(int argc, char **argv) {
    printf("checksum: ");
    for (int i = 1; i < argc; i++) printf("%s|", argv[i]);
    const char *v = getenv("HWPROF_TEST");
    unsigned long n = 0, sum = 0;
    int ch;
    while ((ch = getchar()) != EOF) { n++; sum += (unsigned char)ch; }
    printf("%s|%lu|%lu\n", v ? v : "(unset)", n, sum);
    return 0;
}
