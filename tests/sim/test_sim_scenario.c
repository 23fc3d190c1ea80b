/* test_sim_scenario.c - the scenario file as bad input (issue 12, items 5 and 6): a FIFO or a
 * device is refused without being read (the test runs under alarm(): a blocked read is a
 * failure, not a hung run); lines are whole (a long comment's tail is no setting, a long
 * value line is refused at its own line, later lines keep their numbers); a section, chip or
 * mac given twice is an error, fault still repeats. */
#include "bksim.h"
#include "sim_client.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COUNT 4

static char path[300];
static bksim_module_config mods[COUNT];

static void write_file(const char *text)
{
    FILE *fp = fopen(path, "w");
    REQUIRE(fp && fputs(text, fp) >= 0 && fclose(fp) == 0);
}

static bool load(char *err, size_t errlen)
{
    for (int i = 0; i < COUNT; i++)
        bksim_module_config_default(&mods[i]);
    return bksim_scenario_load(path, COUNT, mods, err, errlen);
}

/* Refused, with "path:line: " then `words` somewhere. */
static void expect_error(const char *text, int line, const char *words)
{
    char err[400], want[340];
    write_file(text);
    bool ok = load(err, sizeof err);
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    if (ok || strncmp(err, want, strlen(want)) || !strstr(err, words)) {
        fprintf(stderr, "got \"%s\", want \"%s...%s\"\n", ok ? "(loaded)" : err, want, words);
        exit(1);
    }
}

int main(void)
{
    alarm(30);
    char dir[] = "/tmp/bksim_scen_XXXXXX", err[400];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.ini", dir);

    /* not a regular file: refused at once, with what it is */
    REQUIRE(mkfifo(path, 0600) == 0);
    REQUIRE(!load(err, sizeof err) && strstr(err, path) && strstr(err, "FIFO"));
    unlink(path);
    REQUIRE(!bksim_scenario_load("/dev/zero", COUNT, mods, err, sizeof err) &&
          strstr(err, "/dev/zero: is a character device"));
    REQUIRE(!bksim_scenario_load(dir, COUNT, mods, err, sizeof err) && strstr(err, "directory"));
    REQUIRE(!bksim_scenario_load("/nonexistent/s.ini", COUNT, mods, err, sizeof err) &&
          strstr(err, "cannot open: No such file or directory"));

    /* a long comment: its tail is not a setting */
    char pad[400], text[1200];
    memset(pad, 'x', 300);
    pad[300] = 0;
    snprintf(text, sizeof text, "[all]\n; %.*s chip = bk7231n\nfault = slow-flash\n", 190, pad);
    write_file(text);
    bool ok = load(err, sizeof err);
    if (!ok)
        fprintf(stderr, "%s\n", err);
    REQUIRE(ok && mods[0].chip == BK_CHIP_BK7231T && mods[0].faults.slow_flash);

    /* a long value line is refused at its line; after a long comment lines keep numbers */
    snprintf(text, sizeof text, "[all]\nchip = bk7231n\nmac = %s\n", pad);
    expect_error(text, 3, "line is longer than");
    snprintf(text, sizeof text, "; %s\n[all]\n; %s\ncolour = red\n", pad, pad);
    expect_error(text, 4, "unknown key 'colour'");

    /* duplicates */
    expect_error("[all]\nchip = bk7231n\nfault = slow-flash\nchip = bk7231t\n", 4,
                 "duplicate key 'chip' (first at line 2)");
    expect_error("[module 1]\nmac = d8:1f:12:00:00:01\nmac = d8:1f:12:00:00:02\n", 3,
                 "duplicate key 'mac'");
    expect_error("[module 1]\nchip = bk7231n\n[all]\nfault = slow-flash\n[module 1]\n"
                 "fault = protected\n", 5, "duplicate section [module 1] (first at line 1)");
    expect_error("[all]\nchip = bk7231n\n  chip = bk7231t\n", 3, "indented line continues");

    /* fault repeats, a module's own chip beats [all]'s */
    write_file("[all]\nchip = bk7231n\nfault = slow-flash\nfault = protected\n[module 2]\n"
               "chip = bk7231t\n");
    REQUIRE(load(err, sizeof err));
    REQUIRE(mods[0].faults.slow_flash && mods[0].faults.flash_protected);
    REQUIRE(mods[0].chip == BK_CHIP_BK7231N && mods[2].chip == BK_CHIP_BK7231T);
    unlink(path);
    rmdir(dir);
    printf("sim scenario: ok\n");
    return 0;
}
