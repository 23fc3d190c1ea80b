/* tf_ini.c - whole-line reading for libinih; see tf_ini.h. */
#include "tf_ini.h"
#include <string.h>

void tf_ini_reader_init(tf_ini_reader *r, const char *text, size_t len,
                        bool (*on_header)(void *user, const char *hdr, int line), void *user)
{
    memset(r, 0, sizeof *r);
    r->text = text;
    r->len = len;
    r->on_header = on_header;
    r->user = user;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

char *tf_ini_read_line(char *str, int num, void *stream)
{
    tf_ini_reader *r = stream;
    if (r->stop || r->pos >= r->len || num < 4)
        return NULL;
    const char *start = r->text + r->pos;
    const char *nl = memchr(start, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : r->len - r->pos;
    r->line++;
    r->pos += n;
    r->max_len = num - 3; /* the buffer less the NUL, the '\n' and a '\r' */
    const char *t = start;
    while (t < start + n && is_blank(*t))
        t++;
    if (n > (size_t)num - 1) {
        if (t < start + n && (*t == ';' || *t == '#')) {
            /* A comment: cut it (inih would have cut it too, and fed the tail as a line). */
            memcpy(str, start, (size_t)num - 2);
            str[num - 2] = '\n';
            str[num - 1] = '\0';
            r->indented = false;
            return str;
        }
        r->too_long_line = r->line;
        r->stop = true;
        return NULL;
    }
    memcpy(str, start, n);
    str[n] = '\0';

    const char *s = str;
    if (r->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3; /* inih skips a UTF-8 BOM too */
    r->indented = is_blank(*s);
    while (is_blank(*s))
        s++;
    if (*s == '[' && r->on_header && !r->on_header(r->user, s, r->line)) {
        r->stop = true;
        return NULL;
    }
    return str;
}
