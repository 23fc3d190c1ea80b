/* ui_draw.c - the dashboard itself: header, counts, the tiles, the rule with the status message,
 * the event strip and the key line, all drawn from the last snapshot. Words carry the meaning;
 * colour only adds to them, so a monochrome terminal or a text capture reads the same. */
#include "ui_internal.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

void ui_glyphs_init(ui_glyphs *g, bool utf8)
{
    if (utf8)
        *g = (ui_glyphs){true, "\u2502", "\u2500", "\u2593", "\u2591", "\u25b6", "\u00b7",
                         "\u2191\u2193\u2190\u2192", "\u23ce", "\u00b7", "\u2193"};
    else
        *g = (ui_glyphs){false, "|", "-", "#", ".", ">", ".", "arrows", "Enter", "-", "v"};
}

attr_t ui_attr(const ui_state *s, ui_tone tone)
{
    static const struct { short pair; attr_t mono; } tones[] = {
        [UI_TONE_PLAIN] = {0, A_NORMAL},
        [UI_TONE_PASS] = {1, A_NORMAL},
        [UI_TONE_FAIL] = {2, A_BOLD},
        [UI_TONE_WORK] = {3, A_NORMAL},
        [UI_TONE_IDLE] = {0, A_DIM},
        [UI_TONE_WARN] = {4, A_BOLD},
        [UI_TONE_TITLE] = {0, A_BOLD},
    };
    attr_t a = tones[tone].mono;
    if (s->colour && tones[tone].pair)
        a |= COLOR_PAIR(tones[tone].pair);
    return a;
}

ui_tone ui_bay_tone(const bay_view *b)
{
    static const ui_tone by_state[BAY_STATE_COUNT] = {
        [BAY_EMPTY] = UI_TONE_IDLE, [BAY_IDLE] = UI_TONE_IDLE, [BAY_LINK] = UI_TONE_WORK,
        [BAY_IDENTIFY] = UI_TONE_WORK, [BAY_BACKUP] = UI_TONE_WORK, [BAY_ERASE] = UI_TONE_WORK, [BAY_WRITE] = UI_TONE_WORK,
        [BAY_VERIFY] = UI_TONE_WORK, [BAY_PASS] = UI_TONE_PASS, [BAY_FAIL] = UI_TONE_FAIL,
        [BAY_SKIP] = UI_TONE_WARN,
    };
    if (b->asking)
        return UI_TONE_WARN;
    return (unsigned)b->state < BAY_STATE_COUNT ? by_state[b->state] : UI_TONE_PLAIN;
}

/* Our own table rather than the station's bay_state_name(): the dashboard links without the
 * station, and tile words are a display choice ("IDENT" fits a 19-column tile). */
const char *ui_state_word(bay_state st)
{
    static const char *const words[BAY_STATE_COUNT] = {
        [BAY_EMPTY] = "empty", [BAY_IDLE] = "idle", [BAY_LINK] = "LINK",
        [BAY_IDENTIFY] = "IDENT", [BAY_BACKUP] = "BACKUP", [BAY_ERASE] = "ERASE", [BAY_WRITE] = "WRITE",
        [BAY_VERIFY] = "VERIFY", [BAY_PASS] = "PASS", [BAY_FAIL] = "FAIL",
        [BAY_SKIP] = "SKIP",
    };
    return (unsigned)st < BAY_STATE_COUNT ? words[st] : "?";
}

void ui_bay_label(const bay_view *b, char *out, size_t outlen)
{
    size_t n = strlen(b->name);
    if (n > 0 && n <= 4)
        snprintf(out, outlen, "%s", b->name);
    else
        snprintf(out, outlen, "%02d", b->bay);
}

void ui_set_status(ui_state *s, const char *msg)
{
    snprintf(s->status, sizeof s->status, "%s", msg);
    s->status_until_s = ui_now_s() + 8.0;
}

static void fmt_percent(char *out, size_t outlen, double ratio)
{
    if (ratio < 0)
        snprintf(out, outlen, "--");
    else
        snprintf(out, outlen, "%.1f%%", ratio * 100.0);
}

static int percent_of(double progress)
{
    int pct = (int)(progress * 100.0 + 0.5);
    return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

static bool is_working(bay_state st)
{
    return st == BAY_BACKUP || st == BAY_ERASE || st == BAY_WRITE || st == BAY_VERIFY;
}

static void draw_bar(const ui_state *s, int y, int x, int width, double progress, attr_t attr)
{
    if (width <= 0)
        return;
    int full = (int)(progress * width + 0.5);
    full = full < 0 ? 0 : full > width ? width : full;
    ui_repeat(y, x, full, s->g.bar_full, attr);
    ui_repeat(y, x + full, width - full, s->g.bar_empty, attr);
}

static void draw_header(const ui_state *s)
{
    const station_view *v = s->view;
    int cols = s->layout.cols;
    char right[112], clock[16] = "--:--:--";
    time_t t = (time_t)v->now_ts;
    struct tm tm;
    if (v->now_ts > 0 && localtime_r(&t, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    /* records the database cannot take hold new jobs back (the why is in the event list);
     * TRAY DONE: every bay with an adapter has its result and nothing works: swap the tray */
    const char *mode = v->shutting_down ? "STOPPING" : v->db_pending ? "DB WAIT"
                       : v->paused ? "PAUSED" : v->lot_waiting ? "LOT? (L)"
                       : v->tray_done ? "TRAY DONE" : "RUN";
    /* the central database: queued records, and AWAY (warn) while batches fail */
    char up[40] = "";
    if (v->upstream_configured && v->upstream_away)
        snprintf(up, sizeof up, "  CENTRAL AWAY %lld", v->upstream_queued);
    else if (v->upstream_configured && v->upstream_queued > 0)
        snprintf(up, sizeof up, "  central %lld queued", v->upstream_queued);
    else if (v->upstream_configured)
        snprintf(up, sizeof up, "  central ok");
    snprintf(right, sizeof right, "%s%s%s  %s", v->engineer_mode ? "ENG  " : "", mode, up, clock);

    char left[320];
    const char *dot = s->g.mid_dot;
    int rx = ui_put_right(0, cols, cols, right, ui_attr(s, UI_TONE_TITLE));
    /* Narrow terminals lose the station's name first, then the chip, never the profile. */
    snprintf(left, sizeof left, "trayflash  %s %s %s %s %s %s @%u", v->station_name, dot,
             v->profile_name, v->image_sha_prefix, dot, v->chip[0] ? v->chip : "?", v->baud);
    if (ui_text_cols(left) > rx - 1)
        snprintf(left, sizeof left, "%s %s %s %s @%u", v->profile_name, v->image_sha_prefix, dot,
                 v->chip[0] ? v->chip : "?", v->baud);
    if (ui_text_cols(left) > rx - 1)
        snprintf(left, sizeof left, "%s %s", v->profile_name, v->image_sha_prefix);
    bool warn = v->paused || v->shutting_down || v->db_pending || v->lot_waiting;
    if (warn || v->tray_done)
        ui_put(0, rx + (v->engineer_mode ? 5 : 0), (int)strlen(mode), mode,
               ui_attr(s, warn ? UI_TONE_WARN : UI_TONE_PASS));
    if (v->upstream_configured && v->upstream_away)
        ui_put(0, rx + (v->engineer_mode ? 5 : 0) + (int)strlen(mode) + 2, (int)strlen(up) - 2,
               up + 2, ui_attr(s, UI_TONE_WARN));
    ui_put(0, 0, rx - 1, left, ui_attr(s, UI_TONE_TITLE));
}

static void draw_counts(const ui_state *s)
{
    const station_view *v = s->view;
    char ys[16], yt[40], fp[16], line[256];
    fmt_percent(ys, sizeof ys, v->yield_session);
    fmt_percent(yt, sizeof yt, v->yield_today);
    if (v->today_modules > 0) { /* how many modules the day's figure stands on */
        size_t n = strlen(yt);
        snprintf(yt + n, sizeof yt - n, " of %d", v->today_modules);
    }
    fmt_percent(fp, sizeof fp, v->first_pass_today);
    const char *bar = s->g.vline;
    snprintf(line, sizeof line, "pass %d fail %d run %d idle %d %s yield %s  today %s  first-pass %s %s %.0f/h",
             v->pass, v->fail, v->running, v->idle, bar, ys, yt, fp, bar, v->modules_per_hour);
    if (ui_text_cols(line) > s->layout.cols)
        snprintf(line, sizeof line, "pass %d fail %d run %d idle %d %s yield %s today %s 1st-pass %s %s %.0f/h",
                 v->pass, v->fail, v->running, v->idle, bar, ys, yt, fp, bar, v->modules_per_hour);
    if (ui_text_cols(line) > s->layout.cols) /* narrow: the numbers that matter most first */
        snprintf(line, sizeof line, "pass %d fail %d run %d %s yield %s %s %.0f/h idle %d", v->pass,
                 v->fail, v->running, bar, ys, bar, v->modules_per_hour, v->idle);
    if (v->lot[0] || v->operator_id[0]) { /* who and what is being run, when it fits */
        char with_lot[400];
        snprintf(with_lot, sizeof with_lot, "%s %s lot %s op %s", line, bar,
                 v->lot[0] ? v->lot : "-", v->operator_id[0] ? v->operator_id : "-");
        size_t n = strlen(with_lot);
        if (ui_text_cols(with_lot) <= s->layout.cols && n < sizeof line)
            memcpy(line, with_lot, n + 1);
    }
    ui_put(1, 0, s->layout.cols, line, A_NORMAL);
}

/* A failed tile names its cause on line 1 when it fits whole, else on line 2: the name is
 * never cut. */
static bool cause_fits_line1(const bay_view *b, int inner_cols)
{
    char label[8];
    ui_bay_label(b, label, sizeof label);
    return ui_text_cols(label) + 6 + ui_text_cols(bk_cause_name(b->cause)) <= inner_cols;
}

/* Line 1: label, state word, then a mini bar and percent (2-line tiles), the cause's name
 * (FAIL) or the time; the time gives way first when space is short. */
static void draw_tile_line1(const ui_state *s, const bay_view *b, int y, int x, int w, bool sel)
{
    char label[8], right[24] = "";
    ui_bay_label(b, label, sizeof label);
    attr_t tone = ui_attr(s, ui_bay_tone(b));
    int end = x + w; /* the next tile's rule column separates */
    int cx = x + ui_put(y, x, w, label, sel ? A_REVERSE | A_BOLD : A_BOLD);
    cx += 1;
    cx += ui_put(y, cx, end - cx, b->asking ? "ASK" : ui_state_word(b->state), tone);

    bool three = s->layout.tile_lines >= 3;
    if (b->asking) {
        ui_put_right(y, end, end - cx - 1, "y/n", tone);
        return;
    }
    if (is_working(b->state) && !three)
        snprintf(right, sizeof right, "%d%%", percent_of(b->progress));
    else if (b->state == BAY_PASS || b->state == BAY_FAIL || (b->state != BAY_IDLE && b->state != BAY_EMPTY && b->started_ts > 0))
        snprintf(right, sizeof right, "%s%.1fs", b->state == BAY_PASS && b->warning != BK_CAUSE_NONE ? "! " : "", b->elapsed_s);

    int mid_x = cx + 1;
    if (b->state == BAY_FAIL && cause_fits_line1(b, w)) {
        const char *name = bk_cause_name(b->cause);
        if (ui_text_cols(name) > end - ui_text_cols(right) - 1 - mid_x)
            right[0] = 0;
        int rx = end - ui_text_cols(right);
        ui_put(y, mid_x, rx - 1 - mid_x, name, tone);
        ui_put(y, rx, end - rx, right, A_NORMAL);
        return;
    }
    int rx = ui_put_right(y, end, end - mid_x, right, A_NORMAL);
    if (is_working(b->state) && !three && rx - 1 - mid_x >= 3)
        draw_bar(s, y, mid_x, rx - 1 - mid_x, b->progress, tone);
}

/* What matters now for the bay, in words; a FAIL's remedy continues on line 3 when there is
 * one (returned in *more). */
ui_tone ui_tile_context(const bay_view *b, char *out, size_t outlen, const char **more,
                        int width, bool name_first)
{
    *more = NULL;
    if (b->asking) { /* the job waits for the operator: nothing matters more */
        snprintf(out, outlen, "re-flash? y/n");
        return UI_TONE_WARN;
    }
    if (b->power_cycle_needed && (b->state == BAY_LINK || b->state == BAY_IDLE)) {
        snprintf(out, outlen, "power-cycle now!");
        return UI_TONE_WARN;
    }
    switch (b->state) {
    case BAY_EMPTY:
        snprintf(out, outlen, "no adapter");
        return UI_TONE_IDLE;
    case BAY_IDLE:
        snprintf(out, outlen, "plug a module");
        return UI_TONE_IDLE;
    case BAY_LINK:
        if (b->retries > 0)
            snprintf(out, outlen, "retry %d, linking", b->retries);
        else
            snprintf(out, outlen, "reset, waiting");
        return UI_TONE_PLAIN;
    case BAY_IDENTIFY:
        snprintf(out, outlen, "%s @%u", b->chip[0] ? b->chip : "identify", b->baud);
        return UI_TONE_PLAIN;
    case BAY_BACKUP: /* "12/39 ranges": kept before anything is erased */
        snprintf(out, outlen, "%u/%u ranges 0x%05X", b->backup_done, b->backup_total, b->address);
        if (ui_text_cols(out) > width)
            snprintf(out, outlen, "%u/%u ranges", b->backup_done, b->backup_total);
        return UI_TONE_PLAIN;
    case BAY_ERASE:
        snprintf(out, outlen, "erase 0x%05X", b->address);
        return UI_TONE_PLAIN;
    case BAY_WRITE:
        snprintf(out, outlen, "%.0f KB/s 0x%05X", b->rate_bps / 1000.0, b->address);
        if (b->retries > 0 && strlen(out) + 4 <= (size_t)width)
            snprintf(out + strlen(out), outlen - strlen(out), " r%d", b->retries);
        return UI_TONE_PLAIN;
    case BAY_VERIFY:
        snprintf(out, outlen, "CRC check @%u", b->baud);
        return UI_TONE_PLAIN;
    case BAY_PASS:
        snprintf(out, outlen, "%s", b->mac[0] ? b->mac : "passed");
        return UI_TONE_PLAIN;
    case BAY_FAIL: {
        char text[300];
        int prefix = snprintf(text, sizeof text, "%s%s[!] ", name_first ? bk_cause_name(b->cause) : "",
                              name_first ? " " : "");
        snprintf(text + prefix, sizeof text - (size_t)prefix, "%s", bk_cause_remedy(b->cause));
        size_t n = ui_text_fit(text, width, true, more);
        snprintf(out, outlen, "%.*s", (int)n, text);
        /* *more points into `text`: hand back a place in the table's remedy instead. */
        if (*more && **more && *more - text >= prefix)
            *more = bk_cause_remedy(b->cause) + (*more - text - prefix);
        else if (*more && **more)
            *more = bk_cause_remedy(b->cause);
        else
            *more = NULL;
        return UI_TONE_WARN;
    }
    default:
        out[0] = 0;
        return UI_TONE_PLAIN;
    }
}

static void draw_tile_line3(const ui_state *s, const bay_view *b, int y, int x, int iw,
                            const char *more)
{
    char text[160] = "";
    attr_t attr = A_NORMAL;
    if (b->asking) { /* what the question is about: where and when it passed */
        ui_put(y, x, iw, b->question, ui_attr(s, UI_TONE_WARN));
        return;
    }
    if (is_working(b->state)) {
        char pct[8];
        snprintf(pct, sizeof pct, " %3d%%", percent_of(b->progress));
        int pw = ui_text_cols(pct);
        draw_bar(s, y, x, iw - pw, b->progress, ui_attr(s, UI_TONE_WORK));
        ui_put(y, x + iw - pw, pw, pct, A_NORMAL);
        return;
    }
    switch (b->state) {
    case BAY_FAIL:
        if (more) {
            const char *rest;
            size_t n = ui_text_fit(more, iw - 4, true, &rest);
            snprintf(text, sizeof text, "    %.*s", (int)n, more);
        }
        else if (b->mac[0])
            snprintf(text, sizeof text, "%s", b->mac);
        attr = ui_attr(s, UI_TONE_WARN);
        break;
    case BAY_PASS:
        if (b->warning != BK_CAUSE_NONE) {
            snprintf(text, sizeof text, "! %s overcome", bk_cause_name(b->warning));
            attr = ui_attr(s, UI_TONE_WARN);
        } else {
            snprintf(text, sizeof text, "%s @%u", b->chip[0] ? b->chip : "", b->baud);
        }
        break;
    default: {
        const char *slash = strrchr(b->port, '/');
        snprintf(text, sizeof text, "%s", slash ? slash + 1 : b->port);
        attr = ui_attr(s, UI_TONE_IDLE);
    }
    }
    ui_put(y, x, iw, text, attr);
}

static void draw_tile(const ui_state *s, const bay_view *b, int y, int x, int w, bool first_col,
                      bool sel)
{
    const ui_layout *l = &s->layout;
    for (int i = 0; i < l->tile_lines; i++) {
        if (sel && i == 0)
            ui_put(y, x, 1, s->g.select, A_BOLD);
        else if (!first_col)
            ui_put(y + i, x, 1, s->g.vline, A_NORMAL);
    }
    int ix = x + 1, iw = w - 1;
    draw_tile_line1(s, b, y, ix, iw, sel);
    char ctx[160];
    const char *more;
    /* Indent 2: a MAC (17 columns) just fits a 19-column tile. */
    ui_tone tone = ui_tile_context(b, ctx, sizeof ctx, &more, iw - 2, !cause_fits_line1(b, iw));
    ui_put(y + 1, ix + 2, iw - 2, ctx, ui_attr(s, tone));
    if (l->tile_lines >= 3)
        draw_tile_line3(s, b, y + 2, ix + 2, iw - 2, more);
}

static void draw_grid(ui_state *s)
{
    ui_layout *l = &s->layout;
    const station_view *v = s->view;
    if (v->n_bays <= 0) {
        ui_put(l->grid_top, 1, l->cols - 1, "no bays configured", ui_attr(s, UI_TONE_IDLE));
        return;
    }
    s->scroll = ui_layout_scroll(l, s->scroll, s->selected % l->rows_per_column);
    for (int i = 0; i < v->n_bays; i++) {
        int col = i / l->rows_per_column, row = i % l->rows_per_column - s->scroll;
        if (row < 0 || row >= l->visible_rows)
            continue;
        draw_tile(s, &v->bays[i], l->grid_top + row * l->tile_lines, col * l->tile_cols,
                  l->tile_cols, col == 0, i == s->selected);
    }
}

static void draw_rule(const ui_state *s)
{
    const ui_layout *l = &s->layout;
    ui_repeat(l->sep_line, 0, l->cols, s->g.hline, A_NORMAL);
    int right_end = l->cols - 1;
    if (l->visible_rows < l->rows_per_column) {
        char more[64];
        snprintf(more, sizeof more, " rows %d-%d of %d %s ", s->scroll + 1,
                 s->scroll + l->visible_rows, l->rows_per_column, s->g.scroll_more);
        right_end = ui_put_right(l->sep_line, right_end, l->cols / 2, more, A_BOLD);
    }
    if (s->status[0] && ui_now_s() < s->status_until_s) {
        char msg[220];
        snprintf(msg, sizeof msg, " %s ", s->status);
        ui_put(l->sep_line, 1, right_end - 2, msg, A_BOLD);
    }
}

static void draw_events(const ui_state *s)
{
    const ui_layout *l = &s->layout;
    const station_view *v = s->view;
    for (int i = 0; i < l->events_lines && i < v->n_events; i++) {
        const char *ev = v->events[v->n_events - 1 - i]; /* newest first */
        attr_t a = strstr(ev, " FAIL ") ? ui_attr(s, UI_TONE_FAIL) : A_NORMAL;
        ui_put(l->events_top + i, 0, l->cols, ev, a);
    }
}

static void draw_keys(const ui_state *s)
{
    char keys[200];
    snprintf(keys, sizeof keys, "?help  %s bay  %s detail  r retry  p %s  %s  q quit",
             s->g.keys_move, s->g.key_enter, s->view->paused ? "resume" : "pause",
             s->view->engineer_mode ? "s profile" : "e engineer");
    if (ui_text_cols(keys) > s->layout.cols)
        snprintf(keys, sizeof keys, "?help  %s detail  r retry  p %s  %s  q quit", s->g.key_enter,
                 s->view->paused ? "resume" : "pause", s->view->engineer_mode ? "s profile" : "e eng");
    ui_put(s->layout.keys_line, 0, s->layout.cols, keys, ui_attr(s, UI_TONE_IDLE) | A_BOLD);
}

static void draw_too_small(const ui_state *s)
{
    const ui_layout *l = &s->layout;
    char size[64];
    snprintf(size, sizeof size, "%dx%d, need %dx%d", l->cols, l->rows, UI_MIN_COLS, UI_MIN_ROWS);
    const char *lines[] = {"terminal too small", size, "q quits"};
    int top = l->rows / 2 - 1;
    for (int i = 0; i < 3; i++) {
        int w = ui_text_cols(lines[i]);
        int x = w < l->cols ? (l->cols - w) / 2 : 0;
        if (top + i >= 0 && top + i < l->rows)
            ui_put(top + i, x, l->cols - x, lines[i], i == 0 ? A_BOLD : A_NORMAL);
    }
}

void ui_draw_dashboard(ui_state *s)
{
    ui_layout_compute(&s->layout, COLS, LINES, s->view->n_bays);
    if (s->selected >= s->view->n_bays)
        s->selected = s->view->n_bays > 0 ? s->view->n_bays - 1 : 0;
    erase();
    if (s->layout.too_small) {
        draw_too_small(s);
        return;
    }
    draw_header(s);
    draw_counts(s);
    draw_grid(s);
    draw_rule(s);
    draw_events(s);
    draw_keys(s);
}
