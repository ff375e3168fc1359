/* A module importing a function no WASI host defines; it calls it only when given the argument "call". */
#include <stdio.h>
#include <string.h>

__attribute__((import_module("env"), import_name("missing"))) void missing(void);

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "call") == 0)
        missing();
    printf("checksum: %d\n", argc);
    return 0;
}
