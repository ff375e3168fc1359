/*
 * The wasm2c host's shared declarations: the WASI and bench import instances it hands the module,
 * the glue compiled with the module's C (glue.c), and the phase-control helper (phasectl.c).
 */
#ifndef HWPROF_W2C_HOST_H
#define HWPROF_W2C_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "wasm-rt.h"

/* Phase numbers of hwprof/data/phases.py, shared with phasectl.c. */
#include "../../native/hwprof_phases.h"

int hwprof_init(void);
void hwprof_begin(int phase);
void hwprof_end(int phase);
int hwprof_marks(int *codes, int64_t *ns, int max);

/* The instance of import module "wasi_snapshot_preview1": one per module instance. */
struct w2c_wasi__snapshot__preview1 {
    wasm_rt_memory_t *memory;   /* the module's exported memory (NULL: none; every pointer faults) */
    int argc;
    char **argv;                /* the guest's argv, argv[0] included */
    int envc;
    char **envp;                /* the guest's environment, "KEY=VALUE" strings (--env) */
    int host_fd[3];             /* host fds behind guest fds 0, 1, 2; -1 once the guest closed it */
    int exited;                 /* proc_exit was called ... */
    uint32_t exit_code;         /* ... with this status */
};

/* The instance of import module "bench": its start/end bound the execute phase. */
struct w2c_bench {
    int markers;                /* the module imports both bench.start and bench.end */
    int open;                   /* bench.start called, bench.end not yet */
};

/* glue.c: the module's entry points under fixed names, so that main.c does not depend on a module. */
extern const size_t hwprof_w2c_instance_size;
extern const int hwprof_w2c_markers;
extern const int hwprof_w2c_has_start;
void hwprof_w2c_instantiate(void *instance, struct w2c_bench *bench, struct w2c_wasi__snapshot__preview1 *wasi);
void hwprof_w2c_free(void *instance);
wasm_rt_memory_t *hwprof_w2c_memory(void *instance);
void hwprof_w2c_start(void *instance);

#endif
