/* check.h - the one assertion and case layer every test uses (tests/support, target
 * tf_test_support). The fuzz harnesses keep their own abort-on-failure check: that is what a
 * fuzzer needs.
 *
 *   CHECK(c), CHECK_MSG(c, fmt, ...)   print file:line and what failed, count, go on
 *   CHECK_EQ_INT / CHECK_EQ_U / CHECK_STR / CHECK_HAS / CHECK_NEAR   the same, showing values
 *   REQUIRE(c), REQUIRE_MSG(c, fmt, ...), REQUIRE_EQ_INT, REQUIRE_NEAR   the same, then exit(1):
 *                                      setup the rest of the case depends on
 *   CHECK_DONE()                       the exit status so far: 0, or 1 after any failure
 *
 * A test program is a table of cases and `return CHECK_RUN(argc, argv, cases);`:
 *   prog --list          the case names, one a line (CMake registers each as a ctest test)
 *   prog CASE [ARGS...]  runs one case; check_arg(i) is the i-th of ARGS
 * A case returns 0, or a non-zero exit status for a failure it did not count with CHECK. A
 * case's name may carry extra ctest labels after a space: {"healthy_115200 slow", fn}.
 *
 * Thread-safe: the failure count is atomic, a report is one fprintf. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void check_report(bool fatal, const char *file, int line, const char *what);
void check_report_msg(bool fatal, const char *file, int line, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Counts a failure the caller has already described on stderr. */
void check_failed(void);
/* The number of failed checks so far. */
int check_failures(void);
/* 0 if nothing failed, else 1 (after printing how many). */
int check_done(void);

#define CHECK_ONE_(fatal, c)                                                                 \
    do {                                                                                     \
        if (!(c))                                                                            \
            check_report(fatal, __FILE__, __LINE__, #c);                                     \
    } while (0)
#define CHECK_ONE_MSG_(fatal, c, ...)                                                        \
    do {                                                                                     \
        if (!(c))                                                                            \
            check_report_msg(fatal, __FILE__, __LINE__, #c, __VA_ARGS__);                    \
    } while (0)
#define CHECK_EQ_INT_(fatal, a, b)                                                           \
    do {                                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                                  \
        if (a_ != b_)                                                                        \
            check_report_msg(fatal, __FILE__, __LINE__, #a " == " #b, "%lld, expected %lld", \
                             a_, b_);                                                        \
    } while (0)
#define CHECK_NEAR_(fatal, a, b, eps)                                                        \
    do {                                                                                     \
        double a_ = (a), b_ = (b);                                                           \
        if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                                         \
            check_report_msg(fatal, __FILE__, __LINE__, #a " ~ " #b, "%.6f, expected %.6f",  \
                             a_, b_);                                                        \
    } while (0)

#define CHECK(c) CHECK_ONE_(false, c)
#define CHECK_MSG(c, ...) CHECK_ONE_MSG_(false, c, __VA_ARGS__)
#define CHECK_EQ_INT(a, b) CHECK_EQ_INT_(false, a, b)
#define CHECK_NEAR(a, b, eps) CHECK_NEAR_(false, a, b, eps)
#define CHECK_EQ_U(a, b)                                                                     \
    do {                                                                                     \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);       \
        if (a_ != b_)                                                                        \
            check_report_msg(false, __FILE__, __LINE__, #a " == " #b, "0x%llx != 0x%llx",    \
                             a_, b_);                                                        \
    } while (0)
#define CHECK_STR(a, b)                                                                      \
    do {                                                                                     \
        const char *a_ = (a), *b_ = (b);                                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                               \
            check_report_msg(false, __FILE__, __LINE__, #a " == " #b, "\"%s\" != \"%s\"",    \
                             a_ ? a_ : "(null)", b_ ? b_ : "(null)");                        \
    } while (0)
/* `hay` must contain `needle`; shows both when not. */
#define CHECK_HAS(hay, needle)                                                               \
    do {                                                                                     \
        const char *h_ = (hay), *n_ = (needle);                                              \
        if (!h_ || !strstr(h_, n_))                                                          \
            check_report_msg(false, __FILE__, __LINE__, #hay " has " #needle,                \
                             "expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)");           \
    } while (0)

#define REQUIRE(c) CHECK_ONE_(true, c)
#define REQUIRE_MSG(c, ...) CHECK_ONE_MSG_(true, c, __VA_ARGS__)
#define REQUIRE_EQ_INT(a, b) CHECK_EQ_INT_(true, a, b)
#define REQUIRE_NEAR(a, b, eps) CHECK_NEAR_(true, a, b, eps)

#define CHECK_DONE() check_done()

/* --- cases ------------------------------------------------------------------------------ */

typedef struct check_case {
    const char *name; /* the case, then any extra ctest labels, space-separated */
    int (*run)(void);
} check_case;

/* Runs the case argv[1] names (see the top of this file). setup/teardown, when not NULL, run
 * around the case; teardown gets the case's exit status. Unknown case or no case: 2. */
int check_run(int argc, char **argv, const check_case *cases, size_t n, void (*setup)(void),
              void (*teardown)(int status));
#define CHECK_RUN(argc, argv, cases)                                                         \
    check_run(argc, argv, cases, sizeof(cases) / sizeof((cases)[0]), NULL, NULL)

/* The i-th argument after the case name (0-based), or NULL. */
const char *check_arg(int i);

/* Everything written to f so far, as a string the caller frees. */
char *check_read_file(FILE *f);

/* --- waiting ---------------------------------------------------------------------------- */

/* Monotonic milliseconds. */
long long check_now_ms(void);

/* Runs argv[0] with argv (NULL-terminated) and collects its stdout (with_stderr: and stderr)
 * into *out (malloc'd, NUL-terminated). alarm_s > 0 arms alarm() in the child, kept across
 * exec, so a hang ends as SIGALRM. Returns the exit code, 128 + the signal when killed. */
int check_capture(const char *const argv[], bool with_stderr, unsigned alarm_s, char **out);
/* Polls cond(ctx) every few milliseconds until it holds (true) or timeout_ms pass (false). */
bool check_wait_until(bool (*cond)(void *ctx), void *ctx, int timeout_ms);
/* The same, woken by the eventfd `fd` (its count is read) instead of every few milliseconds:
 * for state that announces its changes. */
bool check_wait_until_fd(bool (*cond)(void *ctx), void *ctx, int fd, int timeout_ms);

/* --- the database ----------------------------------------------------------------------- */

typedef struct check_sql_arg {
    enum { CHECK_SQL_INT, CHECK_SQL_TEXT } kind;
    long long i;
    const char *s;
} check_sql_arg;
#define SQL_INT(v) ((check_sql_arg){.kind = CHECK_SQL_INT, .i = (v)})
#define SQL_TEXT(v) ((check_sql_arg){.kind = CHECK_SQL_TEXT, .s = (v)})

/* The first column of the first row of `sql`, prepared on the database at `path` (read-only)
 * with args[0..n) bound to ?1..?n; -1 (and the reason on stderr) when there is no row. */
long long check_db_int_args(const char *path, const char *sql, int n, const check_sql_arg *args);
static inline long long check_db_int(const char *path, const char *sql)
{
    return check_db_int_args(path, sql, 0, NULL);
}
/* The same as text, malloc'd; NULL when there is no row. */
char *check_db_text_args(const char *path, const char *sql, int n, const check_sql_arg *args);
static inline char *check_db_text(const char *path, const char *sql)
{
    return check_db_text_args(path, sql, 0, NULL);
}
