/* check.c - the test layer of check.h: reports and the failure count, the case runner, the
 * deadline poll and the database reader. */
#include "check.h"
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/wait.h>

static atomic_int failures;
static char **case_args; /* argv after the case name; set once by check_run */
static int n_case_args;

static void report_end(bool fatal)
{
    atomic_fetch_add(&failures, 1);
    if (fatal)
        exit(1);
}

void check_report(bool fatal, const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, fatal ? "REQUIRE" : "CHECK", what);
    report_end(fatal);
}

void check_report_msg(bool fatal, const char *file, int line, const char *what, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s:%d: %s failed: %s: %s\n", file, line, fatal ? "REQUIRE" : "CHECK", what,
            msg);
    report_end(fatal);
}

void check_failed(void)
{
    report_end(false);
}

int check_failures(void)
{
    return atomic_load(&failures);
}

int check_done(void)
{
    int n = check_failures();
    if (n)
        fprintf(stderr, "%d check(s) failed\n", n);
    return n ? 1 : 0;
}

static void usage(const char *prog, const check_case *cases, size_t n)
{
    fprintf(stderr, "usage: %s --list | CASE [ARGS...]\ncases:", prog);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %.*s", (int)strcspn(cases[i].name, " "), cases[i].name);
    fputc('\n', stderr);
}

int check_run(int argc, char **argv, const check_case *cases, size_t n, void (*setup)(void),
              void (*teardown)(int status))
{
    if (argc < 2) {
        usage(argv[0], cases, n);
        return 2;
    }
    if (strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(cases[i].name, " ");
        if (strlen(argv[1]) != len || strncmp(cases[i].name, argv[1], len) != 0)
            continue;
        case_args = argv + 2;
        n_case_args = argc - 2;
        if (setup)
            setup();
        int status = cases[i].run();
        if (status == 0)
            status = check_done();
        if (teardown)
            teardown(status);
        if (status == 0)
            printf("%s: ok\n", argv[1]);
        return status;
    }
    fprintf(stderr, "%s: unknown case %s\n", argv[0], argv[1]);
    usage(argv[0], cases, n);
    return 2;
}

const char *check_arg(int i)
{
    return i >= 0 && i < n_case_args ? case_args[i] : NULL;
}

char *check_read_file(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(f);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        buf[0] = 0;
    return buf;
}

long long check_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool check_wait_until_fd(bool (*cond)(void *ctx), void *ctx, int fd, int timeout_ms)
{
    long long deadline = check_now_ms() + timeout_ms;
    for (;;) {
        if (cond(ctx))
            return true;
        long long left = deadline - check_now_ms();
        if (left <= 0)
            return false;
        if (fd < 0) {
            poll(NULL, 0, 5); /* the interval of a loop with a deadline, not a synchronisation */
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left + 1) > 0 && (p.revents & POLLIN)) {
            uint64_t n;
            if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN && errno != EINTR)
                return false;
        }
    }
}

bool check_wait_until(bool (*cond)(void *ctx), void *ctx, int timeout_ms)
{
    return check_wait_until_fd(cond, ctx, -1, timeout_ms);
}

/* The first row of sql with args bound, or NULL (reason on stderr). *d is to be closed. */
static sqlite3_stmt *first_row(const char *path, const char *sql, int n, const check_sql_arg *args,
                               sqlite3 **d)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_open_v2(path, d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "sql: %s: %s\n", path, *d ? sqlite3_errmsg(*d) : "no handle");
        return NULL;
    }
    sqlite3_busy_timeout(*d, 2000); /* a running station's writer may hold the lock for a batch */
    if (sqlite3_prepare_v2(*d, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "sql: %s: %s: %s\n", path, sql, sqlite3_errmsg(*d));
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (args[i].kind == CHECK_SQL_INT)
            sqlite3_bind_int64(s, i + 1, args[i].i);
        else
            sqlite3_bind_text(s, i + 1, args[i].s, -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

long long check_db_int_args(const char *path, const char *sql, int n, const check_sql_arg *args)
{
    sqlite3 *d = NULL;
    sqlite3_stmt *s = first_row(path, sql, n, args, &d);
    long long v = -1;
    if (s) {
        v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(d);
    return v;
}

char *check_db_text_args(const char *path, const char *sql, int n, const check_sql_arg *args)
{
    sqlite3 *d = NULL;
    sqlite3_stmt *s = first_row(path, sql, n, args, &d);
    char *v = NULL;
    if (s) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        v = t ? strdup((const char *)t) : NULL;
        sqlite3_finalize(s);
    }
    sqlite3_close(d);
    return v;
}

int check_capture(const char *const argv[], bool with_stderr, unsigned alarm_s, char **out)
{
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        if (with_stderr)
            dup2(p[1], STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        if (alarm_s)
            alarm(alarm_s);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) { /* blocks until the child (and whoever holds its stdout) ends */
        ssize_t r = read(p[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
