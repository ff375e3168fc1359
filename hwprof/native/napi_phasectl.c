/*
 * hwprof phase control for Node.js: phasectl.c's functions exposed to JavaScript as a Node-API addon.
 *
 * Built together with phasectl.c into one .node library (hwprof.native.build_node_addon), so the phase
 * edges, perf control, callgrind client requests and VTune calls all run in C inside the node process.
 * benchStart/benchEnd are handed to WebAssembly as the bench.start/bench.end imports: V8 calls them
 * through its wasm-to-JS wrapper and Node-API's callback trampoline, with no JavaScript in between.
 *
 * The few Node-API functions used are declared here from Node-API's documented C interface, which is
 * ABI-stable across Node.js versions (node_api.h need not be installed); node itself defines them, so
 * they resolve when node loads the library. Node finds the module through napi_register_module_v1.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;                      /* napi_ok is 0 */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

napi_status napi_create_function(napi_env env, const char *utf8name, size_t length, napi_callback cb, void *data,
                                 napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *utf8name, napi_value value);
napi_status napi_get_cb_info(napi_env env, napi_callback_info cbinfo, size_t *argc, napi_value *argv,
                             napi_value *this_arg, void **data);
napi_status napi_get_value_int32(napi_env env, napi_value value, int32_t *result);
napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
napi_status napi_create_bigint_int64(napi_env env, int64_t value, napi_value *result);
napi_status napi_create_array_with_length(napi_env env, size_t length, napi_value *result);
napi_status napi_set_element(napi_env env, napi_value object, uint32_t index, napi_value value);
napi_status napi_throw_error(napi_env env, const char *code, const char *msg);

/* From phasectl.c. */
int hwprof_init(void);
void hwprof_begin(int phase);
void hwprof_end(int phase);
int hwprof_marks(int *codes, int64_t *ns, int max);
int hwprof_has_valgrind(void);
int hwprof_vtune_state(void);

#include "hwprof_phases.h"

enum { MAX_MARKS = 4096 };

static napi_value int_result(napi_env env, int value)
{
    napi_value out;
    return napi_create_int32(env, value, &out) == 0 ? out : NULL;
}

/* The first argument as a phase number, or -1 (the helper ignores phases it does not know). */
static int phase_arg(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t phase = -1;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1
        || napi_get_value_int32(env, argv[0], &phase) != 0)
        return -1;
    return phase;
}

static napi_value js_init(napi_env env, napi_callback_info info)
{
    (void)info;
    return int_result(env, hwprof_init());
}

static napi_value js_begin(napi_env env, napi_callback_info info)
{
    hwprof_begin(phase_arg(env, info));
    return NULL;
}

static napi_value js_end(napi_env env, napi_callback_info info)
{
    hwprof_end(phase_arg(env, info));
    return NULL;
}

/* bench.start / bench.end: no arguments, no result, never throw. */
static napi_value js_bench_start(napi_env env, napi_callback_info info)
{
    (void)env; (void)info;
    hwprof_begin(HWPROF_EXECUTE);
    return NULL;
}

static napi_value js_bench_end(napi_env env, napi_callback_info info)
{
    (void)env; (void)info;
    hwprof_end(HWPROF_EXECUTE);
    return NULL;
}

/* Every edge so far as a flat array [code, ns, code, ns, ...]: code = phase * 2 + is_end, ns a BigInt. */
static napi_value js_marks(napi_env env, napi_callback_info info)
{
    static int codes[MAX_MARKS];
    static int64_t ns[MAX_MARKS];
    napi_value out, v;
    (void)info;
    int n = hwprof_marks(codes, ns, MAX_MARKS);
    if (napi_create_array_with_length(env, (size_t)n * 2, &out) != 0)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (napi_create_int32(env, codes[i], &v) != 0 || napi_set_element(env, out, (uint32_t)(2 * i), v) != 0
            || napi_create_bigint_int64(env, ns[i], &v) != 0
            || napi_set_element(env, out, (uint32_t)(2 * i + 1), v) != 0)
            return NULL;
    }
    return out;
}

static napi_value js_has_valgrind(napi_env env, napi_callback_info info)
{
    (void)info;
    return int_result(env, hwprof_has_valgrind());
}

static napi_value js_vtune_state(napi_env env, napi_callback_info info)
{
    (void)info;
    return int_result(env, hwprof_vtune_state());
}

/* Die with the backend that started us (PR_SET_PDEATHSIG); 0 when HWPROF_CONTROLLER_PID is already gone. */
static napi_value js_die_with_parent(napi_env env, napi_callback_info info)
{
    const char *controller = getenv("HWPROF_CONTROLLER_PID");
    (void)info;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (controller && *controller && kill((pid_t)atoi(controller), 0) != 0)
        return int_result(env, 0);
    return int_result(env, 1);
}

static int export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb)
{
    napi_value fn;
    return napi_create_function(env, name, (size_t)-1, cb, NULL, &fn) == 0
        && napi_set_named_property(env, exports, name, fn) == 0;
}

/* Node-API's entry point (the symbol NAPI_MODULE_INIT would define). */
napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
    static const struct { const char *name; napi_callback cb; } fns[] = {
        {"init", js_init}, {"begin", js_begin}, {"end", js_end}, {"benchStart", js_bench_start},
        {"benchEnd", js_bench_end}, {"marks", js_marks}, {"hasValgrind", js_has_valgrind},
        {"vtuneState", js_vtune_state}, {"dieWithParent", js_die_with_parent},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (!export_fn(env, exports, fns[i].name, fns[i].cb)) {
            napi_throw_error(env, NULL, "hwprof phase control: could not export its functions");
            return NULL;
        }
    }
    return exports;
}

/* The Node-API version this addon was written against (8: every function above is in it). */
int32_t node_api_module_get_api_version_v1(void)
{
    return 8;
}
