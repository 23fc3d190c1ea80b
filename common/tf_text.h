/* tf_text.h - bytes from a file, made safe to print on a terminal.
 *
 * An error that quotes a file's content (a key, a value, a section title, a file name found in
 * a folder) must not pass the file's control bytes to the operator's terminal: an ESC sequence
 * there can rewrite the screen or the title bar. C0 controls, DEL, C1 controls (U+0080..U+009F)
 * and bytes that are not UTF-8 become "\xNN"; printable ASCII and well-formed UTF-8 stay. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Copies `in` to `out` (always NUL-terminated when outlen > 0), escaped; cuts at a whole
 * character when out is too small. Returns the escaped length it wanted (like snprintf). */
size_t tf_text_escape(const char *in, char *out, size_t outlen);

/* Whether `s` prints as it is: nothing in it would be escaped. Values that a station shows on
 * a terminal (names, products, paths) are held to this when a file gives them. */
bool tf_text_is_printable(const char *s);

/* Escapes `buf` (a NUL-terminated string in a buffer of `cap` bytes) in place, cutting the
 * result to fit. For messages composed with file text in them: the fixed words are plain. */
void tf_text_escape_inplace(char *buf, size_t cap);
