/* transport_check.h - small helpers shared by the transport tests: a pty
 * pair, fd I/O with deadlines, waiting until a thread is blocked (the checks and the case
 * runner are tests/support/check.h; every case is its own ctest entry: a fresh pty, a fresh
 * testbed). */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

/* A pty pair: the test holds the master (the chip's end); *slave names the other end. */
static inline int check_pty_open(char *slave, size_t slave_len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE_MSG(m >= 0, "posix_openpt: %s", strerror(errno));
    REQUIRE_MSG(grantpt(m) == 0 && unlockpt(m) == 0, "grantpt/unlockpt: %s", strerror(errno));
    REQUIRE_MSG(ptsname_r(m, slave, slave_len) == 0, "ptsname_r: %s", strerror(errno));
    return m;
}

/* Reads exactly n bytes from fd or fails the test after timeout_ms. */
static inline void check_read_exact(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
    long long deadline = check_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < n) {
        long long left = deadline - check_now_ms();
        REQUIRE_MSG(left > 0, "only %zu of %zu bytes arrived on fd %d within %d ms", got, n, fd, timeout_ms);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r <= 0)
            continue;
        ssize_t k = read(fd, buf + got, n - got);
        REQUIRE_MSG(k > 0 || (k < 0 && (errno == EAGAIN || errno == EINTR)), "read fd %d: %zd (%s)", fd, k,
              strerror(errno));
        if (k > 0)
            got += (size_t)k;
    }
}

static inline void check_write_all(int fd, const uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, buf + done, n - done);
        REQUIRE_MSG(k > 0 || (k < 0 && errno == EINTR), "write fd %d: %s", fd, strerror(errno));
        if (k > 0)
            done += (size_t)k;
    }
}

/* Every byte value, twice, with the ones a cooked tty would eat or change up front:
 * XON/XOFF (0x11/0x13), CR/LF, ^C, ^D, ^Z, backspace, DEL, 0xff. */
static inline size_t check_binary_pattern(uint8_t *buf, size_t max)
{
    static const uint8_t tricky[] = {0x11, 0x13, 0x0d, 0x0a, 0x03, 0x04, 0x1a, 0x08, 0x7f, 0xff,
                                     0x00, 0x11, 0x11, 0x13, 0x13, 0x0d, 0x0a, 0x0a, 0x0d};
    size_t n = 0;
    for (size_t i = 0; i < sizeof tricky && n < max; i++)
        buf[n++] = tricky[i];
    for (int round = 0; round < 2; round++)
        for (int v = 0; v < 256 && n < max; v++)
            buf[n++] = (uint8_t)v;
    return n;
}

static inline pid_t check_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Whether thread *(pid_t *)tid of this process is blocked (state S in /proc). */
static inline bool check_thread_blocked(void *tid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)*(pid_t *)tid);
    FILE *f = fopen(path, "r");
    REQUIRE_MSG(f, "open %s: %s", path, strerror(errno));
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *close_paren = strrchr(stat, ')'); /* "tid (comm) S ..." */
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'S';
}

/* Waits until thread tid is blocked, i.e. inside the poll() of the call under test. */
static inline void check_wait_blocked(pid_t tid, int timeout_ms)
{
    REQUIRE_MSG(check_wait_until(check_thread_blocked, &tid, timeout_ms),
                "thread %d never blocked within %d ms", (int)tid, timeout_ms);
}
