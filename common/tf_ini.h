/* tf_ini.h - whole lines for libinih, from a text already in memory.
 *
 * libinih reads through an fgets-like callback into a fixed buffer (200 bytes in Debian's
 * build, no realloc) and does not tell its handler the line number. A plain fgets cuts a long
 * line in pieces: the tail of a long comment becomes a setting of its own, and every later
 * line number is off. This reader hands inih one whole line per call, so the caller's line
 * count is the file's; a comment too long for inih's buffer is cut (its words do not matter),
 * any other line too long is refused (too_long_line names it) so nothing is cut silently. It
 * also sees each [section] header first-hand, with its line, so duplicates can be refused.
 * Use: ini_parse_stream(tf_ini_read_line, &reader, handler, user). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct tf_ini_reader {
    const char *text;    /* the file's text, NUL-terminated, and its length */
    size_t len;
    /* Called for each [section] header line (hdr starts at '['; the rest of the line follows).
     * Returning false stops the parse. May be NULL. */
    bool (*on_header)(void *user, const char *hdr, int line);
    void *user;

    /* state, read by the caller */
    size_t pos;
    int line;            /* of the line last handed to inih (1-based) */
    bool indented;       /* that line began with a blank (inih takes it as a continuation) */
    bool stop;           /* set by the caller (or on_header) to end the parse at this line */
    int too_long_line;   /* 0, or the line refused as longer than inih's buffer */
    int max_len;         /* the longest line inih takes, for the message */
} tf_ini_reader;

/* Starts a reader over text[0..len). */
void tf_ini_reader_init(tf_ini_reader *r, const char *text, size_t len,
                        bool (*on_header)(void *user, const char *hdr, int line), void *user);

/* The reader callback for ini_parse_stream (stream = the tf_ini_reader). */
char *tf_ini_read_line(char *str, int num, void *stream);
