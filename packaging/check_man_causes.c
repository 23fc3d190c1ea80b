/* check_man_causes.c - docs_man_causes: every failure cause of the engine's table
 * (bk_cause.h) is named in the man page by its id and its short name, so an operator who
 * reads a cause on the dashboard or in a report finds it under FAILURE CAUSES.
 * The page is read as roff source with the escapes that can sit inside those words
 * (\- \& \% and font changes \fB \fI \fR \fP) removed first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bk_cause.h"
#include "tf_file.h"

static char *read_all(const char *path)
{
    char *text, err[300];
    size_t len;
    if (tf_file_read_text(path, 1u << 22, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    return text;
}

/* Drops roff escapes that may split a word, in place. */
static void plain_text(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        if (p[0] == '\\' && (p[1] == '-' || p[1] == '&' || p[1] == '%')) {
            if (p[1] == '-')
                *o++ = '-';
            p += 2;
        } else if (p[0] == '\\' && p[1] == 'f' && p[2]) {
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s trayflash.1\n", argv[0]);
        return 2;
    }
    char *page = read_all(argv[1]);
    if (!page) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    plain_text(page);
    const char *section = strstr(page, ".SH \"FAILURE CAUSES\"");
    if (!section)
        section = strstr(page, ".SH FAILURE CAUSES");
    if (!section) {
        fprintf(stderr, "%s: no FAILURE CAUSES section\n", argv[1]);
        free(page);
        return 1;
    }
    int missing = 0;
    for (int c = 0; c < BK_CAUSE_COUNT; c++) {
        const bk_cause_info *ci = bk_cause_get((bk_cause)c);
        const char *words[] = { ci->id, ci->name };
        for (int w = 0; w < 2; w++)
            if (!strstr(section, words[w])) {
                fprintf(stderr, "%s: FAILURE CAUSES does not mention cause %d's %s \"%s\"\n",
                        argv[1], c, w == 0 ? "id" : "name", words[w]);
                missing++;
            }
    }
    free(page);
    if (missing)
        return 1;
    printf("%s: all %d causes named\n", argv[1], (int)BK_CAUSE_COUNT);
    return 0;
}
