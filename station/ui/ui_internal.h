/* ui_internal.h - shared between the files of station/ui/ only; ui.h is the folder's face.
 * Everything here runs on the UI thread. */
#pragma once
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include "station_view.h"

enum { UI_MIN_COLS = 40, UI_MIN_ROWS = 12 };

/* Glyphs: UTF-8 when the locale allows it, plain ASCII otherwise. Every glyph is one column. */
typedef struct ui_glyphs {
    bool utf8;
    const char *vline, *hline, *bar_full, *bar_empty, *select, *idle_dot;
    const char *keys_move, *key_enter, *mid_dot, *scroll_more;
} ui_glyphs;
void ui_glyphs_init(ui_glyphs *g, bool utf8);

/* Where everything goes for a terminal size and a bay count; pure arithmetic (no curses),
 * so it is unit-tested. Tiles are laid out in columns: bay index i sits in column
 * i / rows_per_column, row i % rows_per_column. */
typedef struct ui_layout {
    int cols, rows;
    bool too_small;
    int tile_lines;       /* 2, or 3 (progress bar and MAC) when there is room */
    int tile_cols;        /* width of a tile including its one-column separator/marker */
    int n_columns;        /* tile columns in use */
    int rows_per_column;  /* tile rows in all (ceil(n_bays / n_columns)) */
    int visible_rows;     /* tile rows that fit; < rows_per_column means scrolling */
    int grid_top, grid_lines;
    int sep_line;         /* the rule under the grid; carries the status message */
    int events_top, events_lines;
    int keys_line;
} ui_layout;
void ui_layout_compute(ui_layout *l, int cols, int rows, int n_bays);
/* The first visible tile row so that tile row `selected_row` is on screen, moving `scroll` as
 * little as possible. */
int ui_layout_scroll(const ui_layout *l, int scroll, int selected_row);
/* The bay index after moving the selection by (dcol, drow) tiles; stays put at the edges. */
int ui_layout_move(const ui_layout *l, int n_bays, int index, int dcol, int drow);

/* Display text: UTF-8 strings measured in columns (ASCII fallback for bytes the locale
 * cannot decode). */
int ui_text_cols(const char *s);
/* Bytes of `s` that fill at most `maxcols` columns, cut at a space when `at_word` (a single
 * word longer than the line is cut anyway). *next_out skips the spaces after the cut. */
size_t ui_text_fit(const char *s, int maxcols, bool at_word, const char **next_out);
/* Draws `s` at (y, x), at most `maxcols` columns; returns the columns drawn. */
int ui_put(int y, int x, int maxcols, const char *s, attr_t attr);
/* Draws `glyph` n times. */
void ui_repeat(int y, int x, int n, const char *glyph, attr_t attr);
/* Draws `s` right-aligned so that it ends before column x_end; returns its first column. */
int ui_put_right(int y, int x_end, int maxcols, const char *s, attr_t attr);

typedef enum ui_tone {
    UI_TONE_PLAIN = 0,
    UI_TONE_PASS,
    UI_TONE_FAIL,
    UI_TONE_WORK,
    UI_TONE_IDLE,
    UI_TONE_WARN,
    UI_TONE_TITLE,
} ui_tone;

typedef enum ui_overlay {
    UI_OVERLAY_NONE = 0,
    UI_OVERLAY_HELP,
    UI_OVERLAY_DETAIL,
    UI_OVERLAY_CONFIRM_QUIT,
    UI_OVERLAY_PROMPT,
} ui_overlay;

typedef enum ui_prompt_kind {
    UI_PROMPT_PIN = 0,      /* engineer PIN, never echoed */
    UI_PROMPT_PROFILE,      /* a profile path */
    UI_PROMPT_SCOPE,        /* apply the profile to the selected bay or all: one key */
    UI_PROMPT_LOT,          /* the lot id (scanned or typed) */
    UI_PROMPT_OPERATOR,     /* then the operator id */
} ui_prompt_kind;

typedef struct ui_state {
    const station_actions *actions;
    station_view *view;     /* the last snapshot (heap: it is large) */
    ui_glyphs g;
    bool colour;
    ui_layout layout;
    int selected;           /* index into view->bays */
    int scroll;             /* first visible tile row */
    ui_overlay overlay;
    int detail_scroll;
    ui_prompt_kind prompt;
    char input[256];
    size_t input_len;
    char profile_path[256]; /* kept between the path prompt and the scope question */
    char lot_input[256];    /* kept between the lot prompt and the operator prompt */
    char status[200];
    double status_until_s;  /* monotonic seconds */
    bool quit;              /* the operator asked to leave */
    bool view_stale;        /* take a snapshot at the next frame */
} ui_state;

attr_t ui_attr(const ui_state *s, ui_tone tone);
ui_tone ui_bay_tone(const bay_view *b);
const char *ui_state_word(bay_state st);
/* The label printed in a tile and the detail view: the bay's short name, else its number. */
void ui_bay_label(const bay_view *b, char *out, size_t outlen);
/* A tile's context line (line 2): what matters now for the bay in at most `width` columns
 * ("12/39 ranges 0x1E0000" while it backs up); a FAIL's remedy continues in *more. */
ui_tone ui_tile_context(const bay_view *b, char *out, size_t outlen, const char **more, int width,
                        bool name_first);
void ui_set_status(ui_state *s, const char *msg);

void ui_draw_dashboard(ui_state *s);
void ui_draw_overlay(const ui_state *s);
/* How far the detail view of the selected bay can scroll at this terminal size. */
int ui_detail_max_scroll(const ui_state *s);

/* One key from getch(); may call the station's actions. */
void ui_handle_key(ui_state *s, int key);
double ui_now_s(void);
