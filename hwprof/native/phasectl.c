/*
 * hwprof phase control: the host side of phase boundaries and bench.start/bench.end markers.
 *
 * It lives in C so that a marker costs a few hundred instructions, not a trip through an
 * interpreter. A host (the Python wasmtime host, a wasm2c host, ...) calls hwprof_begin/
 * hwprof_end at phase edges; the counter backend is told through the environment:
 *   HWPROF_CTL_FD, HWPROF_ACK_FD  perf stat --control fds ("enable"/"disable", waits for "ack")
 *   HWPROF_COUNT_MASK             bit i set: phase i is counted in this process (perf or callgrind)
 *   HWPROF_CLOSE_FDS              the backend's ends of those pipes, closed here at init
 *   HWPROF_CALLGRIND=1            toggle callgrind collection at a counted phase's edges and dump
 *                                 its stats at the phase's end (collection starts on only when
 *                                 bootstrap, which has no begin edge, is counted)
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

/* Phase numbers come from hwprof/data/phases.py (MARKED), through the generated header; "startup" is a
 * CLI runtime's bootstrap + compile + instantiate, which only a relay outside the runtime can bound. */
#include "hwprof_phases.h"
static const char *const phase_names[HWPROF_N_PHASES] = HWPROF_PHASE_NAMES;

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

/* ==== VTune collection control (HWPROF_VTUNE=1) ===========================================
 * Environment:
 *   HWPROF_VTUNE=1         resume/pause VTune's collection at the edges of the phases below
 *   HWPROF_VTUNE_MASK      bit i set: phase i is collected by VTune in this process
 *   HWPROF_VTUNE_STATUS    file that gets "scoped" or "unscoped: <why>" at hwprof_init
 *   INTEL_LIBITTNOTIFY64   set by VTune in the measured process: its ITT collector library
 * VTune starts the process with collection paused (-start-paused; the bootstrap pass starts
 * running) and the helper calls ITT's __itt_resume / __itt_pause at the phase edges. It does
 * not link Intel's static ITT library; it does what that library (ittapi's
 * ittnotify_static.c, API 3.0, build 20250807) does on the first ITT call: dlopen the
 * collector, then either hand its __itt_api_init a descriptor (__itt_global) whose API list
 * names the functions wanted, for the collector to fill in their pointers, or, for a legacy
 * collector without __itt_api_init, look the functions up by name. The two structures below
 * copy the layout of ittnotify_config.h's ___itt_api_info and ___itt_global field for field;
 * a collector reads them, so that layout (not our names) is the contract.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

enum { ITT_GROUP_LEGACY = 1 << 0, ITT_GROUP_CONTROL = 1 << 1, ITT_GROUP_ALL = -1 };
enum { ITT_COLLECTION_INIT_SUCCESSFUL = 4 };

#pragma pack(push, 8)
struct itt_api_info {
    const char *name;
    void **func_ptr;
    void *init_func;
    void *null_func;
    int group;                            /* __itt_group_id */
};

struct itt_global {
    unsigned char magic[8];
    unsigned long version_major, version_minor, version_build;
    volatile long api_initialized, mutex_initialized, atomic_counter;
    pthread_mutex_t mutex;
    void *lib;
    void *error_handler;
    const char **dll_path_ptr;
    struct itt_api_info *api_list_ptr;
    struct itt_global *next;
    void *thread_list, *domain_list, *string_list;
    int state;                            /* __itt_collection_state */
    void *counter_list;
    unsigned int ipt_collect_events;
    void *histogram_list;
    void *counter_metadata_list;
};
#pragma pack(pop)

typedef void (*itt_void_fn)(void);
typedef void (*itt_api_init_fn)(struct itt_global *, int);

static void itt_unbound(void) {}
static itt_void_fn itt_pause_fn = itt_unbound, itt_resume_fn = itt_unbound;

static struct itt_api_info itt_api_list[] = {
    {"__itt_pause", (void **)&itt_pause_fn, (void *)itt_unbound, (void *)itt_unbound,
     ITT_GROUP_CONTROL | ITT_GROUP_LEGACY},
    {"__itt_resume", (void **)&itt_resume_fn, (void *)itt_unbound, (void *)itt_unbound,
     ITT_GROUP_CONTROL | ITT_GROUP_LEGACY},
    {NULL, NULL, NULL, NULL, 0},
};

static struct itt_global itt_global = {
    .magic = {0xED, 0xAB, 0xAB, 0xEC, 0x0D, 0xEE, 0xDA, 0x30},
    .version_major = 3, .version_minor = 0, .version_build = 20250807,
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .api_list_ptr = itt_api_list,
};

static unsigned vtune_mask;
static const char *vtune_why = "not connected";

/* Load VTune's collector and bind __itt_pause/__itt_resume; NULL on success, else why not. */
static const char *vtune_connect(void)
{
    const char *path = getenv(sizeof(void *) == 8 ? "INTEL_LIBITTNOTIFY64" : "INTEL_LIBITTNOTIFY32");
    pthread_mutexattr_t attr;
    itt_api_init_fn api_init;
    void *lib;

    if (!path || !*path)
        return "INTEL_LIBITTNOTIFY64 is not set (the process was not started by VTune)";
    if (!(lib = dlopen(path, RTLD_LAZY)))
        return "the collector library in INTEL_LIBITTNOTIFY64 could not be loaded";
    /* The static part's ITT_MUTEX_INIT_AND_LOCK: a recursive mutex, held across __itt_api_init. */
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&itt_global.mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    itt_global.atomic_counter = 1;
    itt_global.mutex_initialized = 1;
    pthread_mutex_lock(&itt_global.mutex);
    itt_global.lib = lib;
    itt_global.state = ITT_COLLECTION_INIT_SUCCESSFUL;
    *(void **)&api_init = dlsym(lib, "__itt_api_init");
    if (api_init) {
        api_init(&itt_global, ITT_GROUP_ALL);
    } else {
        for (struct itt_api_info *f = itt_api_list; f->name; f++) {
            void *fn = dlsym(lib, f->name);
            *f->func_ptr = fn ? fn : f->null_func;
        }
    }
    itt_global.api_initialized = 1;
    pthread_mutex_unlock(&itt_global.mutex);
    if (!itt_pause_fn)
        itt_pause_fn = itt_unbound;
    if (!itt_resume_fn)
        itt_resume_fn = itt_unbound;
    if (itt_pause_fn == itt_unbound || itt_resume_fn == itt_unbound)
        return "the collector did not provide __itt_pause and __itt_resume";
    return NULL;
}

static void vtune_write_status(void)
{
    const char *path = getenv("HWPROF_VTUNE_STATUS");
    char line[256] = "scoped\n";
    int fd;

    if (!path || !*path || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        return;
    if (vtune_why) {
        strcpy(line, "unscoped: ");
        strncat(line, vtune_why, sizeof line - strlen(line) - 2);
        strcat(line, "\n");
    }
    ssize_t written = write(fd, line, strlen(line));
    (void)written;
    close(fd);
}

static void vtune_init(void)
{
    vtune_mask = 0;
    if (!env_int("HWPROF_VTUNE", 0))
        return;
    vtune_mask = (unsigned)env_int("HWPROF_VTUNE_MASK", 0);
    if (!itt_global.api_initialized)
        vtune_why = vtune_connect();
    vtune_write_status();
}

/* Resume (begin) or pause (end) VTune's collection at an edge of a phase it collects. */
static void vtune_edge(int phase, int begin)
{
    if (vtune_mask & (1u << phase))
        (begin ? itt_resume_fn : itt_pause_fn)();
}

/* 1: VTune's pause/resume are bound, 0: HWPROF_VTUNE is off, -1: asked for but not reachable. */
int hwprof_vtune_state(void)
{
    if (!env_int("HWPROF_VTUNE", 0))
        return 0;
    return vtune_why ? -1 : 1;
}
/* ==== end of VTune collection control ===================================================== */

int hwprof_init(void)
{
    ctl_fd = env_int("HWPROF_CTL_FD", -1);
    ack_fd = env_int("HWPROF_ACK_FD", -1);
    /* The backend's own ends of the control pipes were inherited too: close them here, so that a
     * backend that dies gives this process EOF instead of a wait for an ack that never comes. */
    for (const char *p = getenv("HWPROF_CLOSE_FDS"); p && *p;) {
        char *next;
        long fd = strtol(p, &next, 10);
        if (next == p)
            break;
        if (fd > 2)
            close((int)fd);
        p = *next == ',' ? next + 1 : next;
    }
    count_mask = (unsigned)env_int("HWPROF_COUNT_MASK", 0);
    use_callgrind = env_int("HWPROF_CALLGRIND", 0);
    n_marks = 0;
    vtune_init();
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
    if (phase < 0 || phase >= HWPROF_N_PHASES)
        return;
    if (count_mask & (1u << phase))
        perf_command("enable\n", 7);
#ifdef HWPROF_HAVE_VALGRIND
    /* A toggle, not a switch: only a counted phase may flip it, or an uncounted phase's edges
     * would turn collection on for the gaps between phases and off for the counted one. */
    if (use_callgrind && (count_mask & (1u << phase)))
        CALLGRIND_TOGGLE_COLLECT;
#endif
    vtune_edge(phase, 1);
    mark(phase * 2);
}

void hwprof_end(int phase)
{
    if (phase < 0 || phase >= HWPROF_N_PHASES)
        return;
    mark(phase * 2 + 1);
#ifdef HWPROF_HAVE_VALGRIND
    if (use_callgrind && (count_mask & (1u << phase))) {
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(phase_names[phase]);
    }
#endif
    vtune_edge(phase, 0);
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
    hwprof_begin(HWPROF_EXECUTE);
    return NULL;
}

void *hwprof_bench_end(void *env, void *caller, void *args, size_t nargs)
{
    (void)env; (void)caller; (void)args; (void)nargs;
    hwprof_end(HWPROF_EXECUTE);
    return NULL;
}

#ifdef HWPROF_NATIVE_MARKERS
/*
 * A workload built natively links this file: its bench_start/bench_end are plain C calls into the
 * same phase control, and the marks go to the file named by HWPROF_MARKS_OUT when the program exits
 * (one "phase begin|end nanoseconds" line each).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>

static int native_ready;

/* Run by hwprof (HWPROF_CONTROLLER_PID set), the program dies with the process that started it (perf,
 * or the controller), which itself dies with the controller: killing hwprof leaves no benchmark behind.
 * If the controller is already gone, nobody would end us: leave at once. */
__attribute__((constructor)) static void native_tie_to_controller(void)
{
    const char *controller = getenv("HWPROF_CONTROLLER_PID");
    if (!controller || !*controller)
        return;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (kill((pid_t)atol(controller), 0) != 0)
        _exit(4);
}

static void native_write_marks(void)
{
    const char *path = getenv("HWPROF_MARKS_OUT");
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    for (int i = 0; i < n_marks; i++)
        fprintf(f, "%s %s %lld\n", phase_names[mark_code[i] / 2], mark_code[i] % 2 ? "end" : "begin",
                (long long)mark_ns[i]);
    fclose(f);
}

void bench_start(void)
{
    if (!native_ready) {
        native_ready = 1;
        hwprof_init();
        atexit(native_write_marks);
    }
    hwprof_begin(HWPROF_EXECUTE);
}

void bench_end(void)
{
    hwprof_end(HWPROF_EXECUTE);
}
#endif
