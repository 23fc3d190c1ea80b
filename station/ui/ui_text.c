/* ui_text.c - text measured in terminal columns, not bytes. Names, ports and events may carry
 * any bytes; what the locale cannot decode is shown as '?' instead of breaking the layout. */
#include "ui_internal.h"
#include <string.h>
#include <stdlib.h>
#include <wchar.h>

/* Decodes one character at s: its byte length (>= 1) and column width (0..2). */
static size_t next_char(const char *s, wchar_t *wc_out, int *width_out)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *wc_out = L'?';
        *width_out = 1;
        return 1;
    }
    int w = wcwidth(wc);
    if (w < 0) { /* control characters would move the cursor */
        wc = L'?';
        w = 1;
    }
    *wc_out = wc;
    *width_out = w;
    return n;
}

int ui_text_cols(const char *s)
{
    int cols = 0;
    while (*s) {
        wchar_t wc;
        int w;
        s += next_char(s, &wc, &w);
        cols += w;
    }
    return cols;
}

size_t ui_text_fit(const char *s, int maxcols, bool at_word, const char **next_out)
{
    const char *p = s, *last_space = NULL;
    int cols = 0;
    while (*p) {
        wchar_t wc;
        int w;
        size_t n = next_char(p, &wc, &w);
        if (cols + w > maxcols)
            break;
        if (*p == ' ')
            last_space = p;
        cols += w;
        p += n;
    }
    const char *end = p;
    if (*p && at_word && *p != ' ' && last_space && last_space > s)
        end = last_space;
    if (next_out) {
        const char *next = end;
        while (*next == ' ')
            next++;
        *next_out = next;
    }
    return (size_t)(end - s);
}

int ui_put(int y, int x, int maxcols, const char *s, attr_t attr)
{
    wchar_t buf[512];
    int n = 0, cols = 0;
    while (*s && n < (int)(sizeof buf / sizeof buf[0]) - 1) {
        wchar_t wc;
        int w;
        s += next_char(s, &wc, &w);
        if (cols + w > maxcols)
            break;
        buf[n++] = wc;
        cols += w;
    }
    buf[n] = 0;
    if (n == 0)
        return 0;
    attrset(attr);
    mvaddnwstr(y, x, buf, n);
    attrset(A_NORMAL);
    return cols;
}

void ui_repeat(int y, int x, int n, const char *glyph, attr_t attr)
{
    char buf[1024];
    size_t glen = strlen(glyph), len = 0;
    for (int i = 0; i < n && len + glen < sizeof buf; i++) {
        memcpy(buf + len, glyph, glen);
        len += glen;
    }
    buf[len] = 0;
    ui_put(y, x, n, buf, attr);
}

int ui_put_right(int y, int x_end, int maxcols, const char *s, attr_t attr)
{
    int w = ui_text_cols(s);
    if (w > maxcols)
        w = maxcols;
    int x = x_end - w;
    ui_put(y, x, w, s, attr);
    return x;
}
