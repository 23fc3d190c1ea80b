/* ctl_server.c - the station's side of `trayflash ctl` (ctl.h): lot, operator, the answers
 * to the bays' questions (on_already_passed = ask), status. One client at a time: a request
 * is a few short lines, read with a timeout so a client that never finishes cannot hold the
 * socket for long. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl.h"
#include "station.h"

#define CTL_REQUEST_MAX 2048
#define CTL_ANSWERS_MAX 16 /* answers in one request: a scanner sends one */
#define CTL_STATUS_QUESTIONS 32 /* questions listed by status (the reply stays a few KiB) */
#define CTL_READ_TIMEOUT_S 2

struct ctl_server {
    station *st;
    int listen_fd, stop_fd;
    pthread_t thread;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

int ctl_socket_path(const char *db_path, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t room = sizeof ((struct sockaddr_un *)0)->sun_path;
    int n = snprintf(out, outlen, "%s.ctl", db_path);
    if (n < 0 || (size_t)n >= outlen || (size_t)n >= room) {
        snprintf(err, errlen, "%s.ctl: the control socket's path is longer than a unix socket "
                 "takes (%zu bytes): use a shorter database path", db_path, room - 1);
        return -1;
    }
    return 0;
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    for (ssize_t off = 0, w; off < n; off += w)
        if ((w = send(fd, line + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
            return; /* the client left: nothing to tell */
}

/* One request's wishes: a lot and an operator given together take effect together (no job may
 * start between the two with one new and one old). */
typedef struct ctl_answer {
    int bay;             /* 0: the line did not parse (bad words in `bad`) */
    bool reflash;
    const char *bad;
} ctl_answer;

typedef struct ctl_request {
    const char *lot, *operator_id;
    bool status, unknown;
    ctl_answer answers[CTL_ANSWERS_MAX];
    int n_answers;
} ctl_request;

/* "answer BAY yes|no": a bay number and a word, nothing else. */
static void parse_answer(ctl_request *q, char *args)
{
    if (q->n_answers >= CTL_ANSWERS_MAX) {
        q->unknown = true;
        return;
    }
    ctl_answer *a = &q->answers[q->n_answers++];
    char *end;
    long bay = strtol(args, &end, 10);
    if (end == args || *end != ' ' || bay < 1 || bay > 9999) {
        a->bad = "answer: a bay number (1, 2, ...) first";
        return;
    }
    const char *word = end + 1;
    if (!strcmp(word, "yes") || !strcmp(word, "y"))
        a->reflash = true;
    else if (strcmp(word, "no") && strcmp(word, "n")) {
        a->bad = "answer: yes or no after the bay number";
        return;
    }
    a->bay = (int)bay;
}

static void parse_line(ctl_request *q, char *line)
{
    if (!strncmp(line, "answer ", 7)) {
        parse_answer(q, line + 7);
        return;
    }
    if (!strncmp(line, "lot ", 4) || !strcmp(line, "lot"))
        q->lot = line[3] ? line + 4 : "";
    else if (!strncmp(line, "operator ", 9) || !strcmp(line, "operator"))
        q->operator_id = line[8] ? line + 9 : "";
    else if (!strcmp(line, "status"))
        q->status = true;
    else
        q->unknown = true;
}

/* The lot line, then one line per bay whose question waits for an answer. */
static void reply_status(ctl_server *c, int fd)
{
    char lot[64], op[64];
    bool waiting;
    station_get_lot(c->st, lot, op, &waiting);
    station_question qs[CTL_STATUS_QUESTIONS];
    int n = station_questions(c->st, qs, CTL_STATUS_QUESTIONS);
    int shown = n < CTL_STATUS_QUESTIONS ? n : CTL_STATUS_QUESTIONS;
    char asking[CTL_STATUS_QUESTIONS * 5 + 8] = "none";
    for (int i = 0, len = 0; i < shown; i++)
        len += snprintf(asking + len, sizeof asking - (size_t)len, "%s%d", i ? "," : "",
                        qs[i].bay);
    reply(fd, "ok lot=%s operator=%s waiting=%s asking=%s%s", lot, op, waiting ? "yes" : "no",
          asking, n > shown ? ",..." : "");
    for (int i = 0; i < shown; i++)
        reply(fd, "ok bay %02d asks: %s %s (waited %.0f s, skips in %.0f s)", qs[i].bay,
              qs[i].mac, qs[i].text, qs[i].waited_s, qs[i].left_s);
}

static void answer(ctl_server *c, int fd, const ctl_request *q)
{
    char msg[300];
    if (q->unknown)
        reply(fd, "error unknown request (lot VALUE, operator VALUE, answer BAY yes|no, status)");
    if (q->lot || q->operator_id) {
        if (station_set_lot(c->st, q->lot, q->operator_id, msg, sizeof msg) < 0)
            reply(fd, "error %s", msg);
        else
            reply(fd, "ok %s", msg);
    }
    for (int i = 0; i < q->n_answers; i++) {
        const ctl_answer *a = &q->answers[i];
        if (!a->bay)
            reply(fd, "error %s", a->bad);
        else if (station_answer(c->st, a->bay, a->reflash, "trayflash ctl", msg, sizeof msg) < 0)
            reply(fd, "error %s", msg);
        else
            reply(fd, "ok %s", msg);
    }
    if (q->status)
        reply_status(c, fd);
}

static bool same_user(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return false;
    return cr.uid == geteuid() || cr.uid == 0;
}

static void serve(ctl_server *c, int fd)
{
    if (!same_user(fd)) {
        reply(fd, "error only the station's own user may control it");
        return;
    }
    struct timeval tv = {.tv_sec = CTL_READ_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[CTL_REQUEST_MAX + 1];
    size_t len = 0;
    ssize_t r;
    while (len < CTL_REQUEST_MAX && (r = recv(fd, buf + len, CTL_REQUEST_MAX - len, 0)) > 0)
        len += (size_t)r;
    buf[len] = 0;
    if (len == CTL_REQUEST_MAX) {
        reply(fd, "error request longer than %d bytes", CTL_REQUEST_MAX);
        return;
    }
    ctl_request q = {0};
    for (char *line = buf, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[n - 1] = 0;
        if (*line)
            parse_line(&q, line);
    }
    answer(c, fd, &q);
}

static void *ctl_main(void *arg)
{
    ctl_server *c = arg;
    for (;;) {
        struct pollfd p[2] = {{c->listen_fd, POLLIN, 0}, {c->stop_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve(c, fd);
        close(fd);
    }
    return NULL;
}

ctl_server *ctl_server_start(station *st, const char *path, char *err, size_t errlen)
{
    ctl_server *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->st = st;
    c->listen_fd = c->stop_fd = -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: too long for a unix socket", path);
        goto fail;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path); /* a dead station's: we hold the database lock */
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->listen_fd < 0 || c->stop_fd < 0 ||
        bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "%s: control socket: %s", path, strerror(errno));
        goto fail;
    }
    /* owner only; the uid check in serve() covers the moment before this chmod */
    if (chmod(path, S_IRUSR | S_IWUSR) < 0 || listen(c->listen_fd, 4) < 0) {
        snprintf(err, errlen, "%s: control socket: %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    int rc = pthread_create(&c->thread, NULL, ctl_main, c);
    if (rc) {
        snprintf(err, errlen, "control socket thread: %s", strerror(rc));
        unlink(path);
        goto fail;
    }
    return c;
fail:
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->stop_fd >= 0)
        close(c->stop_fd);
    free(c);
    return NULL;
}

void ctl_server_stop(ctl_server *c)
{
    if (!c)
        return;
    uint64_t one = 1;
    if (write(c->stop_fd, &one, sizeof one) < 0) {
        /* an eventfd write fails only on overflow: the thread is being told already */
    }
    pthread_join(c->thread, NULL);
    close(c->listen_fd);
    close(c->stop_fd);
    unlink(c->path);
    free(c);
}
