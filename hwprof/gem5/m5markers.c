/*
 * bench_start/bench_end as gem5 m5 ops, for binaries simulated by gem5 (SE or FS mode).
 *
 * bench_start issues m5 work_begin(0, 0) and bench_end m5 work_end(0, 0); hwprof's generated gem5
 * configurations reset the statistics at work-begin and dump them at work-end, so the statistics
 * cover the kernel only. The m5 ops are the instruction-based ones of gem5 v24.0
 * (include/gem5/asm/generic/m5ops.h: work_begin 0x5a, work_end 0x5b):
 *   x86-64   the two bytes 0f 04 followed by the op number as a 16-bit word; arguments in rdi, rsi
 *   aarch64  the word 0xff000110 | op << 16; arguments in x0, x1
 * Outside gem5 these instructions are undefined: the process dies with SIGILL. Built with
 * -DHWPROF_M5_NOOP the markers do nothing, so the same program runs natively (for tests).
 */
#include <stdint.h>

#define M5OP_WORK_BEGIN 0x5a
#define M5OP_WORK_END 0x5b

#if defined(HWPROF_M5_NOOP)
#define M5OP(op) ((void)0)
#elif defined(__x86_64__)
#define M5OP(op)                                                                   \
    do {                                                                           \
        uint64_t ret_;                                                             \
        __asm__ volatile(".byte 0x0f, 0x04\n\t.word %c[n]"                         \
                         : "=a"(ret_)                                              \
                         : [n] "i"(op), "D"((uint64_t)0), "S"((uint64_t)0)         \
                         : "memory");                                              \
        (void)ret_;                                                                \
    } while (0)
#elif defined(__aarch64__)
#define M5OP(op)                                                                   \
    do {                                                                           \
        register uint64_t x0_ __asm__("x0") = 0;                                   \
        register uint64_t x1_ __asm__("x1") = 0;                                   \
        __asm__ volatile(".inst 0xff000110 | (%c[n] << 16)"                        \
                         : "+r"(x0_)                                               \
                         : [n] "i"(op), "r"(x1_)                                   \
                         : "memory");                                              \
    } while (0)
#else
#error "m5 ops are written for x86-64 and aarch64 only"
#endif

/* noinline: each marker stays one function whose body a test can disassemble. */
__attribute__((noinline)) void bench_start(void)
{
    M5OP(M5OP_WORK_BEGIN);
}

__attribute__((noinline)) void bench_end(void)
{
    M5OP(M5OP_WORK_END);
}
