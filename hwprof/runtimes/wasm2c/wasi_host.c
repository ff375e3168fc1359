/*
 * A small WASI preview1 host for wasm2c modules: what wasi-libc commands need to run a benchmark.
 *
 * Guest fds 0, 1, 2 are the only fds: 0 reads the host's stdin (the collector gives /dev/null),
 * 1 and 2 write to the files main.c opened (stdout.txt, stderr.txt). There are no preopened
 * directories, so every path call fails with BADF and the guest sees no host files. The
 * environment holds only the --env pairs main.c was given. Every other preview1 function is defined too, as a stub returning
 * NOSYS, so that a module importing it links and instantiates; the stubs take the argument
 * types of the preview1 witx, as wasm2c declares them (u32 for i32, u64 for i64).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

typedef struct w2c_wasi__snapshot__preview1 wasi_t;
typedef uint32_t u32;
typedef uint64_t u64;

#define WASI(name) w2c_wasi__snapshot__preview1_##name

enum {
    ERRNO_SUCCESS = 0, ERRNO_BADF = 8, ERRNO_FAULT = 21, ERRNO_INVAL = 28, ERRNO_IO = 29,
    ERRNO_NOSYS = 52, ERRNO_SPIPE = 70,
};
enum { FILETYPE_UNKNOWN = 0, FILETYPE_CHARACTER_DEVICE = 2, FILETYPE_REGULAR_FILE = 4 };
#define RIGHT_FD_READ (UINT64_C(1) << 1)
#define RIGHT_FD_WRITE (UINT64_C(1) << 6)
#define RIGHT_POLL_FD_READWRITE (UINT64_C(1) << 27)

/* The guest range [ptr, ptr+len) in linear memory, or NULL when it is out of bounds. */
static uint8_t *guest(wasi_t *w, u32 ptr, u64 len)
{
    if (!w->memory || (u64)ptr + len > w->memory->size)
        return NULL;
    return w->memory->data + ptr;
}

static int put32(wasi_t *w, u32 ptr, u32 value)
{
    uint8_t *p = guest(w, ptr, 4);
    if (p)
        memcpy(p, &value, 4);   /* wasm is little-endian, and so are the hosts we build for */
    return p != NULL;
}

static int put64(wasi_t *w, u32 ptr, u64 value)
{
    uint8_t *p = guest(w, ptr, 8);
    if (p)
        memcpy(p, &value, 8);
    return p != NULL;
}

static int host_fd(wasi_t *w, u32 fd)
{
    return fd < 3 ? w->host_fd[fd] : -1;
}

/* argv and environ share one layout: a table of pointers into a buffer of NUL-terminated strings. */
static u32 strings_sizes(wasi_t *w, int n, char **s, u32 count_ptr, u32 size_ptr)
{
    u32 size = 0;
    for (int i = 0; i < n; i++)
        size += (u32)strlen(s[i]) + 1;
    return put32(w, count_ptr, (u32)n) && put32(w, size_ptr, size) ? ERRNO_SUCCESS : ERRNO_FAULT;
}

static u32 strings_get(wasi_t *w, int n, char **s, u32 table_ptr, u32 buf_ptr)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(s[i]) + 1;
        uint8_t *dst = guest(w, buf_ptr, len);
        if (!dst || !put32(w, table_ptr + 4 * (u32)i, buf_ptr))
            return ERRNO_FAULT;
        memcpy(dst, s[i], len);
        buf_ptr += (u32)len;
    }
    return ERRNO_SUCCESS;
}

u32 WASI(args_sizes_get)(wasi_t *w, u32 argc_ptr, u32 size_ptr)
{
    return strings_sizes(w, w->argc, w->argv, argc_ptr, size_ptr);
}

u32 WASI(args_get)(wasi_t *w, u32 argv_ptr, u32 buf_ptr)
{
    return strings_get(w, w->argc, w->argv, argv_ptr, buf_ptr);
}

u32 WASI(environ_sizes_get)(wasi_t *w, u32 count_ptr, u32 size_ptr)
{
    return strings_sizes(w, w->envc, w->envp, count_ptr, size_ptr);
}

u32 WASI(environ_get)(wasi_t *w, u32 environ_ptr, u32 buf_ptr)
{
    return strings_get(w, w->envc, w->envp, environ_ptr, buf_ptr);
}

/* iovec: {u32 buf, u32 buf_len}; the same walk serves fd_write and fd_read. */
static u32 transfer(wasi_t *w, int fd, u32 iovs, u32 iovs_len, u32 done_ptr, int writing)
{
    uint8_t *iov = guest(w, iovs, (u64)iovs_len * 8);
    u64 total = 0;
    if (!iov)
        return ERRNO_FAULT;
    for (u32 i = 0; i < iovs_len; i++) {
        u32 buf, len;
        memcpy(&buf, iov + 8 * i, 4);
        memcpy(&len, iov + 8 * i + 4, 4);
        uint8_t *p = guest(w, buf, len);
        if (!p)
            return ERRNO_FAULT;
        u32 off = 0;
        while (off < len) {
            ssize_t n = writing ? write(fd, p + off, len - off) : read(fd, p + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return ERRNO_IO;
            if (n == 0)
                break;
            off += (u32)n;
        }
        total += off;
        if (off < len)
            break;  /* end of input */
    }
    return put32(w, done_ptr, (u32)total) ? ERRNO_SUCCESS : ERRNO_FAULT;
}

u32 WASI(fd_write)(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_ptr)
{
    if (fd == 0 || host_fd(w, fd) < 0)
        return ERRNO_BADF;
    return transfer(w, host_fd(w, fd), iovs, iovs_len, nwritten_ptr, 1);
}

u32 WASI(fd_read)(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 nread_ptr)
{
    if (fd != 0 || host_fd(w, fd) < 0)
        return ERRNO_BADF;
    return transfer(w, host_fd(w, fd), iovs, iovs_len, nread_ptr, 0);
}

u32 WASI(fd_close)(wasi_t *w, u32 fd)
{
    if (host_fd(w, fd) < 0)
        return ERRNO_BADF;
    w->host_fd[fd] = -1;    /* the host's file stays open for the next invocation */
    return ERRNO_SUCCESS;
}

u32 WASI(fd_seek)(wasi_t *w, u32 fd, u64 offset, u32 whence, u32 newoffset_ptr)
{
    (void)offset; (void)whence; (void)newoffset_ptr;
    return host_fd(w, fd) < 0 ? ERRNO_BADF : ERRNO_SPIPE;
}

u32 WASI(fd_tell)(wasi_t *w, u32 fd, u32 offset_ptr)
{
    (void)offset_ptr;
    return host_fd(w, fd) < 0 ? ERRNO_BADF : ERRNO_SPIPE;
}

/* fdstat: u8 filetype at 0, u16 flags at 2, u64 rights_base at 8, u64 rights_inheriting at 16. */
u32 WASI(fd_fdstat_get)(wasi_t *w, u32 fd, u32 stat_ptr)
{
    struct stat st;
    uint8_t *p = guest(w, stat_ptr, 24);
    int hfd = host_fd(w, fd);
    if (hfd < 0)
        return ERRNO_BADF;
    if (!p)
        return ERRNO_FAULT;
    uint8_t type = FILETYPE_UNKNOWN;
    if (fstat(hfd, &st) == 0)
        type = S_ISREG(st.st_mode) ? FILETYPE_REGULAR_FILE : S_ISCHR(st.st_mode) ? FILETYPE_CHARACTER_DEVICE
                                                                                  : FILETYPE_UNKNOWN;
    u64 rights = (fd == 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE, none = 0;
    memset(p, 0, 24);
    p[0] = type;
    memcpy(p + 8, &rights, 8);
    memcpy(p + 16, &none, 8);
    return ERRNO_SUCCESS;
}

/* No preopened directories: wasi-libc asks from fd 3 up until BADF. */
u32 WASI(fd_prestat_get)(wasi_t *w, u32 fd, u32 prestat_ptr)
{
    (void)w; (void)fd; (void)prestat_ptr;
    return ERRNO_BADF;
}

u32 WASI(fd_prestat_dir_name)(wasi_t *w, u32 fd, u32 path_ptr, u32 path_len)
{
    (void)w; (void)fd; (void)path_ptr; (void)path_len;
    return ERRNO_BADF;
}

static int clock_of(u32 id, clockid_t *clock)
{
    static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                       CLOCK_THREAD_CPUTIME_ID};
    if (id >= sizeof clocks / sizeof clocks[0])
        return 0;
    *clock = clocks[id];
    return 1;
}

u32 WASI(clock_time_get)(wasi_t *w, u32 id, u64 precision, u32 time_ptr)
{
    clockid_t clock;
    struct timespec ts;
    (void)precision;
    if (!clock_of(id, &clock) || clock_gettime(clock, &ts) != 0)
        return ERRNO_INVAL;
    return put64(w, time_ptr, (u64)ts.tv_sec * 1000000000u + (u64)ts.tv_nsec) ? ERRNO_SUCCESS : ERRNO_FAULT;
}

u32 WASI(clock_res_get)(wasi_t *w, u32 id, u32 res_ptr)
{
    clockid_t clock;
    struct timespec ts;
    if (!clock_of(id, &clock) || clock_getres(clock, &ts) != 0)
        return ERRNO_INVAL;
    return put64(w, res_ptr, (u64)ts.tv_sec * 1000000000u + (u64)ts.tv_nsec) ? ERRNO_SUCCESS : ERRNO_FAULT;
}

u32 WASI(random_get)(wasi_t *w, u32 buf_ptr, u32 len)
{
    uint8_t *p = guest(w, buf_ptr, len);
    if (!p)
        return ERRNO_FAULT;
    for (u32 off = 0; off < len;) {
        ssize_t n = getrandom(p + off, len - off, 0);
        if (n < 0 && errno != EINTR)
            return ERRNO_IO;
        off += n > 0 ? (u32)n : 0;
    }
    return ERRNO_SUCCESS;
}

u32 WASI(sched_yield)(wasi_t *w)
{
    (void)w;
    return ERRNO_SUCCESS;
}

/* Unwinds the module through wasm2c's trap path; main.c sees `exited` and reports an exit, not a trap. */
void WASI(proc_exit)(wasi_t *w, u32 code)
{
    w->exited = 1;
    w->exit_code = code;
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

/* The rest of preview1: defined so that every WASI command links, answering NOSYS. */
#define STUB(name, ...) \
    u32 WASI(name)(wasi_t *w, __VA_ARGS__) { (void)w; return ERRNO_NOSYS; }

STUB(fd_advise, u32 fd, u64 offset, u64 len, u32 advice)
STUB(fd_allocate, u32 fd, u64 offset, u64 len)
STUB(fd_datasync, u32 fd)
STUB(fd_fdstat_set_flags, u32 fd, u32 flags)
STUB(fd_fdstat_set_rights, u32 fd, u64 base, u64 inheriting)
STUB(fd_filestat_get, u32 fd, u32 buf)
STUB(fd_filestat_set_size, u32 fd, u64 size)
STUB(fd_filestat_set_times, u32 fd, u64 atim, u64 mtim, u32 flags)
STUB(fd_pread, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nread)
STUB(fd_pwrite, u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nwritten)
STUB(fd_readdir, u32 fd, u32 buf, u32 buf_len, u64 cookie, u32 bufused)
STUB(fd_renumber, u32 fd, u32 to)
STUB(fd_sync, u32 fd)
STUB(path_create_directory, u32 fd, u32 path, u32 path_len)
STUB(path_filestat_get, u32 fd, u32 flags, u32 path, u32 path_len, u32 buf)
STUB(path_filestat_set_times, u32 fd, u32 flags, u32 path, u32 path_len, u64 atim, u64 mtim, u32 fst)
STUB(path_link, u32 old_fd, u32 old_flags, u32 old_path, u32 old_len, u32 new_fd, u32 new_path, u32 new_len)
STUB(path_open, u32 fd, u32 dirflags, u32 path, u32 path_len, u32 oflags, u64 base, u64 inheriting,
     u32 fdflags, u32 opened)
STUB(path_readlink, u32 fd, u32 path, u32 path_len, u32 buf, u32 buf_len, u32 bufused)
STUB(path_remove_directory, u32 fd, u32 path, u32 path_len)
STUB(path_rename, u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path, u32 new_len)
STUB(path_symlink, u32 old_path, u32 old_len, u32 fd, u32 new_path, u32 new_len)
STUB(path_unlink_file, u32 fd, u32 path, u32 path_len)
STUB(poll_oneoff, u32 in, u32 out, u32 nsubscriptions, u32 nevents)
STUB(proc_raise, u32 sig)
STUB(sock_accept, u32 fd, u32 flags, u32 opened)
STUB(sock_recv, u32 fd, u32 ri_data, u32 ri_data_len, u32 ri_flags, u32 ro_datalen, u32 ro_flags)
STUB(sock_send, u32 fd, u32 si_data, u32 si_data_len, u32 si_flags, u32 so_datalen)
STUB(sock_shutdown, u32 fd, u32 how)
