/*
 * hwprof phase control: the host side of phase boundaries and bench.start/bench.end markers.
 *
 * It lives in C so that a marker costs a few hundred instructions, not a trip through an
 * interpreter. A host (the Python wasmtime host, a wasm2c host, ...) calls hwprof_begin/
 * hwprof_end at phase edges; the counter backend is told through the environment:
 *   HWPROF_CTL_FD, HWPROF_ACK_FD  perf stat --control fds ("enable"/"disable", waits for "ack")
 *   HWPROF_COUNT_MASK             bit i set: phase i is counted by perf in this process
 *   HWPROF_CALLGRIND=1            toggle callgrind collection and dump its stats per phase
 * Wall-clock marks (CLOCK_MONOTONIC) of every edge are kept for hwprof_marks().
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#ifdef HWPROF_HAVE_VALGRIND
#include <valgrind/callgrind.h>
#endif

enum { PHASE_BOOTSTRAP, PHASE_COMPILE, PHASE_INSTANTIATE, PHASE_EXECUTE, N_PHASES };
static const char *const phase_names[N_PHASES] = {"bootstrap", "compile", "instantiate", "execute"};

#define MAX_MARKS 4096
static int ctl_fd = -1, ack_fd = -1, use_callgrind;
static unsigned count_mask;
static int64_t mark_ns[MAX_MARKS];
static int mark_code[MAX_MARKS]; /* phase * 2 + (1 for end) */
static int n_marks;

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

int hwprof_init(void)
{
    ctl_fd = env_int("HWPROF_CTL_FD", -1);
    ack_fd = env_int("HWPROF_ACK_FD", -1);
    count_mask = (unsigned)env_int("HWPROF_COUNT_MASK", 0);
    use_callgrind = env_int("HWPROF_CALLGRIND", 0);
    n_marks = 0;
    return ctl_fd >= 0 ? 1 : 0;
}

static void mark(int code)
{
    struct timespec ts;
    if (n_marks >= MAX_MARKS)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mark_ns[n_marks] = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    mark_code[n_marks++] = code;
}

/* Send one perf control command and wait for perf's ack, so counting has really changed. */
static int perf_command(const char *cmd, size_t len)
{
    char ack[8];
    if (ctl_fd < 0 || write(ctl_fd, cmd, len) != (ssize_t)len)
        return -1;
    return ack_fd >= 0 && read(ack_fd, ack, sizeof ack) > 0 ? 0 : -1;
}

void hwprof_begin(int phase)
{
    if (phase < 0 || phase >= N_PHASES)
        return;
    if (count_mask & (1u << phase))
        perf_command("enable\n", 7);
#ifdef HWPROF_HAVE_VALGRIND
    if (use_callgrind)
        CALLGRIND_TOGGLE_COLLECT;
#endif
    mark(phase * 2);
}

void hwprof_end(int phase)
{
    if (phase < 0 || phase >= N_PHASES)
        return;
    mark(phase * 2 + 1);
#ifdef HWPROF_HAVE_VALGRIND
    if (use_callgrind) {
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(phase_names[phase]);
    }
#endif
    if (count_mask & (1u << phase))
        perf_command("disable\n", 8);
}

/* Copy the marks out: codes (phase*2 + is_end) and CLOCK_MONOTONIC nanoseconds. */
int hwprof_marks(int *codes, int64_t *ns, int max)
{
    int n = n_marks < max ? n_marks : max;
    for (int i = 0; i < n; i++) {
        codes[i] = mark_code[i];
        ns[i] = mark_ns[i];
    }
    return n;
}

int hwprof_has_valgrind(void)
{
#ifdef HWPROF_HAVE_VALGRIND
    return 1;
#else
    return 0;
#endif
}

/*
 * bench.start / bench.end as Wasmtime "unchecked" host functions (C API signature
 * wasm_trap_t *(*)(void *env, wasmtime_caller_t *, wasmtime_val_raw_t *, size_t)).
 * They take and return nothing and never trap.
 */
void *hwprof_bench_start(void *env, void *caller, void *args, size_t nargs)
{
    (void)env; (void)caller; (void)args; (void)nargs;
    hwprof_begin(PHASE_EXECUTE);
    return NULL;
}

void *hwprof_bench_end(void *env, void *caller, void *args, size_t nargs)
{
    (void)env; (void)caller; (void)args; (void)nargs;
    hwprof_end(PHASE_EXECUTE);
    return NULL;
}
