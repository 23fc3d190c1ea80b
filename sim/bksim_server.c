/* bksim_server.c - the pty server: one thread, one epoll loop, one timerfd per module.
 *
 * Each module owns a pty master; clients open the slave through DIR/simI. Nothing here
 * sleeps or spins: bytes from a client wake the loop (EPOLLIN), replies wake it through the
 * module's absolute CLOCK_MONOTONIC timerfd, and a pty nobody holds open (the master sees
 * POLLHUP, level-triggered) is taken out of the epoll set and looked at by one coarse timer
 * until a client opens it - that open is the module's power-up.
 * Locking: one mutex guards every module; the loop holds it while it handles events, the
 * public calls (set_lines, read_flash, attach) take it from other threads. */
#include "bksim.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define COARSE_NS 10000000 /* how often hung-up ptys are checked for a new client */
/* A hang-up flushes what the slave has not read yet: the last reply before a yank gets this
 * long (or until the client's next request) to be read, as a USB unplug after the reply. */
#define YANK_GRACE_NS 100000000

enum { EV_MASTER = 1, EV_TIMER, EV_WAKE, EV_COARSE, EV_SIGNAL };
#define EV_DATA(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

typedef struct sim_port {
    bksim_module *m;
    int master_fd;
    bool own_fd;             /* false: attached master, the harness closes it */
    int timer_fd;
    int64_t armed_real_ns;   /* what timer_fd is set to (0 = disarmed) */
    int64_t yank_real_ns;    /* when the adapter vanishes (0 = not scheduled) */
    bool hung, gone, want_out, rts;
    bool unpowered;          /* bksim_set_power(off): the supply is away */
    bool ever_opened;        /* a client has opened the slave at least once */
    char link[PATH_MAX];
    char pty[64];
    uint8_t *pend;           /* bytes the master would not take yet (EAGAIN) */
    size_t pend_len, pend_cap;
} sim_port;

struct bksim_server {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    pthread_t th;
    bool thread_started, loop_done, stop;
    int stop_signal;
    int epfd, wake_fd, coarse_fd, sig_fd;
    bool coarse_armed;
    sim_port **ports;
    int count, cap;
    double scale;
    int64_t t0;
    bksim_timing timing;
    uint64_t seed;
    uint8_t buf[READ_CHUNK];
};

/* ---------------------------------------------------------------- time */
static int64_t real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int64_t model_now(const bksim_server *s)
{
    int64_t r = real_now() - s->t0;
    return s->scale > 0 ? (int64_t)((double)r / s->scale) : r;
}
static int64_t model_to_real(const bksim_server *s, int64_t m)
{
    return s->t0 + (s->scale > 0 ? (int64_t)((double)m * s->scale) + 1 : m);
}

/* ---------------------------------------------------------------- baud of the slave */
/* The kernel's termios2 (struct termios from <termios.h> has no speed fields we can trust
 * for non-standard rates); declared under our own name to avoid clashing with libc headers. */
struct bksim_termios2 {
    tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
    cc_t c_line;
    cc_t c_cc[19];
    speed_t c_ispeed, c_ospeed;
};
#define BKSIM_TCGETS2 _IOR('T', 0x2A, struct bksim_termios2)

static uint32_t host_baud(int fd)
{
    struct bksim_termios2 t2;
    if (ioctl(fd, BKSIM_TCGETS2, &t2) == 0 && t2.c_ospeed)
        return t2.c_ospeed;
    return 0; /* unknown: every byte is garbage to the chip, as with an unplugged line */
}

/* ---------------------------------------------------------------- ports */
static void arm_timer(bksim_server *s, sim_port *p)
{
    int64_t due_model = 0, when = 0;
    if (!p->gone && bksim_module_next_due(p->m, &due_model))
        when = model_to_real(s, due_model);
    if (!p->gone && p->yank_real_ns && (!when || p->yank_real_ns < when))
        when = p->yank_real_ns;
    if (when == p->armed_real_ns)
        return;
    struct itimerspec its = {0};
    if (when) {
        its.it_value.tv_sec = when / 1000000000;
        its.it_value.tv_nsec = when % 1000000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    p->armed_real_ns = when;
}

static void arm_coarse(bksim_server *s, bool on)
{
    if (on == s->coarse_armed)
        return;
    struct itimerspec its = {0};
    if (on) {
        its.it_value.tv_nsec = COARSE_NS;
        its.it_interval.tv_nsec = COARSE_NS;
    }
    timerfd_settime(s->coarse_fd, 0, &its, NULL);
    s->coarse_armed = on;
}

static void set_master_events(bksim_server *s, sim_port *p, int idx)
{
    struct epoll_event ev = {.events = EPOLLIN | (p->want_out ? EPOLLOUT : 0), .data.u64 = EV_DATA(EV_MASTER, idx)};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, p->master_fd, &ev);
}

/* No client holds the slave: stop watching the master (its HUP is level-triggered). */
static void port_hang(bksim_server *s, sim_port *p, int idx)
{
    if (p->hung || p->gone)
        return;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->master_fd, NULL);
    p->hung = true;
    p->want_out = false;
    p->pend_len = 0;
    bksim_module_set_host(p->m, false, model_now(s));
    arm_coarse(s, true);
}

/* A client opened the slave: the module powers up (the only reset a plain pty can give),
 * unless it is configured as a fixture where an open resets nothing: then only the first open
 * (the module placed in the socket) powers it up, and later opens find it where it was. */
static void port_unhang(bksim_server *s, sim_port *p, int idx)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_MASTER, idx)};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->master_fd, &ev) != 0)
        return;
    p->hung = false;
    int64_t now = model_now(s);
    const bksim_module_config *mc = bksim_module_cfg(p->m);
    bool keeps = mc->open_keeps_state || mc->running_app;
    if (!p->rts && !p->unpowered && (!keeps || !p->ever_opened))
        bksim_module_power_up(p->m, now);
    p->ever_opened = true;
    bksim_module_set_host(p->m, true, now);
}

/* The adapter vanishes: the client sees a hang-up (read 0 / EIO) like a USB unplug. */
static void port_yank(bksim_server *s, sim_port *p)
{
    if (p->gone)
        return;
    if (!p->hung)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->master_fd, NULL);
    if (p->own_fd)
        close(p->master_fd);
    p->master_fd = -1;
    if (p->link[0])
        unlink(p->link);
    p->gone = true;
    p->hung = false;
    arm_timer(s, p);
}

static bool pend_append(sim_port *p, const uint8_t *b, size_t n)
{
    if (p->pend_len + n > p->pend_cap) {
        size_t ncap = (p->pend_len + n) * 2;
        uint8_t *np = realloc(p->pend, ncap);
        if (!np)
            return false;
        p->pend = np;
        p->pend_cap = ncap;
    }
    memcpy(p->pend + p->pend_len, b, n);
    p->pend_len += n;
    return true;
}

static void pend_flush(bksim_server *s, sim_port *p, int idx)
{
    size_t off = 0;
    while (off < p->pend_len) {
        ssize_t w = write(p->master_fd, p->pend + off, p->pend_len - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN) /* the pty is going away: the bytes are lost on the wire */
            off = p->pend_len;
        break;
    }
    memmove(p->pend, p->pend + off, p->pend_len - off);
    p->pend_len -= off;
    bool want = p->pend_len > 0;
    if (want != p->want_out) {
        p->want_out = want;
        set_master_events(s, p, idx);
    }
}

/* Hand the host what is due, then re-arm the module's timer. */
static void port_service(bksim_server *s, sim_port *p, int idx)
{
    if (p->gone)
        return;
    int64_t now = model_now(s);
    int64_t due;
    if (bksim_module_next_due(p->m, &due) && due <= now) {
        uint32_t baud = p->hung ? 0 : host_baud(p->master_fd);
        size_t n;
        while ((n = bksim_module_tx(p->m, now, baud, s->buf, sizeof s->buf)) > 0)
            if (!p->hung)
                pend_append(p, s->buf, n);
        if (!p->hung && p->pend_len)
            pend_flush(s, p, idx);
    }
    if (bksim_module_yanked(p->m) && bksim_module_pending(p->m) == 0 && p->pend_len == 0) {
        int64_t rn = real_now();
        if (!p->yank_real_ns)
            p->yank_real_ns = rn + YANK_GRACE_NS;
        if (rn >= p->yank_real_ns || p->hung) {
            port_yank(s, p);
            return;
        }
    }
    arm_timer(s, p);
}

static void port_readable(bksim_server *s, sim_port *p, int idx, uint32_t events)
{
    if (events & EPOLLIN) {
        ssize_t n = read(p->master_fd, s->buf, sizeof s->buf);
        if (n > 0 && p->yank_real_ns) {
            port_yank(s, p); /* the client read the last reply and talks on: the adapter is gone */
            return;
        }
        if (n > 0) {
            bksim_module_rx(p->m, s->buf, (size_t)n, host_baud(p->master_fd), model_now(s));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            port_hang(s, p, idx);
            return;
        }
    } else if (events & (EPOLLHUP | EPOLLERR)) {
        port_hang(s, p, idx);
        return;
    }
    if ((events & EPOLLOUT) && p->pend_len)
        pend_flush(s, p, idx);
}

static void coarse_check(bksim_server *s)
{
    uint64_t ticks;
    if (read(s->coarse_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return;
    struct pollfd pfd[64];
    int idx[64];
    bool any_hung = false;
    for (int base = 0; base < s->count; base += 64) {
        int n = 0;
        for (int i = base; i < s->count && i < base + 64; i++)
            if (s->ports[i]->hung && !s->ports[i]->gone) {
                pfd[n] = (struct pollfd){.fd = s->ports[i]->master_fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (n == 0 || poll(pfd, (nfds_t)n, 0) < 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (pfd[k].revents & POLLHUP) {
                any_hung = true;
                continue;
            }
            sim_port *p = s->ports[idx[k]];
            port_unhang(s, p, idx[k]);
            if (p->hung)
                any_hung = true;
            port_service(s, p, idx[k]);
        }
    }
    if (!any_hung)
        arm_coarse(s, false);
}

/* ---------------------------------------------------------------- the loop */
static void *loop_main(void *arg)
{
    bksim_server *s = arg;
    struct epoll_event evs[64];
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        int n = epoll_wait(s->epfd, evs, 64, -1);
        pthread_mutex_lock(&s->mu);
        if (n < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n && !s->stop; k++) {
            uint32_t kind = (uint32_t)(evs[k].data.u64 >> 32);
            int idx = (int)(uint32_t)evs[k].data.u64;
            uint64_t v;
            if (kind == EV_WAKE) {
                if (read(s->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                    break;
                for (int i = 0; i < s->count; i++)
                    port_service(s, s->ports[i], i);
            } else if (kind == EV_COARSE) {
                coarse_check(s);
            } else if (kind == EV_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                    s->stop_signal = (int)si.ssi_signo;
                    s->stop = true;
                }
            } else if (idx >= 0 && idx < s->count) {
                sim_port *p = s->ports[idx];
                if (p->gone)
                    continue;
                if (kind == EV_TIMER) {
                    if (read(p->timer_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                        continue;
                    p->armed_real_ns = 0;
                } else if (kind == EV_MASTER && !p->hung) {
                    port_readable(s, p, idx, evs[k].events);
                }
                port_service(s, p, idx);
            }
        }
    }
    s->loop_done = true;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---------------------------------------------------------------- setup */
static sim_port *port_new(bksim_server *s, const bksim_module_config *mc, int idx, char *err, size_t errlen)
{
    sim_port *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->master_fd = -1;
    p->m = bksim_module_new(mc, &s->timing, s->seed, idx, s->scale, err, errlen);
    p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!p->m || p->timer_fd < 0) {
        if (p->m && p->timer_fd < 0)
            snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
        bksim_module_free(p->m);
        if (p->timer_fd >= 0)
            close(p->timer_fd);
        free(p);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_TIMER, idx)};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->timer_fd, &ev);
    return p;
}

static void port_free(bksim_server *s, sim_port *p)
{
    if (!p)
        return;
    if (!p->gone) {
        if (p->own_fd && p->master_fd >= 0)
            close(p->master_fd);
        if (p->link[0])
            unlink(p->link);
    }
    close(p->timer_fd);
    bksim_module_free(p->m);
    free(p->pend);
    free(p);
}

static bool ports_grow(bksim_server *s)
{
    if (s->count < s->cap)
        return true;
    int ncap = s->cap ? s->cap * 2 : 8;
    sim_port **np = realloc(s->ports, (size_t)ncap * sizeof *np);
    if (!np)
        return false;
    s->ports = np;
    s->cap = ncap;
    return true;
}

static bool open_pty(sim_port *p, const char *link_dir, int idx, char *err, size_t errlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || grantpt(fd) || unlockpt(fd) || ptsname_r(fd, p->pty, sizeof p->pty)) {
        snprintf(err, errlen, "module %d: cannot create a pty: %s", idx, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    /* raw 8N1 at 115200 from the master: termios calls on a master act on the slave */
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetspeed(&t, B115200);
        tcsetattr(fd, TCSANOW, &t);
    }
    /* A master whose slave was never opened reports no POLLHUP; one open and close puts it
     * in the hung-up state, so the first client's open is seen as the power-up. */
    int sfd = open(p->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (sfd >= 0)
        close(sfd);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    p->master_fd = fd;
    p->own_fd = true;
    if (link_dir) {
        snprintf(p->link, sizeof p->link, "%s/sim%d", link_dir, idx);
        struct stat st;
        if (lstat(p->link, &st) == 0) {
            if (!S_ISLNK(st.st_mode)) {
                snprintf(err, errlen, "%s exists and is not a symlink; not replacing it", p->link);
                p->link[0] = 0;
                return false;
            }
            unlink(p->link);
        }
        if (symlink(p->pty, p->link) != 0) {
            snprintf(err, errlen, "symlink %s -> %s: %s", p->link, p->pty, strerror(errno));
            p->link[0] = 0;
            return false;
        }
    }
    return true;
}

static void server_free(bksim_server *s)
{
    for (int i = 0; i < s->count; i++)
        port_free(s, s->ports[i]);
    free(s->ports);
    if (s->epfd >= 0) close(s->epfd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    if (s->coarse_fd >= 0) close(s->coarse_fd);
    if (s->sig_fd >= 0) close(s->sig_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->done_cv);
    free(s);
}

static void wake(bksim_server *s)
{
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0) {
        /* the counter is saturated: the loop is awake anyway */
    }
}

bksim_server *bksim_start(const bksim_config *cfg, char *err, size_t errlen)
{
    if (cfg->count < 0 || cfg->count > 4096) {
        snprintf(err, errlen, "count %d: must be 0..4096", cfg->count);
        return NULL;
    }
    if (!(cfg->time_scale >= 0)) {
        snprintf(err, errlen, "time scale %g: must be >= 0", cfg->time_scale);
        return NULL;
    }
    if (cfg->link_dir) {
        /* The link folder is made if missing (its parent must exist), as a tray of links is
         * usually a throw-away folder under /tmp. */
        struct stat st;
        if (stat(cfg->link_dir, &st) != 0 && mkdir(cfg->link_dir, 0755) != 0) {
            snprintf(err, errlen, "link dir %s: cannot create: %s", cfg->link_dir, strerror(errno));
            return NULL;
        }
        if (stat(cfg->link_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "link dir %s: not a directory", cfg->link_dir);
            return NULL;
        }
    }
    bksim_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->wake_fd = s->coarse_fd = s->sig_fd = -1;
    s->scale = cfg->time_scale;
    s->seed = cfg->seed;
    if (cfg->timing)
        s->timing = *cfg->timing;
    else
        bksim_timing_typical(&s->timing);
    s->t0 = real_now();
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->coarse_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->epfd < 0 || s->wake_fd < 0 || s->coarse_fd < 0) {
        snprintf(err, errlen, "epoll/eventfd/timerfd: %s", strerror(errno));
        server_free(s);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_WAKE, 0)};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev);
    ev.data.u64 = EV_DATA(EV_COARSE, 0);
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->coarse_fd, &ev);
    if (cfg->stop_on_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sig_fd < 0) {
            snprintf(err, errlen, "signalfd: %s", strerror(errno));
            server_free(s);
            return NULL;
        }
        ev.data.u64 = EV_DATA(EV_SIGNAL, 0);
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sig_fd, &ev);
    }
    for (int i = 0; i < cfg->count; i++) {
        bksim_module_config def;
        bksim_module_config_default(&def);
        const bksim_module_config *mc = cfg->modules ? &cfg->modules[i] : &def;
        if (!ports_grow(s)) {
            snprintf(err, errlen, "out of memory");
            server_free(s);
            return NULL;
        }
        sim_port *p = port_new(s, mc, i, err, errlen);
        if (!p) {
            server_free(s);
            return NULL;
        }
        s->ports[s->count++] = p;
        if (!open_pty(p, cfg->link_dir, i, err, errlen)) {
            server_free(s);
            return NULL;
        }
        /* nobody holds the slave yet: the module waits, unpowered, for its first client */
        p->hung = true;
        bksim_module_set_host(p->m, false, 0);
    }
    if (s->count)
        arm_coarse(s, true);
    if (pthread_create(&s->th, NULL, loop_main, s) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        server_free(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

int bksim_wait(bksim_server *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->loop_done)
        pthread_cond_wait(&s->done_cv, &s->mu);
    int sig = s->stop_signal;
    pthread_mutex_unlock(&s->mu);
    return sig;
}

void bksim_stop(bksim_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    if (s->thread_started)
        pthread_join(s->th, NULL);
    server_free(s);
}

/* The ports array may be reallocated by bksim_attach_master on another thread: public readers
 * take the lock for the array; a port itself lives until bksim_stop and its names never change. */
static pthread_mutex_t *server_lock(const bksim_server *s)
{
    return (pthread_mutex_t *)&s->mu;
}

int bksim_count(const bksim_server *s)
{
    pthread_mutex_lock(server_lock(s));
    int n = s->count;
    pthread_mutex_unlock(server_lock(s));
    return n;
}

static sim_port *port_at(const bksim_server *s, int i)
{
    return i >= 0 && i < s->count ? s->ports[i] : NULL;
}

static sim_port *port_at_locked(const bksim_server *s, int i)
{
    pthread_mutex_lock(server_lock(s));
    sim_port *p = port_at(s, i);
    pthread_mutex_unlock(server_lock(s));
    return p;
}

const char *bksim_link_path(const bksim_server *s, int i)
{
    sim_port *p = port_at_locked(s, i);
    return !p ? NULL : p->link[0] ? p->link : p->pty;
}

const char *bksim_pty_path(const bksim_server *s, int i)
{
    sim_port *p = port_at_locked(s, i);
    return p ? p->pty : NULL;
}

int bksim_attach_master(bksim_server *s, int master_fd, const bksim_module_config *mc)
{
    char err[160];
    pthread_mutex_lock(&s->mu);
    int idx = s->count;
    sim_port *p = ports_grow(s) ? port_new(s, mc, idx, err, sizeof err) : NULL;
    if (!p) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    p->master_fd = master_fd;
    p->own_fd = false;
    fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
    if (ptsname_r(master_fd, p->pty, sizeof p->pty) != 0)
        p->pty[0] = 0;
    s->ports[s->count++] = p;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_DATA(EV_MASTER, idx)};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, master_fd, &ev);
    int64_t now = model_now(s);
    bksim_module_power_up(p->m, now);
    bksim_module_set_host(p->m, true, now);
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return idx;
}

void bksim_detach(bksim_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p && !p->gone)
        port_yank(s, p); /* out of epoll; an attached fd stays its owner's to close */
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

void bksim_set_lines(bksim_server *s, int i, bool dtr, bool rts)
{
    (void)dtr; /* DTR drives nothing on a WB2S fixture: CEN hangs on RTS */
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p && !p->gone && rts != p->rts) {
        p->rts = rts;
        if (p->unpowered)
            ; /* CEN moves nothing on an unpowered chip */
        else if (rts)
            bksim_module_hold_reset(p->m, model_now(s));
        else
            bksim_module_power_up(p->m, model_now(s));
    }
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

void bksim_set_power(bksim_server *s, int i, bool on)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p && !p->gone && on == p->unpowered) {
        p->unpowered = !on;
        if (!on)
            bksim_module_power_off(p->m, model_now(s));
        else if (!p->rts)
            bksim_module_power_up(p->m, model_now(s));
    }
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

int bksim_read_flash(bksim_server *s, int i, uint32_t addr, uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p)
        bksim_module_read_flash(p->m, addr, buf, len);
    pthread_mutex_unlock(&s->mu);
    return p ? 0 : -1;
}

void bksim_get_mac(bksim_server *s, int i, uint8_t mac[6])
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p)
        bksim_module_mac(p->m, mac);
    else
        memset(mac, 0, 6);
    pthread_mutex_unlock(&s->mu);
}

void bksim_get_stats(bksim_server *s, int i, bksim_stats *st)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p)
        bksim_module_stats(p->m, st);
    else
        memset(st, 0, sizeof *st);
    pthread_mutex_unlock(&s->mu);
}

void bksim_get_sector_counts(bksim_server *s, int i, uint16_t *erases, uint16_t *programs, size_t n)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p) {
        bksim_module_sector_counts(p->m, erases, programs, n);
    } else {
        memset(erases, 0, n * sizeof *erases);
        memset(programs, 0, n * sizeof *programs);
    }
    pthread_mutex_unlock(&s->mu);
}

void bksim_clear_counts(bksim_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    if (p)
        bksim_module_clear_counts(p->m);
    pthread_mutex_unlock(&s->mu);
}

bksim_state bksim_get_state(bksim_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    bksim_state st = p ? bksim_module_state(p->m) : BKSIM_OFF;
    pthread_mutex_unlock(&s->mu);
    return st;
}

bool bksim_port_open(bksim_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    sim_port *p = port_at(s, i);
    bool open = p && !p->gone && !p->hung;
    pthread_mutex_unlock(&s->mu);
    return open;
}
