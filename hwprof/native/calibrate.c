/*
 * hwprof calibration kernel: a fixed chain of dependent integer operations (xorshift64), so its cost is
 * the same every call on a quiet CPU. Each step needs the previous one's result (no overlap, no
 * vectorization) and the final state is returned, so the compiler can neither drop nor shorten the loop.
 *
 * Beside it, a paired reading of the time-stamp counter and CLOCK_MONOTONIC, so a calibration can also
 * say how many counter ticks one monotonic nanosecond lasted (x86-64: TSC; aarch64: the virtual counter).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

uint64_t hwprof_calibrate(uint64_t iterations)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* 1 when this build reads a time-stamp counter, 0 when the architecture has none it knows. */
int hwprof_has_tsc(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

static inline uint64_t counter(void)
{
#if defined(__x86_64__)
    /* lfence on both sides: rdtsc is not ordered with the loads of clock_gettime around it. */
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#elif defined(__aarch64__)
    uint64_t t;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(t) :: "memory");
    return t;
#else
    return 0;
#endif
}

static inline int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * CLOCK_MONOTONIC ns read between two counter readings, the counter's midpoint in *ticks: of `tries`
 * brackets the narrowest is kept (an interrupt or a VM exit inside one widens it), its width in *width.
 * Returns -1 without a counter.
 */
int64_t hwprof_stamp(uint64_t *ticks, uint64_t *width, int tries)
{
    if (!hwprof_has_tsc())
        return -1;
    int64_t best_ns = -1;
    uint64_t best_width = UINT64_MAX;
    for (int i = 0; i < tries; i++) {
        uint64_t t0 = counter();
        int64_t ns = monotonic_ns();
        uint64_t t1 = counter();
        if (t1 - t0 < best_width) {
            best_width = t1 - t0;
            best_ns = ns;
            *ticks = t0 + (t1 - t0) / 2;
        }
    }
    *width = best_width;
    return best_ns;
}
