/* tf_text.c - escaping file bytes for the terminal; see tf_text.h. */
#include "tf_text.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 character at s (1..4) that is safe to print, or 0 when the
 * byte at s must be escaped (a control, a C1 control, or not UTF-8). */
static size_t printable_char_len(const unsigned char *s)
{
    if (s[0] >= 0x20 && s[0] < 0x7F)
        return 1;
    if (s[0] < 0xC2 || s[0] > 0xF4) /* controls, DEL, continuation bytes, overlong leads */
        return 0;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp <= 0x9F) /* C1 controls: 0x9B is CSI to some terminals */
        return 0;
    return n;
}

size_t tf_text_escape(const char *in, char *out, size_t outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t want = 0, used = 0;
    bool full = false;
    while (*s) {
        char esc[5];
        const char *piece = (const char *)s;
        size_t n = printable_char_len(s), adv = n;
        if (!n) {
            snprintf(esc, sizeof esc, "\\x%02X", *s);
            piece = esc;
            n = 4;
            adv = 1;
        }
        want += n;
        if (!full && outlen && used + n < outlen) {
            memcpy(out + used, piece, n);
            used += n;
        } else {
            full = true;
        }
        s += adv;
    }
    if (outlen)
        out[used] = '\0';
    return want;
}

bool tf_text_is_printable(const char *s)
{
    return tf_text_escape(s, NULL, 0) == strlen(s);
}

void tf_text_escape_inplace(char *buf, size_t cap)
{
    size_t n = strlen(buf);
    char *copy = malloc(n + 1);
    if (!copy) { /* no memory for the copy: blank the bytes that must not reach a terminal */
        for (unsigned char *p = (unsigned char *)buf; *p; p++)
            if (*p < 0x20 || *p == 0x7F || *p >= 0x80)
                *p = '?';
        return;
    }
    memcpy(copy, buf, n + 1);
    tf_text_escape(copy, buf, cap);
    free(copy);
}
