/* tf_ui_preview.c - development program: the dashboard over a synthetic station_view.
 *
 * This is NOT the station. It is a little model of its own (a timer thread moving 32 bays
 * through link, erase, write, verify, pass or fail under a mutex) so the dashboard can be looked
 * at and tested before, and independently of, the real station. --frozen keeps the initial
 * picture still, for captures and tests that assert exact content. */
#include "ui.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define PREVIEW_PIN "1234" /* the preview's engineer PIN; the station checks a crypt() hash */
#define PREVIEW_BACKUP_RANGES 39u /* a device backup's plan on a BK7231T (illustrative) */

typedef struct preview_model {
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* the timer thread waits on it with a deadline; stop signals it */
    station_view view;
    double entered_s[SV_MAX_BAYS]; /* model time each bay entered its state */
    double t_s;                 /* model time */
    int change_fd;
    bool stop, frozen, quit_requested;
    int tick_ms;
    int shutdown_after_ms;      /* >0: report shutting_down after this long (tests) */
    unsigned rng;
} preview_model;

typedef struct bay_seed {
    bay_state state;
    double progress;
    bk_cause cause;
    bool power_cycle;
    int retries;
} bay_seed;

/* The opening picture: every state, several causes, a power-cycle request. */
static const bay_seed seeds[32] = {
    {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},         {BAY_FAIL, 0.2, BK_CAUSE_BROWNOUT, false, 2},
    {BAY_VERIFY, 0.97, 0, false, 0},                {BAY_WRITE, 0.31, 0, false, 1},
    {BAY_LINK, 0, 0, true, 0},                      {BAY_IDLE, 0, 0, false, 0},
    {BAY_ERASE, 0.08, 0, false, 0},                 {BAY_PASS, 1, BK_CAUSE_SIGNAL_INTEGRITY, false, 1},
    {BAY_WRITE, 0.52, 0, false, 0},                 {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},
    {BAY_FAIL, 0, BK_CAUSE_WRONG_CHIP, false, 0},   {BAY_IDENTIFY, 0, 0, false, 0},
    {BAY_EMPTY, 0, 0, false, 0},                    {BAY_WRITE, 0.83, 0, false, 0},
    {BAY_FAIL, 0, BK_CAUSE_FOREIGN_TRAFFIC, false, 0}, {BAY_LINK, 0, 0, false, 0},
    {BAY_IDLE, 0, 0, false, 0},                     {BAY_ERASE, 0.4, 0, false, 0},
    {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},         {BAY_WRITE, 0.12, 0, false, 0},
    {BAY_FAIL, 0.6, BK_CAUSE_MODULE_LOST, false, 1}, {BAY_VERIFY, 0.5, 0, false, 0},
    {BAY_BACKUP, 0.31, 0, false, 0},                {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},
    {BAY_LINK, 0, 0, false, 1},                     {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},
    {BAY_WRITE, 0.31, 0, false, 1},                 {BAY_FAIL, 0, BK_CAUSE_NO_DOWNLOAD_MODE, false, 0},
    {BAY_WRITE, 0.66, 0, false, 0},                 {BAY_PASS, 1, BK_CAUSE_NONE, false, 0},
    {BAY_IDLE, 0, 0, false, 0},                     {BAY_ERASE, 0.9, 0, false, 0},
};

static const char *const fail_details[BK_CAUSE_COUNT] = {
    [BK_CAUSE_BROWNOUT] = "first write at 0x11000 never answered; re-link ok",
    [BK_CAUSE_WRONG_CHIP] = "module is BK7231N, profile wants BK7231T (nothing erased)",
    [BK_CAUSE_FOREIGN_TRAFFIC] = "37 bytes of 'AT+' text between replies",
    [BK_CAUSE_MODULE_LOST] = "no reply after write at 0x9A000; 3 re-links unanswered",
    [BK_CAUSE_NO_DOWNLOAD_MODE] = "no LinkCheck reply in 10 s after reset",
    [BK_CAUSE_VERIFY_FAILED] = "CRC 0x1c2d3e4f, image 0x5a6b7c8d",
};

static unsigned next_rand(preview_model *m)
{
    m->rng = m->rng * 1103515245u + 12345u;
    return (m->rng >> 16) & 0x7fff;
}

static void fmt_clock(double ts, char *out, size_t outlen)
{
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, outlen, "%H:%M:%S", &tm);
}

static void push_event(station_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push_event(station_view *v, const char *fmt, ...)
{
    if (v->n_events == SV_EVENT_LINES) {
        memmove(v->events[0], v->events[1], sizeof v->events[0] * (SV_EVENT_LINES - 1));
        v->n_events--;
    }
    char when[16], text[150];
    fmt_clock(v->now_ts, when, sizeof when);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(v->events[v->n_events++], sizeof v->events[0], "%.8s %.150s", when, text);
}

static void push_log(bay_view *b, const char *text_in)
{
    char text[sizeof b->log[0]]; /* text_in may live in *b */
    snprintf(text, sizeof text, "%s", text_in);
    if (b->n_log == SV_LOG_LINES) {
        memmove(b->log[0], b->log[1], sizeof b->log[0] * (SV_LOG_LINES - 1));
        b->n_log--;
    }
    memcpy(b->log[b->n_log++], text, sizeof text);
}

static void push_history(bay_view *b, bool passed, bk_cause cause, double seconds, double end_ts)
{
    memmove(&b->history[1], &b->history[0], sizeof b->history[0] * (SV_HISTORY - 1));
    b->history[0] = (bay_attempt_summary){.passed = passed, .cause = cause, .seconds = seconds,
                                          .end_ts = end_ts};
    memcpy(b->history[0].mac, b->mac, sizeof b->mac);
    if (b->n_history < SV_HISTORY)
        b->n_history++;
}

static void set_state(preview_model *m, int i, bay_state st)
{
    m->view.bays[i].state = st;
    m->view.bays[i].progress = 0;
    m->entered_s[i] = m->t_s;
}

static void new_module(preview_model *m, int i)
{
    bay_view *b = &m->view.bays[i];
    set_state(m, i, BAY_LINK);
    b->started_ts = m->view.now_ts;
    b->elapsed_s = 0;
    b->chip[0] = b->mac[0] = b->detail[0] = 0;
    b->cause = b->warning = BK_CAUSE_NONE;
    b->retries = 0;
    b->n_log = 0;
    b->power_cycle_needed = false;
    push_log(b, "reset via DTR/RTS, LinkCheck every 10 ms");
}

static void fill_identity(preview_model *m, int i)
{
    bay_view *b = &m->view.bays[i];
    snprintf(b->chip, sizeof b->chip, "BK7231T");
    snprintf(b->mac, sizeof b->mac, "d8:1f:12:0a:%02x:%02x", (unsigned)(next_rand(m) & 0xff),
             (unsigned)(next_rand(m) & 0xff));
}

static void finish(preview_model *m, int i, bool passed, bk_cause cause)
{
    station_view *v = &m->view;
    bay_view *b = &v->bays[i];
    set_state(m, i, passed ? BAY_PASS : BAY_FAIL);
    b->progress = 1;
    b->cause = passed ? BK_CAUSE_NONE : cause;
    if (passed) {
        v->pass++;
        b->pass_count++;
        push_log(b, "CRC matches the image: pass");
        push_event(v, "bay %02d PASS %.1fs %s", b->bay, b->elapsed_s, b->mac);
    } else {
        v->fail++;
        b->fail_count++;
        snprintf(b->detail, sizeof b->detail, "%s",
                 fail_details[cause] ? fail_details[cause] : bk_cause_explain(cause));
        push_log(b, b->detail);
        push_event(v, "bay %02d FAIL %s: %s", b->bay, bk_cause_name(cause), b->detail);
    }
    push_history(b, passed, b->cause, b->elapsed_s, v->now_ts);
}

static void seed_bay(preview_model *m, int i)
{
    station_view *v = &m->view;
    bay_view *b = &v->bays[i];
    const bay_seed *sd = &seeds[i % 32];
    b->bay = i + 1;
    snprintf(b->product, sizeof b->product, "smart-plug-P1");
    snprintf(b->port, sizeof b->port, "/dev/ttyUSB%d", i);
    snprintf(b->adapter, sizeof b->adapter, "1a86:7523:A%04d", 100 + i);
    b->baud = 921600;
    b->state = sd->state;
    b->progress = sd->progress;
    b->retries = sd->retries;
    b->power_cycle_needed = sd->power_cycle;
    b->pass_count = 3 + i % 4;
    b->fail_count = i % 5 == 1 ? 2 : 0;
    for (int h = 0; h < 3; h++) {
        bool ok = h != 1 || i % 5 != 1;
        b->history[h] = (bay_attempt_summary){ok, ok ? BK_CAUSE_NONE : BK_CAUSE_BROWNOUT,
                                              18.5 + h * 0.3, v->now_ts - 60.0 * (h + 1), ""};
        snprintf(b->history[h].mac, sizeof b->history[h].mac, "d8:1f:12:0a:%02x:%02x", (unsigned)(i & 0xff), (unsigned)(40 + h));
    }
    b->n_history = 3;
    if (b->state == BAY_EMPTY) {
        b->port[0] = b->adapter[0] = 0;
        b->n_history = b->pass_count = b->fail_count = 0;
        return;
    }
    if (b->state == BAY_IDLE)
        return;
    b->started_ts = v->now_ts - 5.0;
    b->elapsed_s = b->state == BAY_PASS ? 18.7 + (i % 5) * 0.1 : 2.0 + b->progress * 12.0;
    push_log(b, "reset via DTR/RTS, link in 0.08 s");
    if (b->state == BAY_LINK)
        return;
    fill_identity(m, i);
    push_log(b, "baud 921600, chip BK7231T boot 1.0.5, flash c8 40 15");
    b->address = 0x11000 + (uint32_t)(b->progress * 0xEF000) / 0x1000 * 0x1000;
    b->rate_bps = 86000 + (i % 4) * 1500;
    if (b->state == BAY_BACKUP) {
        b->backup_total = PREVIEW_BACKUP_RANGES;
        b->backup_done = (uint32_t)(b->progress * PREVIEW_BACKUP_RANGES);
        b->address = 0x1D8000 + b->backup_done * 0x1000;
        push_log(b, "backup (device): 39 ranges, CRCs first");
    }
    if (b->state >= BAY_ERASE)
        push_log(b, "erase 0x11000..0x100000 (64K blocks)");
    if (b->state >= BAY_WRITE)
        push_log(b, "write 0x11000.. at 88 KB/s");
    if (b->state == BAY_PASS) {
        b->warning = sd->cause;
        if (b->warning != BK_CAUSE_NONE)
            push_log(b, "2 garbled replies; baud 921600 -> 460800");
        push_log(b, "CRC matches the image: pass");
    } else if (b->state == BAY_FAIL) {
        b->cause = sd->cause;
        snprintf(b->detail, sizeof b->detail, "%s",
                 fail_details[sd->cause] ? fail_details[sd->cause] : bk_cause_explain(sd->cause));
        push_log(b, b->detail);
        b->elapsed_s = 4.2 + i * 0.1;
    }
}

static void count_bays(station_view *v)
{
    v->running = v->idle = 0;
    for (int i = 0; i < v->n_bays; i++) {
        bay_state st = v->bays[i].state;
        if (st >= BAY_LINK && st <= BAY_VERIFY)
            v->running++;
        else if (st == BAY_IDLE || st == BAY_EMPTY)
            v->idle++;
    }
    int done = v->pass + v->fail;
    v->yield_session = done ? (double)v->pass / done : -1;
    double hours = (v->now_ts - v->session_start_ts) / 3600.0;
    v->modules_per_hour = hours > 0 ? done / hours : 0;
}

static void model_init(preview_model *m, int n_bays)
{
    station_view *v = &m->view;
    snprintf(v->station_name, sizeof v->station_name, "line-2");
    snprintf(v->profile_name, sizeof v->profile_name, "smart-plug-P1");
    snprintf(v->image_sha_prefix, sizeof v->image_sha_prefix, "3f9a21c0");
    snprintf(v->chip, sizeof v->chip, "BK7231T");
    v->baud = 921600;
    /* Frozen: a fixed instant, so captures are the same every time. */
    v->now_ts = m->frozen ? 1717164131.0 : (double)time(NULL);
    v->session_start_ts = v->now_ts - 1000.0;
    v->pass = 57;
    v->fail = 4;
    v->yield_today = 0.951;
    v->first_pass_today = 0.910;
    v->n_bays = n_bays;
    m->rng = 7;
    for (int i = 0; i < n_bays; i++)
        seed_bay(m, i);
    v->now_ts -= 10;
    push_event(v, "bay 27 baud 921600 -> 460800 after 2 garbled replies");
    v->now_ts += 4;
    push_event(v, "bay 11 FAIL wrong chip: %s", fail_details[BK_CAUSE_WRONG_CHIP]);
    v->now_ts += 2;
    push_event(v, "bay 02 FAIL brown-out: %s", fail_details[BK_CAUSE_BROWNOUT]);
    v->now_ts += 4;
    count_bays(v);
}

/* One step of the model: every bay moves on by dt seconds. */
static void model_advance(preview_model *m, double dt)
{
    station_view *v = &m->view;
    m->t_s += dt;
    v->now_ts += dt;
    static const bk_cause fail_causes[] = {BK_CAUSE_BROWNOUT, BK_CAUSE_SIGNAL_INTEGRITY,
                                           BK_CAUSE_MODULE_LOST, BK_CAUSE_VERIFY_FAILED};
    for (int i = 0; i < v->n_bays; i++) {
        bay_view *b = &v->bays[i];
        double in_state = m->t_s - m->entered_s[i];
        if (b->state >= BAY_LINK && b->state <= BAY_VERIFY)
            b->elapsed_s += dt;
        switch (b->state) {
        case BAY_IDLE:
            if (!v->paused && in_state > 2.0)
                new_module(m, i);
            break;
        case BAY_LINK:
            if (in_state > (b->power_cycle_needed ? 5.0 : 0.6)) {
                b->power_cycle_needed = false;
                set_state(m, i, BAY_IDENTIFY);
                push_log(b, "link in 0.08 s, baud 921600");
            }
            break;
        case BAY_IDENTIFY:
            if (in_state > 0.4) {
                fill_identity(m, i);
                push_log(b, "chip BK7231T boot 1.0.5, flash c8 40 15");
                set_state(m, i, BAY_ERASE);
            }
            break;
        case BAY_BACKUP:
            b->progress += dt / 1.5;
            b->backup_done = (uint32_t)((b->progress < 1 ? b->progress : 1) * PREVIEW_BACKUP_RANGES);
            b->address = 0x1D8000 + b->backup_done * 0x1000;
            if (b->progress >= 1.0) {
                push_log(b, "backup kept before the first erase");
                set_state(m, i, BAY_ERASE);
            }
            break;
        case BAY_ERASE:
            b->progress += dt / 2.0;
            b->address = 0x11000 + (uint32_t)(b->progress * 0xEF000) / 0x10000 * 0x10000;
            if (b->progress >= 1.0) {
                push_log(b, "erase 0x11000..0x100000 in 2.0 s");
                set_state(m, i, BAY_WRITE);
            }
            break;
        case BAY_WRITE:
            b->rate_bps = 84000 + next_rand(m) % 6000;
            b->progress += dt * b->rate_bps / (double)0xEF000;
            b->address = 0x11000 + (uint32_t)(b->progress * 0xEF000) / 0x1000 * 0x1000;
            if (b->progress >= 1.0) {
                push_log(b, "write 0x11000..0x100000 done");
                set_state(m, i, BAY_VERIFY);
            }
            break;
        case BAY_VERIFY:
            b->progress += dt / 1.0;
            if (b->progress >= 1.0) {
                unsigned r = next_rand(m);
                if (r % 8 == 0)
                    finish(m, i, false, fail_causes[(r / 8) % 4]);
                else
                    finish(m, i, true, BK_CAUSE_NONE);
            }
            break;
        case BAY_PASS:
            if (in_state > 5.0) {
                set_state(m, i, BAY_IDLE);
                b->started_ts = 0;
            }
            break;
        default: /* FAIL waits for the operator; EMPTY for an adapter */
            break;
        }
    }
    count_bays(v);
}

static void notify(preview_model *m)
{
    uint64_t one = 1;
    if (m->change_fd >= 0 && write(m->change_fd, &one, sizeof one) < 0)
        perror("tf_ui_preview: eventfd");
}

static void *timer_main(void *arg)
{
    preview_model *m = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double waited_ms = 0;
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        next.tv_nsec += (long)m->tick_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        int rc = 0;
        while (!m->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&m->wake, &m->lock, &next);
        if (m->stop)
            break;
        waited_ms += m->tick_ms;
        if (!m->frozen)
            model_advance(m, m->tick_ms / 1000.0);
        if (m->shutdown_after_ms > 0 && waited_ms >= m->shutdown_after_ms)
            m->view.shutting_down = true;
        if (!m->frozen || m->view.shutting_down)
            notify(m);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- the actions the dashboard may call (UI thread) ---- */

static int act_retry(void *ctx, int bay, char *msg, size_t msglen)
{
    preview_model *m = ctx;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (bay < 1 || bay > m->view.n_bays) {
        snprintf(msg, msglen, "no bay %d", bay);
        rc = -EINVAL;
    } else if (m->view.bays[bay - 1].state != BAY_FAIL) {
        snprintf(msg, msglen, "bay %02d is not failed", bay);
        rc = -EINVAL;
    } else {
        new_module(m, bay - 1);
        m->view.bays[bay - 1].retries = 1;
        count_bays(&m->view);
        push_event(&m->view, "bay %02d retry by the operator", bay);
        snprintf(msg, msglen, "bay %02d: retry started", bay);
    }
    pthread_mutex_unlock(&m->lock);
    notify(m);
    return rc;
}

static int act_pause(void *ctx, bool paused, char *msg, size_t msglen)
{
    preview_model *m = ctx;
    pthread_mutex_lock(&m->lock);
    m->view.paused = paused;
    pthread_mutex_unlock(&m->lock);
    snprintf(msg, msglen, paused ? "paused: running jobs finish, no new ones start" : "resumed");
    notify(m);
    return 0;
}

static int act_login(void *ctx, const char *pin, char *msg, size_t msglen)
{
    preview_model *m = ctx;
    if (strcmp(pin, PREVIEW_PIN) != 0) {
        snprintf(msg, msglen, "wrong PIN");
        return -EACCES;
    }
    pthread_mutex_lock(&m->lock);
    m->view.engineer_mode = true;
    pthread_mutex_unlock(&m->lock);
    snprintf(msg, msglen, "engineer mode on: s switches profile");
    notify(m);
    return 0;
}

static int act_switch_profile(void *ctx, int bay, const char *path, char *msg, size_t msglen)
{
    preview_model *m = ctx;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (bay < 0 || bay > m->view.n_bays) {
        snprintf(msg, msglen, "no bay %d", bay);
        rc = -EINVAL;
    } else {
        for (int i = 0; i < m->view.n_bays; i++)
            if (bay == 0 || i == bay - 1)
                snprintf(m->view.bays[i].product, sizeof m->view.bays[i].product, "%s", name);
        if (bay == 0)
            snprintf(m->view.profile_name, sizeof m->view.profile_name, "%s", name);
        snprintf(msg, msglen, "%s now uses %s", bay ? "the bay" : "every bay", name);
    }
    pthread_mutex_unlock(&m->lock);
    notify(m);
    return rc;
}

static void act_quit(void *ctx)
{
    preview_model *m = ctx;
    pthread_mutex_lock(&m->lock);
    m->quit_requested = true;
    pthread_mutex_unlock(&m->lock);
}

static void act_snapshot(void *ctx, station_view *out)
{
    preview_model *m = ctx;
    pthread_mutex_lock(&m->lock);
    memcpy(out, &m->view, sizeof *out);
    pthread_mutex_unlock(&m->lock);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tf_ui_preview [--bays N] [--frozen] [--tick-ms MS] [--shutdown-after-ms MS]\n"
               "                     [--no-change-fd]\n"
               "A synthetic station for looking at the dashboard; the engineer PIN is " PREVIEW_PIN ".\n");
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    int n_bays = 32, tick_ms = 100, shutdown_ms = 0;
    bool frozen = false, use_fd = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--frozen")) {
            frozen = true;
        } else if (!strcmp(a, "--no-change-fd")) {
            use_fd = false;
        } else if (!strcmp(a, "--bays") || !strcmp(a, "--tick-ms") || !strcmp(a, "--shutdown-after-ms")) {
            int *dst = !strcmp(a, "--bays") ? &n_bays : !strcmp(a, "--tick-ms") ? &tick_ms : &shutdown_ms;
            int lo = dst == &shutdown_ms ? 0 : 1, hi = dst == &n_bays ? SV_MAX_BAYS : 3600000;
            if (!parse_int(next, lo, hi, dst)) {
                fprintf(stderr, "tf_ui_preview: %s wants a number in %d..%d, got '%s'\n", a, lo, hi,
                        next ? next : "");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "tf_ui_preview: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    preview_model *m = calloc(1, sizeof *m);
    if (!m) {
        fprintf(stderr, "tf_ui_preview: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    m->frozen = frozen;
    m->tick_ms = tick_ms;
    m->shutdown_after_ms = shutdown_ms;
    m->change_fd = use_fd ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
    model_init(m, n_bays);

    pthread_t timer;
    if (pthread_create(&timer, NULL, timer_main, m) != 0) {
        fprintf(stderr, "tf_ui_preview: cannot start the timer thread\n");
        return 1;
    }
    station_actions actions = {
        .ctx = m,
        .retry_bay = act_retry,
        .set_paused = act_pause,
        .engineer_login = act_login,
        .switch_profile = act_switch_profile,
        .request_quit = act_quit,
        .snapshot = act_snapshot,
        .change_fd = m->change_fd,
    };
    int rc = ui_run(&actions);

    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(timer, NULL);
    if (m->change_fd >= 0)
        close(m->change_fd);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    free(m);
    if (rc < 0) {
        fprintf(stderr, "tf_ui_preview: dashboard: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
