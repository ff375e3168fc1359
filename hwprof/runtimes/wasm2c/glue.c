/*
 * The module's C as wasm2c wrote it (module.c, module name "workload"), plus its entry points under
 * fixed names for main.c. One translation unit: this is the C the compile phase compiles.
 * The build driver defines, from the header wasm2c wrote:
 *   HWPROF_W2C_IMPORTS   the import instances in the order instantiate takes them, e.g. ",bench,wasi"
 *   HWPROF_W2C_MARKERS   1: the module imports bench.start and bench.end
 *   HWPROF_W2C_START     1: the module exports _start
 *   HWPROF_W2C_MEMORY    1: the module exports its memory as "memory"
 */
#include "module.c"

#include "host.h"

const size_t hwprof_w2c_instance_size = sizeof(w2c_workload);
const int hwprof_w2c_markers = HWPROF_W2C_MARKERS;
const int hwprof_w2c_has_start = HWPROF_W2C_START;

void hwprof_w2c_instantiate(void *instance, struct w2c_bench *bench, struct w2c_wasi__snapshot__preview1 *wasi)
{
    (void)bench;
    (void)wasi;
    wasm2c_workload_instantiate((w2c_workload *)instance HWPROF_W2C_IMPORTS);
}

void hwprof_w2c_free(void *instance)
{
    wasm2c_workload_free((w2c_workload *)instance);
}

wasm_rt_memory_t *hwprof_w2c_memory(void *instance)
{
#if HWPROF_W2C_MEMORY
    return w2c_workload_memory((w2c_workload *)instance);
#else
    (void)instance;
    return NULL;
#endif
}

void hwprof_w2c_start(void *instance)
{
#if HWPROF_W2C_START
    w2c_workload_0x5Fstart((w2c_workload *)instance);
#else
    (void)instance;
#endif
}
