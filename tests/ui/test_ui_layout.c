/* test_ui_layout.c - the dashboard's layout arithmetic for the sizes the operator meets. */
#include "check.h"
#include "ui_internal.h"
#include <stdio.h>
#include <stdlib.h>

/* Every layout must stay inside the terminal and keep its parts in order. */
static void check_inside(const ui_layout *l, int n)
{
    if (l->too_small)
        return;
    CHECK_MSG(l->n_columns * l->tile_cols <= l->cols, "%dx%d: tiles %d*%d wider than the terminal",
          l->cols, l->rows, l->n_columns, l->tile_cols);
    CHECK_MSG(l->tile_cols >= 20, "%dx%d: tile %d columns < 20", l->cols, l->rows, l->tile_cols);
    CHECK_MSG(l->grid_top + l->grid_lines == l->sep_line, "%dx%d: rule not under the grid", l->cols, l->rows);
    CHECK_MSG(l->events_lines >= 1, "%dx%d: no event line", l->cols, l->rows);
    CHECK_MSG(l->keys_line == l->rows - 1, "%dx%d: keys not on the last line", l->cols, l->rows);
    CHECK_MSG(l->events_top + l->events_lines == l->keys_line, "%dx%d: events overlap keys", l->cols, l->rows);
    CHECK_MSG(l->n_columns * l->rows_per_column >= n, "%dx%d: %d bays do not have a tile", l->cols, l->rows, n);
    CHECK_MSG(l->visible_rows >= 1 && l->visible_rows <= l->rows_per_column, "%dx%d: visible rows %d",
          l->cols, l->rows, l->visible_rows);
}

int main(void)
{
    ui_layout l;
    ui_layout_compute(&l, 80, 24, 32);
    CHECK_MSG(!l.too_small && l.n_columns == 4 && l.rows_per_column == 8, "80x24: %d columns x %d rows",
          l.n_columns, l.rows_per_column);
    CHECK_MSG(l.tile_lines == 2 && l.visible_rows == 8, "80x24: %d-line tiles, %d visible rows", l.tile_lines,
          l.visible_rows);
    CHECK_MSG(l.events_lines >= 3, "80x24: only %d event lines", l.events_lines);

    ui_layout_compute(&l, 120, 40, 32);
    CHECK_MSG(l.tile_lines == 3 && l.visible_rows == l.rows_per_column, "120x40: %d-line tiles, %d of %d rows",
          l.tile_lines, l.visible_rows, l.rows_per_column);

    ui_layout_compute(&l, 60, 20, 32);
    CHECK_MSG(l.visible_rows < l.rows_per_column, "60x20: all %d rows fit? expected scrolling", l.rows_per_column);
    CHECK_MSG(ui_layout_scroll(&l, 0, l.rows_per_column - 1) == l.rows_per_column - l.visible_rows,
          "60x20: scrolling to the last row");
    CHECK_MSG(ui_layout_scroll(&l, 3, 1) == 1, "60x20: scrolling back up to row 1");

    ui_layout_compute(&l, 39, 24, 32);
    CHECK_MSG(l.too_small, "39x24 must be too small");
    ui_layout_compute(&l, 80, 11, 32);
    CHECK_MSG(l.too_small, "80x11 must be too small");
    ui_layout_compute(&l, 40, 12, 32);
    CHECK_MSG(!l.too_small, "40x12 is the smallest usable size");

    /* Selection moves: columns hold consecutive bays; edges stay put; a short last column. */
    ui_layout_compute(&l, 80, 24, 30); /* 4 columns of 8: the last holds bays 25..30 */
    CHECK_MSG(ui_layout_move(&l, 30, 0, 1, 0) == 8, "right from bay 1 -> bay 9, got %d",
          ui_layout_move(&l, 30, 0, 1, 0) + 1);
    CHECK_MSG(ui_layout_move(&l, 30, 0, 0, -1) == 0, "up from bay 1 stays");
    CHECK_MSG(ui_layout_move(&l, 30, 0, -1, 0) == 0, "left from bay 1 stays");
    CHECK_MSG(ui_layout_move(&l, 30, 7, 0, 1) == 7, "down from the bottom stays");
    CHECK_MSG(ui_layout_move(&l, 30, 23, 1, 0) == 29, "right from bay 24 lands on the last bay 30, got %d",
          ui_layout_move(&l, 30, 23, 1, 0) + 1);
    CHECK_MSG(ui_layout_move(&l, 30, 29, 0, 1) == 29, "down from the last bay stays");

    for (int cols = 40; cols <= 200; cols += 7)
        for (int rows = 12; rows <= 60; rows += 5)
            for (int n = 1; n <= SV_MAX_BAYS; n *= 2) {
                ui_layout_compute(&l, cols, rows, n);
                check_inside(&l, n);
            }

    /* Text is measured in columns; cuts fall between words. */
    const char *next;
    size_t n = ui_text_fit("feed 3.3 V from a separate regulator", 12, true, &next);
    CHECK_MSG(n == 10 && next[0] == 'f', "cut at a word: %zu bytes, next '%s'", n, next);
    CHECK_MSG(ui_text_cols("abc") == 3, "ascii columns");

    /* Every bay state has its tile word; a bay backing up says BACKUP and its ranges. */
    for (int st = 0; st < BAY_STATE_COUNT; st++) {
        const char *w = ui_state_word((bay_state)st);
        CHECK_MSG(w && w[0] && strcmp(w, "?"), "bay state %d has no tile word", st);
    }
    CHECK_STR(ui_state_word(BAY_BACKUP), "BACKUP");
    static bay_view bv;
    bv.state = BAY_BACKUP;
    bv.backup_done = 12;
    bv.backup_total = 39;
    bv.address = 0x1E0000;
    CHECK(ui_bay_tone(&bv) == UI_TONE_WORK);
    char ctx[160];
    const char *more;
    ui_tile_context(&bv, ctx, sizeof ctx, &more, 40, false);
    CHECK_STR(ctx, "12/39 ranges 0x1E0000");
    ui_tile_context(&bv, ctx, sizeof ctx, &more, 16, false); /* a narrow tile keeps the count */
    CHECK_STR(ctx, "12/39 ranges");

    return CHECK_DONE();
}
