/*
 * hwprof calibration kernel: a fixed chain of dependent integer operations (xorshift64), so its cost is
 * the same every call on a quiet CPU. Each step needs the previous one's result (no overlap, no
 * vectorization) and the final state is returned, so the compiler can neither drop nor shorten the loop.
 */
#include <stdint.h>

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
