/* robust_util.h - helpers for the station robustness tests (crash, poll, config, pin):
 * temporary folders, waiting on the station's view through its change eventfd, running the trayflash program as a child and reading its lines
 * with a deadline. Every wait here blocks on an fd (poll) up to a deadline; none sleeps. */
#pragma once
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "station.h"

static inline double ru_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void ru_mkdtemp(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/tf-robust-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void ru_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static inline void ru_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        exit(2);
    }
}

static inline void ru_copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) {
        fprintf(stderr, "copy %s -> %s: %s\n", from, to, strerror(errno));
        exit(2);
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n)
            exit(2);
    fclose(a);
    if (fclose(b) != 0)
        exit(2);
}

typedef struct ru_view_wait {
    station *st;
    station_view *v;
    bool (*ok)(const station_view *, void *);
    void *arg;
} ru_view_wait;

static inline bool ru_view_holds(void *ctx)
{
    ru_view_wait *w = ctx;
    station_snapshot(w->st, w->v);
    return w->ok(w->v, w->arg);
}

/* Waits until `ok(view, arg)` holds for a snapshot, woken by the view's change fd; false
 * after `timeout_s`. The view is large: the caller passes the buffer. */
static inline bool ru_wait_view(station *st, station_view *v, bool (*ok)(const station_view *, void *),
                                void *arg, double timeout_s)
{
    ru_view_wait w = {st, v, ok, arg};
    return check_wait_until_fd(ru_view_holds, &w, station_get_actions(st).change_fd,
                               (int)(timeout_s * 1000));
}

/* A child program with stdout and stderr on one pipe, read line by line. */
typedef struct ru_child {
    pid_t pid;
    int fd;
    char buf[1 << 16];
    size_t len;
    bool eof;
} ru_child;

static inline void ru_spawn(ru_child *c, const char *const argv[], const char *debug_env)
{
    int p[2];
    if (pipe(p) < 0)
        exit(2);
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0)
        exit(2);
    if (c->pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        if (debug_env)
            setenv("TRAYFLASH_DEBUG", debug_env, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    c->fd = p[0];
    c->len = 0;
    c->eof = false;
}

/* Next whole line into `line` (without '\n'): 1, 0 on end of output, -1 on timeout. */
static inline int ru_next_line(ru_child *c, char *line, size_t cap, double deadline)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            snprintf(line, cap, "%.*s", (int)(n < cap ? n : cap - 1), c->buf);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 1;
        }
        if (c->eof || c->len == sizeof c->buf - 1) {
            if (!c->len)
                return 0;
            snprintf(line, cap, "%.*s", (int)c->len, c->buf);
            c->len = 0;
            return 1;
        }
        double left = deadline - ru_mono();
        if (left <= 0)
            return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (r > 0)
            c->len += (size_t)r;
        else if (r == 0 || errno != EINTR)
            c->eof = true;
    }
}

/* Exit code (128 + signal when killed). */
static inline int ru_reap(ru_child *c)
{
    close(c->fd);
    int status;
    if (waitpid(c->pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
