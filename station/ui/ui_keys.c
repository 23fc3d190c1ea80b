/* ui_keys.c - what each key does, per window. The station decides and answers in words
 * (station_actions fill `msg`); the dashboard only shows those words in its status line. */
#include "ui_internal.h"
#include <stdio.h>
#include <string.h>

enum { KEY_ESCAPE = 27, KEY_DEL = 127, KEY_CTRL_H = 8 };

static bool is_enter(int key) { return key == '\n' || key == '\r' || key == KEY_ENTER; }

static const bay_view *selected_bay(const ui_state *s)
{
    return s->view->n_bays > 0 ? &s->view->bays[s->selected] : NULL;
}

/* Shows the station's answer, or words of our own when it gave none. */
static void report(ui_state *s, int rc, const char *msg, const char *ok_words, const char *what)
{
    char text[200];
    if (msg[0])
        snprintf(text, sizeof text, "%s", msg);
    else if (rc == 0)
        snprintf(text, sizeof text, "%s", ok_words);
    else
        snprintf(text, sizeof text, "%s refused (error %d)", what, rc);
    ui_set_status(s, text);
    s->view_stale = true;
}

static void act_retry(ui_state *s)
{
    const bay_view *b = selected_bay(s);
    if (!b)
        return;
    char label[8], msg[200] = "", ok[64];
    ui_bay_label(b, label, sizeof label);
    if (b->state != BAY_FAIL) {
        snprintf(msg, sizeof msg, "bay %s is %s: only a failed bay can be retried", label,
                 ui_state_word(b->state));
        ui_set_status(s, msg);
        return;
    }
    if (!s->actions->retry_bay) {
        ui_set_status(s, "retry is not available on this station");
        return;
    }
    int rc = s->actions->retry_bay(s->actions->ctx, b->bay, msg, sizeof msg);
    snprintf(ok, sizeof ok, "bay %s: retry started", label);
    report(s, rc, msg, ok, "retry");
}

/* y / n on a bay that asks (on_already_passed = ask): re-flash its module, or leave it. */
static void act_answer(ui_state *s, bool reflash)
{
    const bay_view *b = selected_bay(s);
    if (!b)
        return;
    char label[8], msg[200] = "", ok[64];
    ui_bay_label(b, label, sizeof label);
    if (!b->asking) {
        snprintf(msg, sizeof msg, "bay %s asks nothing: y/n answer a bay showing ASK", label);
        ui_set_status(s, msg);
        return;
    }
    if (!s->actions->answer_bay) {
        ui_set_status(s, "answers are not available on this station");
        return;
    }
    int rc = s->actions->answer_bay(s->actions->ctx, b->bay, reflash, msg, sizeof msg);
    snprintf(ok, sizeof ok, "bay %s: %s", label, reflash ? "re-flashing" : "skipped");
    report(s, rc, msg, ok, "answer");
}

static void act_pause(ui_state *s)
{
    if (!s->actions->set_paused) {
        ui_set_status(s, "pause is not available on this station");
        return;
    }
    char msg[200] = "";
    bool want = !s->view->paused;
    int rc = s->actions->set_paused(s->actions->ctx, want, msg, sizeof msg);
    report(s, rc, msg, want ? "paused: no new jobs start" : "resumed", want ? "pause" : "resume");
}

static void act_quit(ui_state *s)
{
    if (s->actions->request_quit)
        s->actions->request_quit(s->actions->ctx);
    s->quit = true;
}

static void open_prompt(ui_state *s, ui_prompt_kind kind)
{
    s->overlay = UI_OVERLAY_PROMPT;
    s->prompt = kind;
    s->input_len = 0;
    s->input[0] = 0;
}

static void close_prompt(ui_state *s)
{
    explicit_bzero(s->input, sizeof s->input); /* it may have held the PIN */
    s->input_len = 0;
    s->overlay = UI_OVERLAY_NONE;
}

static void submit_prompt(ui_state *s)
{
    char msg[200] = "";
    if (s->prompt == UI_PROMPT_PIN) {
        if (!s->actions->engineer_login) {
            ui_set_status(s, "engineer mode is not available on this station");
        } else {
            int rc = s->actions->engineer_login(s->actions->ctx, s->input, msg, sizeof msg);
            report(s, rc, msg, "engineer mode: s switches profile", "engineer login");
        }
        close_prompt(s);
    } else if (s->prompt == UI_PROMPT_LOT) {
        snprintf(s->lot_input, sizeof s->lot_input, "%s", s->input);
        open_prompt(s, UI_PROMPT_OPERATOR);
    } else if (s->prompt == UI_PROMPT_OPERATOR) {
        /* an empty answer keeps what the station has: scanning only a new lot is one Enter */
        const char *lot = s->lot_input[0] ? s->lot_input : NULL;
        const char *op = s->input_len ? s->input : NULL;
        if (!s->actions->set_lot) {
            ui_set_status(s, "lots are not available on this station");
        } else if (lot || op) {
            int rc = s->actions->set_lot(s->actions->ctx, lot, op, msg, sizeof msg);
            report(s, rc, msg, msg, "lot");
        }
        close_prompt(s);
    } else if (s->prompt == UI_PROMPT_PROFILE) {
        if (s->input_len == 0) {
            close_prompt(s);
            return;
        }
        snprintf(s->profile_path, sizeof s->profile_path, "%s", s->input);
        open_prompt(s, UI_PROMPT_SCOPE);
    }
}

static void apply_profile(ui_state *s, bool all)
{
    const bay_view *b = selected_bay(s);
    char msg[200] = "";
    if (!s->actions->switch_profile || !b) {
        ui_set_status(s, "switching profiles is not available on this station");
    } else {
        int rc = s->actions->switch_profile(s->actions->ctx, all ? 0 : b->bay, s->profile_path, msg,
                                            sizeof msg);
        report(s, rc, msg, "profile switched", "profile switch");
    }
    close_prompt(s);
}

static void prompt_key(ui_state *s, int key)
{
    if (key == KEY_ESCAPE) {
        close_prompt(s);
        return;
    }
    if (s->prompt == UI_PROMPT_SCOPE) {
        if (key == 'b' || key == 'B')
            apply_profile(s, false);
        else if (key == 'a' || key == 'A')
            apply_profile(s, true);
        return;
    }
    if (is_enter(key)) {
        submit_prompt(s);
    } else if (key == KEY_BACKSPACE || key == KEY_DEL || key == KEY_CTRL_H) {
        if (s->input_len > 0)
            s->input[--s->input_len] = 0;
    } else if (key >= 32 && key <= 255 && key != KEY_DEL && s->input_len + 1 < sizeof s->input) {
        s->input[s->input_len++] = (char)key; /* bytes: UTF-8 paths arrive one byte a key */
        s->input[s->input_len] = 0;
    }
}

static void move_selection(ui_state *s, int dcol, int drow)
{
    s->selected = ui_layout_move(&s->layout, s->view->n_bays, s->selected, dcol, drow);
}

static void dashboard_key(ui_state *s, int key)
{
    switch (key) {
    case '?':
        s->overlay = UI_OVERLAY_HELP;
        break;
    case KEY_UP: case 'k': move_selection(s, 0, -1); break;
    case KEY_DOWN: case 'j': move_selection(s, 0, 1); break;
    case KEY_LEFT: case 'h': move_selection(s, -1, 0); break;
    case KEY_RIGHT: case 'l': move_selection(s, 1, 0); break;
    case KEY_PPAGE: move_selection(s, 0, -s->layout.visible_rows); break;
    case KEY_NPAGE: move_selection(s, 0, s->layout.visible_rows); break;
    case 'r': act_retry(s); break;
    case 'y': act_answer(s, true); break;
    case 'n': act_answer(s, false); break;
    case 'p': act_pause(s); break;
    case 'L':
        s->lot_input[0] = 0;
        open_prompt(s, UI_PROMPT_LOT);
        break;
    case 'e':
        if (s->view->engineer_mode)
            ui_set_status(s, "engineer mode is on: s switches profile");
        else
            open_prompt(s, UI_PROMPT_PIN);
        break;
    case 's':
        if (s->view->engineer_mode)
            open_prompt(s, UI_PROMPT_PROFILE);
        else
            ui_set_status(s, "switching profile needs engineer mode: press e");
        break;
    case 'q':
        if (s->view->running > 0)
            s->overlay = UI_OVERLAY_CONFIRM_QUIT;
        else
            act_quit(s);
        break;
    case KEY_ESCAPE:
        s->status[0] = 0;
        break;
    default:
        if (is_enter(key) && s->view->n_bays > 0) {
            s->overlay = UI_OVERLAY_DETAIL;
            s->detail_scroll = 0;
        }
    }
}

static void detail_key(ui_state *s, int key)
{
    int max = ui_detail_max_scroll(s);
    switch (key) {
    case KEY_UP: case 'k': s->detail_scroll--; break;
    case KEY_DOWN: case 'j': s->detail_scroll++; break;
    case KEY_PPAGE: s->detail_scroll -= 10; break;
    case KEY_NPAGE: case ' ': s->detail_scroll += 10; break;
    /* Sideways walks the bays in number order without leaving the detail. */
    case KEY_LEFT: case 'h':
        if (s->selected > 0)
            s->selected--;
        s->detail_scroll = 0;
        break;
    case KEY_RIGHT: case 'l':
        if (s->selected + 1 < s->view->n_bays)
            s->selected++;
        s->detail_scroll = 0;
        break;
    case 'r': act_retry(s); break;
    case 'y': act_answer(s, true); break;
    case 'n': act_answer(s, false); break;
    case KEY_ESCAPE: case 'q':
        s->overlay = UI_OVERLAY_NONE;
        break;
    default:
        if (is_enter(key))
            s->overlay = UI_OVERLAY_NONE;
    }
    if (s->detail_scroll > max)
        s->detail_scroll = max;
    if (s->detail_scroll < 0)
        s->detail_scroll = 0;
}

void ui_handle_key(ui_state *s, int key)
{
    if (key == KEY_RESIZE) /* the next draw lays out for the new size */
        return;
    switch (s->overlay) {
    case UI_OVERLAY_NONE:
        dashboard_key(s, key);
        break;
    case UI_OVERLAY_HELP:
        if (key == KEY_ESCAPE || key == '?' || key == 'q' || is_enter(key))
            s->overlay = UI_OVERLAY_NONE;
        break;
    case UI_OVERLAY_DETAIL:
        detail_key(s, key);
        break;
    case UI_OVERLAY_CONFIRM_QUIT:
        if (key == 'y' || key == 'Y')
            act_quit(s);
        else
            s->overlay = UI_OVERLAY_NONE;
        break;
    case UI_OVERLAY_PROMPT:
        prompt_key(s, key);
        break;
    }
}
