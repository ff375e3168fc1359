/*
 * The entry point of a wasm2c module built for gem5: `workload.exe GUEST_ARGS...`, run like the native
 * build of the same workload, with no runtime process around it.
 *
 * It instantiates the module (wasm2c's glue.c, our WASI host in wasi_host.c with guest fds 0, 1, 2 =
 * the process's own), calls _start, and exits with the module's status. The module's bench.start /
 * bench.end imports call m5markers.c's bench_start/bench_end (m5 work_begin/work_end). The build uses
 * wasm2c's explicit bounds checks and stack-depth counting, not guard pages and a SIGSEGV handler:
 * the Wasm code keeps its bounds checks, and gem5's SE mode, which delivers no signals, needs none.
 * A trap prints one line on stderr and exits with status 2.
 */
#include <stdio.h>
#include <stdlib.h>

#include "run.h"

void bench_start(void);
void bench_end(void);

void w2c_bench_start(struct w2c_bench *bench)
{
    if (bench->markers && !bench->open) {
        bench->open = 1;
        bench_start();
    }
}

void w2c_bench_end(struct w2c_bench *bench)
{
    if (bench->open) {
        bench->open = 0;
        bench_end();
    }
}

/* wasm2c's runtime calls this (WASM_RT_GROW_FAILED_HANDLER) when a memory.grow fails: nothing to do. */
void hwprof_w2c_grow_failed(void)
{
}

int main(int argc, char **argv)
{
    struct w2c_wasi__snapshot__preview1 wasi = {0};
    struct w2c_bench bench = {hwprof_w2c_markers, 0};
    void *instance = calloc(1, hwprof_w2c_instance_size);
    struct instantiation in = {instance, &bench, &wasi};

    if (!instance) {
        fprintf(stderr, "wasm2c: out of memory for the instance\n");
        return 2;
    }
    wasm_rt_init();
    wasi.argc = argc;
    wasi.argv = argv;
    wasi.host_fd[0] = 0;
    wasi.host_fd[1] = 1;
    wasi.host_fd[2] = 2;
    wasi.memory = hwprof_w2c_memory(instance);
    wasm_rt_trap_t trap = guarded(instantiate, &in);
    if (trap == WASM_RT_TRAP_NONE) {
        if (!hwprof_w2c_has_start) {
            fprintf(stderr, "wasm2c: the module exports no _start function (not a WASI command)\n");
            return 3;
        }
        trap = guarded(hwprof_w2c_start, instance);
        w2c_bench_end(&bench);   /* a trap inside the kernel still closes the region of interest */
    }
    fflush(stdout);
    if (wasi.exited)
        return (int)wasi.exit_code;
    if (trap != WASM_RT_TRAP_NONE) {
        fprintf(stderr, "wasm trap: %s\n", wasm_rt_strerror(trap));
        return 2;
    }
    return 0;
}
