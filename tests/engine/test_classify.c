/* test_classify.c - bk_classify() against docs/architecture.md's table "How the cause is
 * decided", row by row: each row's words name a case here, the case's evidence gives the row's
 * cause, and a row without a case (or a case without a row) fails the test. Milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bk_classify.h"
#include "check.h"

typedef struct row_case {
    const char *seen;      /* the table's first column, exactly */
    bk_evidence ev;
    bool passed;
    bk_cause want;
} row_case;

static const row_case cases[] = {
    {"the operator or a shutdown raised the cancel flag", {.end = BK_END_CANCELLED, .garbled = 3}, false, BK_CAUSE_CANCELLED},
    {"the port hangs up, or udev says the adapter left", {.end = BK_END_PORT_GONE, .write_timeouts = 2}, false, BK_CAUSE_ADAPTER_REMOVED},
    {"the port cannot be opened or configured", {.end = BK_END_PORT_ERROR}, false, BK_CAUSE_PORT_ERROR},
    {"the image or spec cannot be flashed (checked before the link)", {.end = BK_END_IMAGE_REFUSED}, false, BK_CAUSE_IMAGE_ERROR},
    {"no LinkCheck reply within the window, never linked", {.end = BK_END_NEVER_LINKED}, false, BK_CAUSE_NO_DOWNLOAD_MODE},
    {"chip id / loader answers for another family", {.end = BK_END_FOREIGN_CHIP}, false, BK_CAUSE_WRONG_CHIP},
    {"a known family the profile has no image for", {.end = BK_END_NO_VARIANT}, false, BK_CAUSE_NO_VARIANT},
    {"status register keeps its protect bits; an acknowledged erase and write leave a sector as it was",
     {.end = BK_END_PROTECT_STUCK}, false, BK_CAUSE_FLASH_PROTECTED},
    {"the SetBaudRate echo fails twice at every rate of the profile, link fine at 115200",
     {.end = BK_END_BAUD_UNREACHABLE, .baud_switch_failures = 4}, false, BK_CAUSE_ADAPTER_BAUD_LIMIT},
    {"replies stop after writes had succeeded and no re-link answers", {.end = BK_END_RELINK_FAILED, .write_timeouts = 1}, false, BK_CAUSE_MODULE_LOST},
    {"a step before the first erase gets garbled replies in every try", {.end = BK_END_STEP_RETRIES, .garbled = 3}, false, BK_CAUSE_SIGNAL_INTEGRITY},
    {"a step before the first erase gets no reply in every try, LinkCheck still answered", {.end = BK_END_STEP_RETRIES}, false, BK_CAUSE_PROTOCOL},
    {"whole TuyaMCU frames (55 AA ... checksum) or repeated stray bytes while units fail",
     {.end = BK_END_UNIT_RETRIES, .foreign_frames = 2, .write_timeouts = 3}, false, BK_CAUSE_FOREIGN_TRAFFIC},
    {"units fail with more garbled replies than silences", {.end = BK_END_UNIT_RETRIES, .garbled = 4, .write_timeouts = 1}, false, BK_CAUSE_SIGNAL_INTEGRITY},
    {"writes (or erases) never answered, every re-link answered", {.end = BK_END_UNIT_RETRIES, .write_timeouts = 3}, false, BK_CAUSE_BROWNOUT},
    {"every write acknowledged, CRC differs; a bad sector read back twice disagrees or has image 1-bits at 0",
     {.end = BK_END_VERIFY_EXHAUSTED, .readback_ok = true, .readback_disagree = 2, .readback_cleared = 1}, false, BK_CAUSE_SIGNAL_INTEGRITY},
    {"every write acknowledged, CRC differs, bad bits all left at 1 in runs (did not program)",
     {.end = BK_END_VERIFY_EXHAUSTED, .readback_ok = true, .readback_left_at_one = 40, .readback_multi_bit = 9}, false, BK_CAUSE_VERIFY_FAILED},
    {"the final CRC's reply never came back whole, nothing garbled", {.end = BK_END_CRC_NEVER_WHOLE}, false, BK_CAUSE_MODULE_LOST},
    {"the backup's reads or CRCs fail every try before the first erase", {.end = BK_END_BACKUP_READ, .garbled = 2}, false, BK_CAUSE_BACKUP_FAILED},
    {"the backup store refuses a block or the index before the first erase", {.end = BK_END_BACKUP_STORE}, false, BK_CAUSE_BACKUP_STORE},
    {"restore: the module's MAC differs from the backup's, or it has none and no --force", {.end = BK_END_WRONG_MODULE}, false, BK_CAUSE_WRONG_MODULE},
    {"personalising, and the RF calibration sector holds no MAC (checked before any erase)", {.end = BK_END_NO_MAC}, false, BK_CAUSE_NO_MAC},
    {"the app verified; the config sector's CRC differs (or never answers) in every try",
     {.end = BK_END_CONFIG_RETRIES, .write_timeouts = 3}, false, BK_CAUSE_CONFIG_NOT_WRITTEN},
    {"passed; whole TuyaMCU frames or repeated stray bytes on the way", {.stray_events = 2, .garbled = 1}, true, BK_CAUSE_FOREIGN_TRAFFIC},
    {"passed; garbled replies or a CRC mismatch on the way", {.crc_mismatches = 1, .baud_switch_failures = 1}, true, BK_CAUSE_SIGNAL_INTEGRITY},
    {"passed; a SetBaudRate echo failed on the way", {.baud_switch_failures = 2, .write_timeouts = 1}, true, BK_CAUSE_ADAPTER_BAUD_LIMIT},
    {"passed; a write or erase went unanswered on the way", {.erase_timeouts = 1}, true, BK_CAUSE_BROWNOUT},
    {"passed; nothing went wrong", {0}, true, BK_CAUSE_NONE},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* "| seen | cause |" -> seen and the cause's id (the text in backticks). */
static bool split_row(char *line, char **seen, char **id)
{
    if (line[0] != '|' || !strncmp(line, "|---", 4) || !strncmp(line, "| seen |", 8))
        return false;
    char *bar = strstr(line + 1, " | ");
    char *tick = bar ? strchr(bar, '`') : NULL;
    char *end = tick ? strchr(tick + 1, '`') : NULL;
    if (!end)
        return false;
    *bar = 0;
    *end = 0;
    *seen = line + 2;
    *id = tick + 1;
    return true;
}

int main(int argc, char **argv)
{
    const char *doc = argc > 1 ? argv[1] : "docs/architecture.md";
    FILE *f = fopen(doc, "r");
    REQUIRE_MSG(f != NULL, "cannot open %s", doc);
    char line[1024];
    bool in_table = false;
    int rows = 0;
    bool covered[N_CASES] = {false};
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "### How the cause is decided", 28)) {
            in_table = true;
            continue;
        }
        if (in_table && !strncmp(line, "#", 1))
            break;
        char *seen, *id;
        if (!in_table || !split_row(line, &seen, &id))
            continue;
        rows++;
        size_t k = 0;
        while (k < N_CASES && strcmp(cases[k].seen, seen) != 0)
            k++;
        if (k == N_CASES) {
            fprintf(stderr, "row without a case: \"%s\"\n", seen);
            CHECK(k < N_CASES);
            continue;
        }
        covered[k] = true;
        bk_cause got = bk_classify(&cases[k].ev, cases[k].passed);
        CHECK_STR(bk_cause_id(cases[k].want), id);     /* the case says what the row says */
        CHECK_STR(bk_cause_id(got), id);                /* and the classifier agrees */
    }
    fclose(f);
    for (size_t k = 0; k < N_CASES; k++)
        if (!covered[k])
            fprintf(stderr, "case without a row: \"%s\"\n", cases[k].seen);
    CHECK_EQ_U(rows, N_CASES);
    /* a failure the evidence cannot explain is a protocol error, never a pass */
    bk_evidence none = {.end = BK_END_UNIT_RETRIES};
    CHECK(bk_classify(&none, false) == BK_CAUSE_PROTOCOL);
    bk_evidence unended = {0};
    CHECK(bk_classify(&unended, false) == BK_CAUSE_PROTOCOL);
    /* a read-back that could not be made points at the line */
    bk_evidence unread = {.end = BK_END_VERIFY_EXHAUSTED, .readback_ok = false};
    CHECK(bk_classify(&unread, false) == BK_CAUSE_SIGNAL_INTEGRITY);
    /* lone 1-bits, one a byte, are the line's doing, not cells that failed */
    bk_evidence lone = {.end = BK_END_VERIFY_EXHAUSTED, .readback_ok = true, .readback_left_at_one = 3};
    CHECK(bk_classify(&lone, false) == BK_CAUSE_SIGNAL_INTEGRITY);
    return CHECK_DONE();
}
