/* ui_layout.c - where the header, the tiles, the event strip and the key line go for a
 * terminal size. Pure arithmetic so that every size can be unit-tested without a terminal.
 *
 * Policy (docs/ui-sketches.md §1): all bays at a glance first; tiles no narrower than 20 columns
 * (19 + separator) and no wider than 32 (wider says nothing more); a third tile line only when
 * all bays still fit with it and the event strip keeps a few lines; scrolling only as the last
 * resort. */
#include "ui_internal.h"

enum {
    TILE_MIN_COLS = 20,
    TILE_MAX_COLS = 32,
    EVENTS_MIN_WITH_3_LINES = 4,
    EVENTS_MIN_WITH_2_LINES = 2,
    EVENTS_MIN_SCROLLING = 1,
    FIXED_LINES = 4,  /* header, counts, rule, keys */
};

static int div_up(int a, int b) { return (a + b - 1) / b; }

/* Fewest columns (widest tiles) with which every bay fits in grid_avail lines; 0 if none. */
static int columns_that_fit(int n_bays, int min_cols, int max_cols, int tile_lines, int grid_avail)
{
    for (int nc = min_cols; nc <= max_cols; nc++)
        if (div_up(n_bays, nc) * tile_lines <= grid_avail)
            return nc;
    return 0;
}

void ui_layout_compute(ui_layout *l, int cols, int rows, int n_bays)
{
    *l = (ui_layout){.cols = cols, .rows = rows};
    l->too_small = cols < UI_MIN_COLS || rows < UI_MIN_ROWS;
    if (l->too_small)
        return;
    int n = n_bays > 0 ? n_bays : 1;
    int max_cols = cols / TILE_MIN_COLS;
    int min_cols = div_up(cols, TILE_MAX_COLS);
    if (max_cols > n)
        max_cols = n;
    if (min_cols > max_cols)
        min_cols = max_cols;
    int avail = rows - FIXED_LINES;

    int nc = columns_that_fit(n, min_cols, max_cols, 3, avail - EVENTS_MIN_WITH_3_LINES);
    l->tile_lines = 3;
    if (!nc) {
        nc = columns_that_fit(n, min_cols, max_cols, 2, avail - EVENTS_MIN_WITH_2_LINES);
        l->tile_lines = 2;
    }
    l->n_columns = nc ? nc : max_cols;
    l->rows_per_column = div_up(n, l->n_columns);
    if (nc) {
        l->visible_rows = l->rows_per_column;
    } else {
        l->visible_rows = (avail - EVENTS_MIN_SCROLLING) / l->tile_lines;
        if (l->visible_rows < 1)
            l->visible_rows = 1;
    }
    l->tile_cols = cols / l->n_columns;
    l->grid_top = 2;
    l->grid_lines = l->visible_rows * l->tile_lines;
    l->sep_line = l->grid_top + l->grid_lines;
    l->events_top = l->sep_line + 1;
    l->keys_line = rows - 1;
    l->events_lines = l->keys_line - l->events_top;
}

int ui_layout_scroll(const ui_layout *l, int scroll, int selected_row)
{
    if (selected_row < scroll)
        scroll = selected_row;
    if (selected_row >= scroll + l->visible_rows)
        scroll = selected_row - l->visible_rows + 1;
    int max_scroll = l->rows_per_column - l->visible_rows;
    if (scroll > max_scroll)
        scroll = max_scroll;
    return scroll < 0 ? 0 : scroll;
}

int ui_layout_move(const ui_layout *l, int n_bays, int index, int dcol, int drow)
{
    int rpc = l->rows_per_column;
    if (rpc < 1 || n_bays < 1)
        return 0;
    int col = index / rpc + dcol, row = index % rpc + drow;
    if (row < 0 || row >= rpc || col < 0 || col >= l->n_columns)
        return index;
    int j = col * rpc + row;
    if (j < n_bays)
        return j;
    /* The last column may be short: a sideways move lands on its last bay. */
    if (dcol != 0 && (n_bays - 1) / rpc == col)
        return n_bays - 1;
    return index;
}
