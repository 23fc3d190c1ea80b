/* ui_run.c - the dashboard's loop: take over the terminal, wait in poll() on the keyboard and
 * the station's change fd, copy a snapshot at most every 200 ms (and once a second for the
 * clock), redraw, hand keys to ui_keys.c. Nothing here waits on flashing or the database. */
#include "ui.h"
#include "ui_internal.h"
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const double FRAME_S = 0.2; /* at most ~5 redraws a second from snapshots */
static const double CLOCK_S = 1.0; /* the header clock ticks even when nothing changes */

double ui_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup_terminal(ui_state *s)
{
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    s->colour = has_colors();
    if (s->colour) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_GREEN, -1);
        init_pair(2, COLOR_RED, -1);
        init_pair(3, COLOR_CYAN, -1);
        init_pair(4, COLOR_YELLOW, -1);
    }
}

static void take_snapshot(ui_state *s)
{
    s->actions->snapshot(s->actions->ctx, s->view);
    if (s->view->n_bays > SV_MAX_BAYS) /* never trust a count to index an array */
        s->view->n_bays = SV_MAX_BAYS;
    if (s->view->n_bays < 0)
        s->view->n_bays = 0;
    if (s->view->n_events > SV_EVENT_LINES)
        s->view->n_events = SV_EVENT_LINES;
    if (s->view->n_events < 0)
        s->view->n_events = 0;
    if (s->selected >= s->view->n_bays)
        s->selected = s->view->n_bays > 0 ? s->view->n_bays - 1 : 0;
}

static void drain(int fd)
{
    uint64_t buf[8]; /* an eventfd gives 8 bytes; a pipe may hold more, the rest wakes us again */
    ssize_t r = read(fd, buf, sizeof buf);
    (void)r;
}

static int ui_loop(ui_state *s)
{
    int change_fd = s->actions->change_fd;
    double last_snap = -1e9;
    bool redraw = true;
    s->view_stale = true;
    for (;;) {
        double now = ui_now_s();
        double period = change_fd >= 0 ? CLOCK_S : FRAME_S;
        if ((s->view_stale && now - last_snap >= FRAME_S) || now - last_snap >= period) {
            take_snapshot(s);
            last_snap = now;
            s->view_stale = false;
            redraw = true;
        }
        if (s->quit || s->view->shutting_down)
            return 0;
        if (redraw) {
            ui_draw_dashboard(s);
            ui_draw_overlay(s);
            refresh();
            redraw = false;
        }

        double next = last_snap + (s->view_stale ? FRAME_S : period);
        int timeout_ms = (int)((next - now) * 1000.0) + 1;
        if (timeout_ms < 0)
            timeout_ms = 0;
        /* While a snapshot is already due, the change fd is left alone: a busy station must
         * not wake us more than the frame rate. */
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = change_fd, .events = POLLIN}};
        nfds_t nfds = change_fd >= 0 && !s->view_stale ? 2 : 1;
        int n = poll(fds, nfds, timeout_ms);
        if (n < 0 && errno != EINTR)
            return -EIO;
        if (n > 0 && nfds == 2 && fds[1].revents) {
            if (fds[1].revents & POLLIN)
                drain(change_fd);
            else
                change_fd = -1; /* closed or broken: fall back to polling by time */
            s->view_stale = true;
        }
        if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) && !(fds[0].revents & POLLIN))
            return -EIO; /* the terminal went away */
        /* Keys, and KEY_RESIZE after a SIGWINCH interrupted poll(). */
        int key;
        while (!s->quit && (key = getch()) != ERR) {
            ui_handle_key(s, key);
            redraw = true;
        }
    }
}

int ui_run(const station_actions *a)
{
    if (!a || !a->snapshot)
        return -EINVAL;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return -ENOTTY;
    setlocale(LC_ALL, "");
    ui_state s;
    memset(&s, 0, sizeof s);
    s.actions = a;
    s.view = calloc(1, sizeof *s.view);
    if (!s.view)
        return -ENOMEM;
    ui_glyphs_init(&s.g, strcmp(nl_langinfo(CODESET), "UTF-8") == 0);
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        free(s.view);
        return -EIO;
    }
    set_term(screen);
    setup_terminal(&s);
    int rc = ui_loop(&s);
    endwin();
    delscreen(screen);
    free(s.view);
    return rc;
}
