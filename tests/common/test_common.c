/* test_common.c - common/: escaping file bytes for a terminal, and opening only regular
 * files (a FIFO must be refused, never waited on: the test runs under alarm()).
 * Usage: test_common --list | CASE */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "tf_file.h"
#include "tf_text.h"

static void expect_escape(const char *in, const char *want)
{
    char out[256];
    size_t n = tf_text_escape(in, out, sizeof out);
    if (strcmp(out, want) || n != strlen(want)) {
        fprintf(stderr, "escape: got \"%s\" (%zu), want \"%s\"\n", out, n, want);
        check_failed();
    }
    CHECK(tf_text_is_printable(in) == !strcmp(in, want));
}

static int case_escape(void)
{
    expect_escape("plain ascii [x] = 1", "plain ascii [x] = 1");
    expect_escape("caf\xc3\xa9 \xe4\xbd\xa0 \xf0\x9f\x94\x8c", "caf\xc3\xa9 \xe4\xbd\xa0 \xf0\x9f\x94\x8c");
    expect_escape("\x1b[2J\x07\x7f\t", "\\x1B[2J\\x07\\x7F\\x09");
    expect_escape("c1 \xc2\x9b", "c1 \\xC2\\x9B");              /* U+009B: CSI to some terminals */
    expect_escape("lone \x9b", "lone \\x9B");
    expect_escape("overlong \xc0\xaf", "overlong \\xC0\\xAF");
    expect_escape("surrogate \xed\xa0\x80", "surrogate \\xED\\xA0\\x80");
    expect_escape("cut \xe4\xbd", "cut \\xE4\\xBD");
    /* a short buffer cuts at a whole character or escape, never inside one */
    char out[8];
    size_t n = tf_text_escape("ab\x1b" "cd", out, sizeof out);
    CHECK(n == 8 && !strcmp(out, "ab\\x1Bc"));
    n = tf_text_escape("abcde\x1b", out, sizeof out);
    CHECK(n == 9 && !strcmp(out, "abcde"));
    n = tf_text_escape("abcdef\xc3\xa9", out, sizeof out);
    CHECK(n == 8 && !strcmp(out, "abcdef"));
    char buf[16] = "x\x1by";
    tf_text_escape_inplace(buf, sizeof buf);
    CHECK(!strcmp(buf, "x\\x1By"));
    return CHECK_DONE();
}

static int case_file(void)
{
    alarm(20); /* a blocked open is a failure, not a hung run */
    char dir[] = "/tmp/tf-common-XXXXXX", fifo[64], reg[64], err[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(reg, sizeof reg, "%s/file", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    int e = -1;
    CHECK(tf_file_open_regular(fifo, &e, err, sizeof err) < 0 && e == 0);
    CHECK(strstr(err, fifo) && strstr(err, "is a FIFO (named pipe), not a regular file"));
    CHECK(tf_file_open_regular(dir, NULL, err, sizeof err) < 0 && strstr(err, "a directory"));
    CHECK(tf_file_open_regular("/dev/zero", NULL, err, sizeof err) < 0 &&
          strstr(err, "a character device"));
    CHECK(tf_file_open_regular(reg, &e, err, sizeof err) < 0 && e == ENOENT &&
          strstr(err, "cannot open: No such file or directory"));

    FILE *f = fopen(reg, "w");
    CHECK(f && fputs("a = 1\nb = 2\n", f) >= 0 && fclose(f) == 0);
    int fd = tf_file_open_regular(reg, &e, err, sizeof err);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    char *text;
    size_t len;
    CHECK(tf_file_read_text(reg, 100, &text, &len, err, sizeof err) == 0 && len == 12 &&
          !strcmp(text, "a = 1\nb = 2\n"));
    free(text);
    CHECK(tf_file_read_text(reg, 11, &text, &len, err, sizeof err) < 0 && !text &&
          strstr(err, "12 bytes is more than the 11"));
    f = fopen(reg, "wb");
    CHECK(f && fwrite("a = 1\nb\0 = 2\n", 1, 13, f) == 13 && fclose(f) == 0);
    CHECK(tf_file_read_text(reg, 100, &text, &len, err, sizeof err) < 0);
    char want[128];
    snprintf(want, sizeof want, "%s:2: NUL byte at byte 7", reg);
    CHECK(strstr(err, want) != NULL);
    /* a name found on disk with an ESC in it is escaped in the message */
    char odd[64];
    snprintf(odd, sizeof odd, "%s/x\x1b[2J", dir);
    CHECK(tf_file_open_regular(odd, NULL, err, sizeof err) < 0 && strstr(err, "x\\x1B[2J") &&
          !strchr(err, '\x1b'));
    unlink(fifo);
    unlink(reg);
    rmdir(dir);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {{"escape", case_escape}, {"file", case_file}};
    return CHECK_RUN(argc, argv, cases);
}
