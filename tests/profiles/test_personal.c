/* test_personal.c - the [personalize] builder end to end on the host: a profile's templates,
 * its base and one module's values give, byte for byte, the config OpenBeken's own code made
 * for the same values (tests/engine/fixtures); a value that only a module makes too long is
 * refused naming its profile line; without secrets the password fields keep the base. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "profile.h"

static tf_profile prof;

static void load(void)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/tests/profiles/good/personal.ini", TRAYFLASH_SOURCE_DIR);
    int rc = tf_profile_load(path, &prof, err, sizeof err);
    REQUIRE_MSG(rc == TF_PROFILE_OK, "%s", err);
    REQUIRE(prof.personal.enabled);
}

static const char *fake_secret(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "mqtt"))
        return "mq-s3cret";
    if (!strcmp(name, "wifi"))
        return "wifi-s3cret";
    return NULL;
}

static uint8_t *fixture(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/engine/fixtures/%s", TRAYFLASH_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    REQUIRE_MSG(f != NULL, "%s", path);
    uint8_t *b = malloc(OBK_CFG_SIZE);
    REQUIRE(b && fread(b, 1, OBK_CFG_SIZE, f) == OBK_CFG_SIZE);
    fclose(f);
    return b;
}

static tf_personal_vars plug_vars(const char *const *cols)
{
    tf_personal_vars v = {.mac = {0xd8, 0x1f, 0x12, 0xab, 0xcd, 0xef}, .bay = 3, .lot = "L42",
                          .product = "Plug P1", .columns = cols, .secret = fake_secret};
    return v;
}

static int case_matches_openbeken(void)
{
    load();
    const char *cols[] = {"SN-000123"};
    tf_personal_vars v = plug_vars(cols);
    uint8_t out[OBK_CFG_SIZE];
    char err[600];
    REQUIRE_MSG(tf_personal_build(&prof.personal, &v, out, err, sizeof err), "%s", err);
    uint8_t *want = fixture("obk-personal-t.bin");
    size_t first = OBK_CFG_SIZE;
    for (size_t i = 0; i < OBK_CFG_SIZE && first == OBK_CFG_SIZE; i++)
        if (out[i] != want[i])
            first = i;
    CHECK_MSG(first == OBK_CFG_SIZE, "differs from OpenBeken's at byte 0x%zx", first);
    char e2[200];
    CHECK(obk_config_check(out, OBK_CFG_SIZE, OBK_CRC_SIGNED_CHAR, e2, sizeof e2));
    free(want);
    tf_profile_free(&prof);
    return CHECK_DONE();
}

/* A ledger value that makes long_name too long for its 63 characters: the line is named. */
static int case_too_long_at_build(void)
{
    load();
    const char *cols[] = {"SN-0123456789012345678901234567890123456789012345678901234"};
    tf_personal_vars v = plug_vars(cols);
    uint8_t out[OBK_CFG_SIZE];
    char err[600];
    CHECK(!tf_personal_build(&prof.personal, &v, out, err, sizeof err));
    CHECK_HAS(err, "personal.ini:18: long_name: value too long: 76 characters, the field holds 63");
    /* a missing secret names the field and the secret */
    const char *ok[] = {"SN-1"};
    v = plug_vars(ok);
    v.secret = NULL;
    CHECK(tf_personal_build(&prof.personal, &v, out, err, sizeof err)); /* masked: base kept */
    char val[128];
    obk_config_get(out, obk_field_find("mqtt_pass"), val, sizeof val);
    CHECK_STR(val, "qqqqqqqqqq"); /* OpenBeken's default in the base */
    obk_config_get(out, obk_field_find("short_name"), val, sizeof val);
    CHECK_STR(val, "plug-abcdef");
    tf_profile_free(&prof);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"matches_openbeken", case_matches_openbeken},
        {"too_long_at_build", case_too_long_at_build},
    };
    return CHECK_RUN(argc, argv, cases);
}
