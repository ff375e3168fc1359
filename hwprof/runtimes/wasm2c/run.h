/*
 * Running a wasm2c module's code from a host's main(): instantiation as a callable, and a call under
 * wasm2c's trap target. Shared by the wasm2c runtime host (main.c) and the gem5 SE binary (gem5/w2c_main.c).
 */
#ifndef HWPROF_W2C_RUN_H
#define HWPROF_W2C_RUN_H

#include "host.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

struct instantiation {
    void *instance;
    struct w2c_bench *bench;
    struct w2c_wasi__snapshot__preview1 *wasi;
};

static void instantiate(void *arg)
{
    struct instantiation *in = arg;
    hwprof_w2c_instantiate(in->instance, in->bench, in->wasi);
}

/* Call fn(arg) with wasm2c's trap target set: WASM_RT_TRAP_NONE, or the trap that ended it. */
static wasm_rt_trap_t guarded(void (*fn)(void *), void *arg)
{
    wasm_rt_trap_t trap = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (trap == WASM_RT_TRAP_NONE)
        fn(arg);
    g_wasm_rt_jmp_buf.initialized = false;   /* a fault in host code from here on aborts, not jumps */
    return trap;
}

#endif
