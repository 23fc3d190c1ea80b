/* ui_overlay.c - windows drawn over the dashboard: the help (every key), the detail of one bay
 * (the whole cause, remedy, timeline and history: where an operator learns that a socket is
 * worn), the prompts and the quit confirmation. Drawn from the same snapshot as the tiles. */
#include "ui_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { DETAIL_MAX_LINES = 160 };

typedef struct text_line {
    char text[200];
    ui_tone tone;
} text_line;

/* Collects wrapped lines for a window `width` columns wide. */
typedef struct line_builder {
    text_line *lines;
    int n, max, width;
} line_builder;

static void add_wrapped(line_builder *lb, ui_tone tone, int indent, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *p = text;
    bool first = true;
    do {
        if (lb->n >= lb->max)
            return;
        int pad = first ? 0 : indent;
        int room = lb->width - pad;
        if (room < 4)
            room = 4;
        const char *next;
        size_t n = ui_text_fit(p, room, true, &next);
        snprintf(lb->lines[lb->n].text, sizeof lb->lines[lb->n].text, "%*s%.*s", pad, "", (int)n, p);
        lb->lines[lb->n].tone = tone;
        lb->n++;
        p = next;
        first = false;
    } while (*p);
}

static void clear_box(const ui_state *s, int y, int x, int h, int w, const char *title)
{
    const char *tl = s->g.utf8 ? "\u250c" : "+", *tr = s->g.utf8 ? "\u2510" : "+";
    const char *bl = s->g.utf8 ? "\u2514" : "+", *br = s->g.utf8 ? "\u2518" : "+";
    for (int i = 0; i < h; i++) {
        move(y + i, x);
        for (int j = 0; j < w; j++)
            addch(' ');
    }
    ui_put(y, x, 1, tl, A_NORMAL);
    ui_repeat(y, x + 1, w - 2, s->g.hline, A_NORMAL);
    ui_put(y, x + w - 1, 1, tr, A_NORMAL);
    for (int i = 1; i < h - 1; i++) {
        ui_put(y + i, x, 1, s->g.vline, A_NORMAL);
        ui_put(y + i, x + w - 1, 1, s->g.vline, A_NORMAL);
    }
    ui_put(y + h - 1, x, 1, bl, A_NORMAL);
    ui_repeat(y + h - 1, x + 1, w - 2, s->g.hline, A_NORMAL);
    ui_put(y + h - 1, x + w - 1, 1, br, A_NORMAL);
    if (title) {
        char t[160];
        snprintf(t, sizeof t, " %s ", title);
        ui_put(y, x + 2, w - 4, t, A_BOLD);
    }
}

static void detail_geometry(const ui_state *s, int *y, int *x, int *h, int *w)
{
    *y = 1;
    *x = s->layout.cols >= 60 ? 2 : 0;
    *h = s->layout.rows - 2;
    *w = s->layout.cols - 2 * *x;
}

static void fmt_clock(double ts, char *out, size_t outlen)
{
    time_t t = (time_t)ts;
    struct tm tm;
    if (ts > 0 && localtime_r(&t, &tm))
        strftime(out, outlen, "%H:%M:%S", &tm);
    else
        snprintf(out, outlen, "--:--:--");
}

static void build_detail(const ui_state *s, line_builder *lb)
{
    const bay_view *b = &s->view->bays[s->selected];
    char label[8];
    ui_bay_label(b, label, sizeof label);
    add_wrapped(lb, UI_TONE_PLAIN, 2, "Bay %02d %s  port %s  adapter %s", b->bay, b->name,
                b->port[0] ? b->port : "-", b->adapter[0] ? b->adapter : "-");
    add_wrapped(lb, UI_TONE_PLAIN, 2, "Product %s  chip %s  MAC %s  baud %u",
                b->product[0] ? b->product : "-", b->chip[0] ? b->chip : "-",
                b->mac[0] ? b->mac : "-", b->baud);
    if (b->state == BAY_PASS || b->state == BAY_FAIL)
        add_wrapped(lb, ui_bay_tone(b), 2, "State %s after %.1f s, %d retr%s",
                    ui_state_word(b->state), b->elapsed_s, b->retries, b->retries == 1 ? "y" : "ies");
    else
        add_wrapped(lb, ui_bay_tone(b), 2, "State %s  %.0f%%  at 0x%05X  %.1f s", ui_state_word(b->state),
                    b->progress * 100.0, b->address, b->elapsed_s);
    if (b->asking)
        add_wrapped(lb, UI_TONE_WARN, 4, "[?] %s %s: y re-flashes it, n leaves it as it is",
                    b->mac[0] ? b->mac : "this module", b->question);
    if (b->power_cycle_needed)
        add_wrapped(lb, UI_TONE_WARN, 4,
                    "[!] power-cycle the module now: this port has no reset lines");
    if (b->state == BAY_FAIL) {
        add_wrapped(lb, UI_TONE_PLAIN, 0, "");
        add_wrapped(lb, UI_TONE_FAIL, 4, "Cause: %s (%s)", bk_cause_name(b->cause), bk_cause_id(b->cause));
        add_wrapped(lb, UI_TONE_PLAIN, 4, "  %s", bk_cause_explain(b->cause));
        add_wrapped(lb, UI_TONE_WARN, 4, "Remedy: %s", bk_cause_remedy(b->cause));
        if (b->detail[0])
            add_wrapped(lb, UI_TONE_PLAIN, 4, "Seen: %s", b->detail);
    } else if (b->state == BAY_PASS && b->warning != BK_CAUSE_NONE) {
        add_wrapped(lb, UI_TONE_PLAIN, 0, "");
        add_wrapped(lb, UI_TONE_WARN, 4, "Passed, trouble overcome: %s - %s", bk_cause_name(b->warning),
                    bk_cause_explain(b->warning));
        add_wrapped(lb, UI_TONE_PLAIN, 4, "If it repeats: %s", bk_cause_remedy(b->warning));
    }
    add_wrapped(lb, UI_TONE_PLAIN, 0, "");
    add_wrapped(lb, UI_TONE_TITLE, 0, "Timeline of this attempt");
    if (b->n_log == 0)
        add_wrapped(lb, UI_TONE_IDLE, 0, "  (nothing yet)");
    for (int i = 0; i < b->n_log && i < SV_LOG_LINES; i++) {
        if (i == SV_LOG_HEAD && b->log_omitted > 0)
            add_wrapped(lb, UI_TONE_IDLE, 4, "  ... %d more step%s ...", b->log_omitted,
                        b->log_omitted == 1 ? "" : "s");
        add_wrapped(lb, UI_TONE_PLAIN, 4, "  %s", b->log[i]);
    }
    add_wrapped(lb, UI_TONE_PLAIN, 0, "");
    add_wrapped(lb, UI_TONE_TITLE, 0, "Last attempts on this bay");
    if (b->n_history == 0)
        add_wrapped(lb, UI_TONE_IDLE, 0, "  (none this session)");
    for (int i = 0; i < b->n_history && i < SV_HISTORY; i++) {
        const bay_attempt_summary *h = &b->history[i];
        char when[16];
        fmt_clock(h->end_ts, when, sizeof when);
        add_wrapped(lb, h->passed ? UI_TONE_PASS : UI_TONE_FAIL, 4, "  %s %s %-14s %5.1fs  %s", when,
                    h->passed ? "PASS" : "FAIL", h->passed ? "" : bk_cause_name(h->cause), h->seconds,
                    h->mac);
    }
    int done = b->pass_count + b->fail_count;
    add_wrapped(lb, UI_TONE_PLAIN, 0, "");
    if (done > 0)
        add_wrapped(lb, UI_TONE_PLAIN, 2, "This session: %d pass, %d fail, yield %.1f%%", b->pass_count,
                    b->fail_count, 100.0 * b->pass_count / done);
    else
        add_wrapped(lb, UI_TONE_PLAIN, 2, "This session: no finished attempts");
}

int ui_detail_max_scroll(const ui_state *s)
{
    if (s->view->n_bays <= 0)
        return 0;
    int y, x, h, w;
    detail_geometry(s, &y, &x, &h, &w);
    text_line lines[DETAIL_MAX_LINES];
    line_builder lb = {lines, 0, DETAIL_MAX_LINES, w - 4};
    build_detail(s, &lb);
    int body = h - 3;
    return lb.n > body ? lb.n - body : 0;
}

static void draw_detail(const ui_state *s)
{
    if (s->view->n_bays <= 0)
        return;
    int y, x, h, w;
    detail_geometry(s, &y, &x, &h, &w);
    const bay_view *b = &s->view->bays[s->selected];
    char title[64], label[8];
    ui_bay_label(b, label, sizeof label);
    snprintf(title, sizeof title, "bay %s: %s", label, ui_state_word(b->state));
    clear_box(s, y, x, h, w, title);
    text_line lines[DETAIL_MAX_LINES];
    line_builder lb = {lines, 0, DETAIL_MAX_LINES, w - 4};
    build_detail(s, &lb);
    int body = h - 3;
    for (int i = 0; i < body && s->detail_scroll + i < lb.n; i++) {
        const text_line *t = &lines[s->detail_scroll + i];
        ui_put(y + 1 + i, x + 2, w - 4, t->text, ui_attr(s, t->tone));
    }
    char keys[120];
    snprintf(keys, sizeof keys, "Esc close  r retry  y/n answer  %s scroll%s", s->g.utf8 ? "\u2191\u2193" : "up/down",
             lb.n > body ? " (more)" : "");
    ui_put(y + h - 2, x + 2, w - 4, keys, A_BOLD);
}

static void draw_help(const ui_state *s)
{
    static const char *const keys[][2] = {
        {"?", "this help"},
        {NULL, "move the selection between bays"},
        {"Enter", "detail of the selected bay: cause, remedy, timeline"},
        {"Esc", "close a window or a prompt"},
        {"r", "retry the selected failed bay"},
        {"y / n", "answer the selected bay's question (ASK): re-flash it / leave it"},
        {"p", "pause / resume new jobs (running jobs finish)"},
        {"L", "lot and operator (scan or type; Enter keeps the current one)"},
        {"e", "engineer mode (asks for the PIN, not shown)"},
        {"s", "switch profile for the selected bay or all (engineer)"},
        {"q", "quit (asks first while jobs run)"},
    };
    int n = (int)(sizeof keys / sizeof keys[0]);
    int w = s->layout.cols - 4 < 76 ? s->layout.cols - 4 : 76;
    int h = n + 6 < s->layout.rows - 1 ? n + 6 : s->layout.rows - 1;
    int y = (s->layout.rows - h) / 2, x = (s->layout.cols - w) / 2;
    clear_box(s, y, x, h, w, "help: keys");
    char move_keys[64];
    snprintf(move_keys, sizeof move_keys, "%s hjkl", s->g.keys_move);
    for (int i = 0; i < n && i < h - 4; i++) {
        const char *key = keys[i][0] ? keys[i][0] : move_keys;
        ui_put(y + 1 + i, x + 2, w - 4, key, A_BOLD);
        if (w - 4 > 13) /* a column, not printf padding: key glyphs are multibyte */
            ui_put(y + 1 + i, x + 2 + 13, w - 4 - 13, keys[i][1], A_NORMAL);
    }
    ui_put(y + h - 3, x + 2, w - 4, "Tiles: PASS green, FAIL red, working cyan, idle dim; [!] what to do",
           ui_attr(s, UI_TONE_IDLE));
    ui_put(y + h - 2, x + 2, w - 4, "Esc closes", A_BOLD);
}

static void draw_small_box(const ui_state *s, const char *title, const char *l1, const char *l2,
                           const char *l3)
{
    int w = s->layout.cols - 4 < 70 ? s->layout.cols - 4 : 70;
    int h = 6, y = (s->layout.rows - h) / 2, x = (s->layout.cols - w) / 2;
    clear_box(s, y, x, h, w, title);
    ui_put(y + 1, x + 2, w - 4, l1, A_BOLD);
    ui_put(y + 2, x + 2, w - 4, l2, A_NORMAL);
    ui_put(y + 4, x + 2, w - 4, l3, ui_attr(s, UI_TONE_IDLE));
}

static void draw_prompt(const ui_state *s)
{
    char l1[320], l2[320];
    switch (s->prompt) {
    case UI_PROMPT_PIN:
        snprintf(l2, sizeof l2, "PIN: %s", s->input_len ? "(typed, not shown)" : "");
        draw_small_box(s, "engineer mode", "Engineer PIN, then Enter", l2, "Enter ok  Esc cancel");
        break;
    case UI_PROMPT_PROFILE:
        snprintf(l2, sizeof l2, "> %s_", s->input);
        draw_small_box(s, "switch profile", "Profile path (.ini), then Enter", l2, "Enter ok  Esc cancel");
        break;
    case UI_PROMPT_LOT:
        snprintf(l1, sizeof l1, "Lot (work order or reel) now: %s", s->view->lot[0] ? s->view->lot : "none");
        snprintf(l2, sizeof l2, "> %s_", s->input);
        draw_small_box(s, "lot", l1, l2, "scan or type, Enter (empty: keep)  Esc cancel");
        break;
    case UI_PROMPT_OPERATOR:
        snprintf(l1, sizeof l1, "Operator now: %s", s->view->operator_id[0] ? s->view->operator_id : "none");
        snprintf(l2, sizeof l2, "> %s_", s->input);
        draw_small_box(s, "operator", l1, l2, "scan or type, Enter (empty: keep)  Esc cancel");
        break;
    case UI_PROMPT_SCOPE: {
        char label[8];
        ui_bay_label(&s->view->bays[s->selected], label, sizeof label);
        snprintf(l1, sizeof l1, "Apply %s to:", s->profile_path);
        snprintf(l2, sizeof l2, "b  bay %s only     a  all bays", label);
        draw_small_box(s, "switch profile", l1, l2, "b or a  Esc cancel");
        break;
    }
    }
}

void ui_draw_overlay(const ui_state *s)
{
    if (s->layout.too_small)
        return;
    switch (s->overlay) {
    case UI_OVERLAY_NONE:
        break;
    case UI_OVERLAY_HELP:
        draw_help(s);
        break;
    case UI_OVERLAY_DETAIL:
        draw_detail(s);
        break;
    case UI_OVERLAY_CONFIRM_QUIT: {
        char l1[120];
        snprintf(l1, sizeof l1, "%d job%s running. Quit anyway?", s->view->running,
                 s->view->running == 1 ? " is" : "s are");
        draw_small_box(s, "quit", l1, "y  quit (running jobs are cancelled)", "any other key  stay");
        break;
    }
    case UI_OVERLAY_PROMPT:
        draw_prompt(s);
        break;
    }
}
