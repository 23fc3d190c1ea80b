/* test_reset.c - reset sequences as data (engine/bk_reset.h): the presets parse, the default
 * sequence the engine uses is the "default" preset's text, custom steps parse and format
 * back, and a bad step is named (ctest engine_reset_*). */
#include <string.h>
#include "bk_reset.h"
#include "check.h"

static bool same_seq(const bk_reset_seq *a, const bk_reset_seq *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        const bk_reset_step *x = &a->steps[i], *y = &b->steps[i];
        if (x->set_dtr != y->set_dtr || x->set_rts != y->set_rts || x->on != y->on ||
            x->hold_ms != y->hold_ms)
            return false;
    }
    return true;
}

static int case_presets(void)
{
    size_t n;
    const bk_reset_preset *p = bk_reset_presets(&n);
    REQUIRE(n >= 5);
    CHECK_STR(p[0].name, "default");
    char err[200], text[200];
    for (size_t i = 0; i < n; i++) {
        bk_reset_seq s;
        CHECK_MSG(bk_reset_parse(p[i].name, &s, err, sizeof err) == 0, "%s: %s", p[i].name, err);
        CHECK_STR(s.name, p[i].name);
        bk_reset_format(&s, text, sizeof text);
        CHECK_STR(text, p[i].steps[0] ? p[i].steps : "none");
        CHECK(p[i].fixture && strlen(p[i].fixture) > 10);
    }
    bk_reset_seq def;
    REQUIRE(bk_reset_parse("default", &def, err, sizeof err) == 0);
    CHECK(same_seq(&def, bk_reset_default()));
    /* the default is the engine's historical pulse: both on 50 ms, DTR off, 50 ms, RTS off */
    bk_reset_format(bk_reset_default(), text, sizeof text);
    CHECK_STR(text, "dtr+rts-on:50ms,dtr-off:50ms,rts-off");
    bk_reset_seq none;
    REQUIRE(bk_reset_parse("none", &none, err, sizeof err) == 0);
    CHECK_EQ_INT(none.n, 0);
    return CHECK_DONE();
}

static int case_custom(void)
{
    bk_reset_seq s;
    char err[200], text[200];
    REQUIRE_MSG(bk_reset_parse("RTS-low : 0.1s, wait:20, dtr+rts-high", &s, err, sizeof err) == 0,
                "%s", err);
    CHECK_STR(s.name, "custom");
    REQUIRE_EQ_INT(s.n, 3);
    CHECK(s.steps[0].set_rts && !s.steps[0].set_dtr && s.steps[0].on && s.steps[0].hold_ms == 100);
    CHECK(!s.steps[1].set_rts && !s.steps[1].set_dtr && s.steps[1].hold_ms == 20);
    CHECK(s.steps[2].set_rts && s.steps[2].set_dtr && !s.steps[2].on);
    bk_reset_format(&s, text, sizeof text);
    CHECK_STR(text, "rts-on:100ms,wait:20ms,dtr+rts-off");
    bk_reset_seq back;
    REQUIRE(bk_reset_parse(text, &back, err, sizeof err) == 0);
    CHECK(same_seq(&s, &back));
    return CHECK_DONE();
}

static int case_errors(void)
{
    static const struct {
        const char *text, *words;
    } bad[] = {
        {"", "empty"},
        {"rts-of", "step 1 'rts-of': the level must be on, off, low or high"},
        {"dtr-on,cts-on", "step 2 'cts-on': the line must be dtr, rts or dtr+rts"},
        {"rts-on:11s", "step 1 'rts-on:11s': the duration"},
        {"rts-on:5min", "the duration"},
        {"wait", "a wait needs a duration"},
        {"reboot", "expected LINE-LEVEL"},
        {"rts-on,,rts-off", "empty step"},
        {"rts-on,", "empty step"},
        {"rts-on,rts-off,rts-on,rts-off,rts-on,rts-off,rts-on,rts-off,rts-on,rts-off,rts-on,"
         "rts-off,rts-on,rts-off,rts-on,rts-off,rts-on", "more than 16 steps"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bk_reset_seq s;
        char err[200] = "";
        CHECK_MSG(bk_reset_parse(bad[i].text, &s, err, sizeof err) == -1, "'%s' was taken",
                  bad[i].text);
        CHECK_MSG(strstr(err, bad[i].words), "'%s': got '%s', want '%s'", bad[i].text, err,
                  bad[i].words);
    }
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"presets", case_presets}, {"custom", case_custom}, {"errors", case_errors}};
    return CHECK_RUN(argc, argv, cases);
}
