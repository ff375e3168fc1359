/*
 * The measured process of the wasm2c targets: a wasm module compiled to native code through C.
 *
 *   workload.exe --result R --stdout O --stderr E [--stop-after PHASE] [--memory-limit BYTES]
 *                [--invocations N] [--cpu N] [--dir HOST:GUEST] [--env KEY=VALUE]... [--name ARGV0]
 *                -- GUEST_ARGS...
 *
 * Phases: bootstrap ends when the host is ready (wasm2c's runtime initialised); instantiate is
 * wasm2c's instantiate (memory, tables, data and element segments); execute is bounded by the
 * module's bench.start/bench.end imports (calls into phasectl.c, in-process) or else by the call
 * of _start. Warm mode: N fresh instances, each instantiated and run, in one process.
 * Traps: wasm2c's runtime in its default 64-bit configuration, guard pages and a SIGSEGV handler
 * for out-of-bounds accesses and stack exhaustion, explicit checks for the rest; every trap
 * longjmps back here and becomes result.json's error. The memory limit lowers the memory's
 * max_pages after instantiation, so memory.grow beyond it returns -1 as the spec says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <dirent.h>

#include "run.h"

static const char *const phase_names[] = {"bootstrap", "compile", "instantiate", "execute", "startup"};

struct options {
    const char *result, *out, *err, *stop_after, *name, *dir;
    unsigned long long memory_limit;
    long invocations;
    int cpu;
    int argc;
    char **argv;
    int envc;
    char **envp;
};

struct report {
    const char *stage;
    char error[512];
    long exit_code;             /* -1: none */
    const char *boundary;
};

static void usage_error(const char *what)
{
    fprintf(stderr, "wasm2c host: %s\n", what);
    exit(64);
}

static void parse(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->stop_after = "execute";
    o->name = "workload.wasm";
    o->invocations = 1;
    o->cpu = -1;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage_error("an option without a value");
        if (!strcmp(k, "--result")) o->result = v;
        else if (!strcmp(k, "--stdout")) o->out = v;
        else if (!strcmp(k, "--stderr")) o->err = v;
        else if (!strcmp(k, "--stop-after")) o->stop_after = v;
        else if (!strcmp(k, "--name")) o->name = v;
        else if (!strcmp(k, "--dir")) o->dir = v;
        else if (!strcmp(k, "--env")) {
            char **grown = realloc(o->envp, sizeof(char *) * (size_t)(o->envc + 1));
            if (!grown)
                usage_error("out of memory");
            o->envp = grown;
            o->envp[o->envc++] = (char *)v;
        }
        else if (!strcmp(k, "--memory-limit")) o->memory_limit = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--invocations")) o->invocations = strtol(v, NULL, 10);
        else if (!strcmp(k, "--cpu")) o->cpu = atoi(v);
        else usage_error("unknown option");
    }
    if (!o->result || !o->out || !o->err)
        usage_error("--result, --stdout and --stderr are required");
    if (i < argc)
        i++;
    /* The guest's argv: its name, then the arguments after "--". */
    o->argc = argc - i + 1;
    o->argv = calloc((size_t)o->argc + 1, sizeof(char *));
    o->argv[0] = (char *)o->name;
    for (int j = 1; j < o->argc; j++)
        o->argv[j] = argv[i + j - 1];
}

/* ---- result.json -------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Every thread's allowed CPUs (one thread: wasm2c's runtime starts none). */
static void json_affinity(FILE *f)
{
    cpu_set_t set;
    int first = 1;
    fputs(", \"affinity\": [", f);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                fprintf(f, "%s%d", first ? "" : ", ", c);
                first = 0;
            }
    fputs("], \"threads\": {", f);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    first = 1;
    while (d && (e = readdir(d))) {
        char path[300], line[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        FILE *st = fopen(path, "r");
        while (st && fgets(line, sizeof line, st))
            if (!strncmp(line, "Cpus_allowed_list:", 18)) {
                char *v = line + 18;
                v += strspn(v, " \t");
                v[strcspn(v, "\n")] = 0;
                fprintf(f, "%s\"%s\": ", first ? "" : ", ", e->d_name);
                json_string(f, v);
                first = 0;
            }
        if (st)
            fclose(st);
    }
    if (d)
        closedir(d);
    fputc('}', f);
}

static int finish(const struct options *o, const struct report *r, int code)
{
    static int codes[4096];
    static int64_t ns[4096];
    int n = hwprof_marks(codes, ns, 4096);
    FILE *f = fopen(o->result, "w");
    if (!f)
        return 5;
    fputs("{\"stage\": ", f);
    json_string(f, r->stage);
    if (r->exit_code >= 0)
        fprintf(f, ", \"exit_code\": %ld", r->exit_code);
    else
        fputs(", \"exit_code\": null", f);
    fputs(", \"error\": ", f);
    if (r->error[0])
        json_string(f, r->error);
    else
        fputs("null", f);
    fputs(", \"boundary\": ", f);
    json_string(f, r->boundary);
    fputs(", \"marks\": [", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s[\"%s\", \"%s\", %lld]", i ? ", " : "", phase_names[codes[i] / 2],
                codes[i] % 2 ? "end" : "begin", (long long)ns[i]);
    fputc(']', f);
    json_affinity(f);
    fputs("}\n", f);
    fclose(f);
    return code;
}

/* ---- the module ----------------------------------------------------------------------------- */

static int grow_refused;

/* wasm2c's runtime calls this (WASM_RT_GROW_FAILED_HANDLER) when a memory.grow fails. */
void hwprof_w2c_grow_failed(void)
{
    grow_refused = 1;
}

void w2c_bench_start(struct w2c_bench *bench)
{
    if (bench->markers && !bench->open) {
        bench->open = 1;
        hwprof_begin(HWPROF_EXECUTE);
    }
}

void w2c_bench_end(struct w2c_bench *bench)
{
    if (bench->open) {
        hwprof_end(HWPROF_EXECUTE);
        bench->open = 0;
    }
}

static void trap_message(struct report *r, wasm_rt_trap_t trap, const char *after)
{
    char what[200];
    snprintf(what, sizeof what, "%s", wasm_rt_strerror(trap));
    what[0] = (char)(what[0] >= 'A' && what[0] <= 'Z' ? what[0] - 'A' + 'a' : what[0]);
    snprintf(r->error, sizeof r->error, "wasm trap: %s%s", what, after);
}

/* One invocation: a fresh instance, instantiated and run. Returns -1 to go on, else the exit status. */
static int invoke(const struct options *o, struct report *r, const int *fds)
{
    struct w2c_wasi__snapshot__preview1 wasi = {0};
    struct w2c_bench bench = {hwprof_w2c_markers, 0};
    void *instance = calloc(1, hwprof_w2c_instance_size);
    struct instantiation in = {instance, &bench, &wasi};
    char note[200] = "";
    int status = -1;

    wasi.argc = o->argc;
    wasi.argv = o->argv;
    wasi.envc = o->envc;
    wasi.envp = o->envp;
    memcpy(wasi.host_fd, fds, sizeof wasi.host_fd);
    wasi.memory = hwprof_w2c_memory(instance);   /* inside the instance: valid before instantiate */
    grow_refused = 0;

    r->stage = "instantiate";
    hwprof_begin(HWPROF_INSTANTIATE);
    wasm_rt_trap_t trap = guarded(instantiate, &in);
    hwprof_end(HWPROF_INSTANTIATE);
    if (trap != WASM_RT_TRAP_NONE) {
        trap_message(r, trap, "");
        free(instance);   /* a partly built instance: its memory is not freed, the process ends */
        return 2;
    }
    wasm_rt_memory_t *memory = wasi.memory;
    if (memory && o->memory_limit) {
        unsigned long long limit_pages = o->memory_limit / memory->page_size;
        if (memory->pages > limit_pages) {
            snprintf(r->error, sizeof r->error, "the module's initial memory of %llu bytes exceeds the "
                     "memory limit of %llu bytes", (unsigned long long)memory->size, o->memory_limit);
            status = 2;
            goto done;
        }
        if (memory->max_pages > limit_pages) {
            memory->max_pages = limit_pages;
            snprintf(note, sizeof note, " (after memory.grow beyond the memory limit of %llu bytes was refused)",
                     o->memory_limit);
        }
    }
    if (!strcmp(o->stop_after, "instantiate"))
        goto done;
    if (!hwprof_w2c_has_start) {
        snprintf(r->error, sizeof r->error, "the module exports no _start function (not a WASI command)");
        status = 3;
        goto done;
    }
    r->stage = "execute";
    if (!bench.markers)
        hwprof_begin(HWPROF_EXECUTE);
    trap = guarded(hwprof_w2c_start, instance);
    if (!bench.markers)
        hwprof_end(HWPROF_EXECUTE);
    else
        w2c_bench_end(&bench);   /* a trap inside the kernel: close its phase */
    if (!grow_refused)
        note[0] = 0;
    if (wasi.exited) {
        r->exit_code = wasi.exit_code;
        if (wasi.exit_code) {
            snprintf(r->error, sizeof r->error, "the module exited with status %u%s", wasi.exit_code, note);
            if (!note[0])
                r->error[0] = 0;   /* a plain non-zero exit: the collector words it */
            status = 0;
        }
    } else if (trap != WASM_RT_TRAP_NONE) {
        trap_message(r, trap, note);
        status = 2;
    } else {
        r->exit_code = 0;
    }
done:
    hwprof_w2c_free(instance);
    free(instance);
    return status;
}

static int open_output(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "wasm2c host: cannot write %s: %s\n", path, strerror(errno));
        exit(5);
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct options o;
    struct report r = {"bootstrap", "", -1, "entry-call"};
    parse(argc, argv, &o);
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* die with the backend that started us */
    const char *controller = getenv("HWPROF_CONTROLLER_PID");
    if (controller && atoi(controller) > 0 && kill(atoi(controller), 0) != 0 && errno == ESRCH)
        return 4;                       /* it died before our prctl took hold */
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    hwprof_init();
    wasm_rt_init();
    int fds[3] = {0, open_output(o.out), open_output(o.err)};
    hwprof_end(HWPROF_BOOTSTRAP);
    if (hwprof_w2c_markers)
        r.boundary = "markers";
    if (!strcmp(o.stop_after, "bootstrap")) {
        r.stage = "done";
        return finish(&o, &r, 0);
    }
    if (o.dir) {
        r.stage = "instantiate";
        snprintf(r.error, sizeof r.error, "the wasm2c host gives the module no directories (asked for %s)", o.dir);
        return finish(&o, &r, 2);
    }
    for (long i = 0; i < (o.invocations > 0 ? o.invocations : 1); i++) {
        int status = invoke(&o, &r, fds);
        if (status >= 0)
            return finish(&o, &r, status);
    }
    r.stage = "done";
    return finish(&o, &r, 0);
}
