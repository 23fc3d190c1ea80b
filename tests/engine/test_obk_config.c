/* test_obk_config.c - trayflash's OpenBeken config builder against images that OpenBeken's own
 * code made (tests/engine/fixtures/README.md says how): the layout (every field the fixture
 * sets lands where OpenBeken's compiled struct put it), both CRC char variants, the loader's
 * checks, and every field's size limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "obk_config.h"

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/engine/fixtures/%s", TRAYFLASH_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    REQUIRE_MSG(f != NULL, "%s", path);
    uint8_t *buf = malloc(8192);
    REQUIRE(buf != NULL);
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

/* obk-crc.txt: "FILE signed=0xNN unsigned=0xNN", written by the tool from OpenBeken's code. */
static void fixture_crcs(const char *file, unsigned *sig, unsigned *uns)
{
    size_t len;
    char *txt = (char *)read_fixture("obk-crc.txt", &len);
    txt[len] = '\0';
    const char *line = strstr(txt, file);
    REQUIRE_MSG(line != NULL, "no line for %s in obk-crc.txt", file);
    char name[64];
    REQUIRE_EQ_INT(sscanf(line, "%63s signed=%x unsigned=%x", name, sig, uns), 3);
    free(txt);
}

static int case_crc_variants(void)
{
    const char *files[] = {"obk-base-t.bin", "obk-personal-t.bin"};
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *cfg = read_fixture(files[i], &len);
        REQUIRE_EQ_INT(len, OBK_CFG_SIZE);
        unsigned sig, uns;
        fixture_crcs(files[i], &sig, &uns);
        CHECK(sig != uns); /* the fixture tells the variants apart */
        CHECK_EQ_U(obk_config_checksum(cfg, len, OBK_CRC_SIGNED_CHAR), sig);
        CHECK_EQ_U(obk_config_checksum(cfg, len, OBK_CRC_UNSIGNED_CHAR), uns);
        CHECK_EQ_U(cfg[OBK_CFG_CRC_OFFSET], sig); /* sealed by the signed build */
        char err[200];
        CHECK_MSG(obk_config_check(cfg, len, OBK_CRC_SIGNED_CHAR, err, sizeof err), "%s", err);
        CHECK(!obk_config_check(cfg, len, OBK_CRC_UNSIGNED_CHAR, err, sizeof err));
        CHECK_HAS(err, "byte 3: checksum");
        /* an unsigned build's image: our seal in that variant gives the tool's byte */
        obk_config_seal(cfg, OBK_CRC_UNSIGNED_CHAR);
        CHECK_EQ_U(cfg[OBK_CFG_CRC_OFFSET], uns);
        CHECK(obk_config_check(cfg, len, OBK_CRC_UNSIGNED_CHAR, err, sizeof err));
        free(cfg);
    }
    /* the register itself reaches bit 7 (0x8C), so even bytes below 0x80 part the variants */
    const uint8_t low[3] = {1, 2, 3};
    CHECK(obk_crc8(low, 3, OBK_CRC_SIGNED_CHAR) != obk_crc8(low, 3, OBK_CRC_UNSIGNED_CHAR));
    CHECK_EQ_U(obk_crc8(low, 0, OBK_CRC_SIGNED_CHAR), 0);
    return CHECK_DONE();
}

/* The builder's path: the base, the fields the profile sets, the MAC, the seal - byte for byte
 * what OpenBeken's struct and checksum made. */
static int case_builder_matches_openbeken(void)
{
    size_t blen, plen;
    uint8_t *base = read_fixture("obk-base-t.bin", &blen);
    uint8_t *want = read_fixture("obk-personal-t.bin", &plen);
    REQUIRE_EQ_INT(blen, OBK_CFG_SIZE);
    REQUIRE_EQ_INT(plen, OBK_CFG_SIZE);
    const char *set[][2] = {
        {"short_name", "plug-abcdef"}, {"long_name", "Plug P1 SN-000123 (lot L42)"},
        {"mqtt_client", "plug-abcdef"}, {"mqtt_host", "broker.lan"}, {"mqtt_user", "plug"},
        {"mqtt_pass", "mq-s3cret"}, {"mqtt_group", "plugs"}, {"wifi_ssid", "factory-net"},
        {"wifi_pass", "wifi-s3cret"}, {"mqtt_port", "8883"},
    };
    char err[200];
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        const obk_field *f = obk_field_find(set[i][0]);
        REQUIRE_MSG(f != NULL, "%s", set[i][0]);
        CHECK_MSG(obk_config_set(base, f, set[i][1], err, sizeof err), "%s", err);
    }
    obk_config_set_mac(base, (const uint8_t[]){0xd8, 0x1f, 0x12, 0xab, 0xcd, 0xef});
    obk_config_seal(base, OBK_CRC_SIGNED_CHAR);
    size_t first = OBK_CFG_SIZE;
    for (size_t i = 0; i < OBK_CFG_SIZE && first == OBK_CFG_SIZE; i++)
        if (base[i] != want[i])
            first = i;
    CHECK_MSG(first == OBK_CFG_SIZE, "first difference at byte 0x%zx: ours %02x, OpenBeken's %02x",
              first, base[first], want[first]);
    /* and read back through the table, as the e2e test parses a module's sector */
    char v[2048];
    obk_config_get(want, obk_field_find("short_name"), v, sizeof v);
    CHECK_STR(v, "plug-abcdef");
    obk_config_get(want, obk_field_find("mqtt_port"), v, sizeof v);
    CHECK_STR(v, "8883");
    uint8_t mac[6];
    obk_config_get_mac(want, mac);
    CHECK(mac[0] == 0xd8 && mac[5] == 0xef);
    free(base);
    free(want);
    return CHECK_DONE();
}

/* What the base kept from OpenBeken's defaults sits where the table says (fields the personal
 * fixture does not set: their offsets are checked here against OpenBeken's compiled struct). */
static int case_layout_of_defaults(void)
{
    size_t len;
    uint8_t *cfg = read_fixture("obk-base-t.bin", &len);
    const char *want[][2] = {
        {"webapp_root", "https://openbekeniot.github.io/webapp/"}, {"ntp_server", "217.147.223.78"},
        {"ping_host", "192.168.0.1"}, {"mqtt_group", "bekens_t"}, {"mqtt_user", "homeassistant"},
        {"short_name", "obk06112233"}, {"long_name", "OpenBK7231T_06112233"},
        {"mqtt_client", "obk06112233"}, {"init_command", "backlog startDriver NTP; ntp_timeZoneOfs +1"},
        {"mqtt_port", "1883"}, {"wifi_ssid", ""}, {"wifi_ssid2", ""}, {"web_password", ""},
    };
    char v[2048];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        obk_config_get(cfg, obk_field_find(want[i][0]), v, sizeof v);
        CHECK_MSG(!strcmp(v, want[i][1]), "%s: \"%s\", expected \"%s\"", want[i][0], v, want[i][1]);
    }
    free(cfg);
    return CHECK_DONE();
}

static int case_field_limits(void)
{
    static uint8_t cfg[OBK_CFG_SIZE];
    char err[200];
    char *big = malloc(4096);
    REQUIRE(big != NULL);
    int n = 0;
    for (const obk_field *f = obk_fields; f->name; f++, n++) {
        if (f->type == OBK_FIELD_INT) {
            CHECK(obk_config_set(cfg, f, "1", err, sizeof err));
            CHECK(!obk_config_set(cfg, f, "0", err, sizeof err));
            CHECK(!obk_config_set(cfg, f, "65536", err, sizeof err));
            CHECK(!obk_config_set(cfg, f, "12x", err, sizeof err));
            CHECK_HAS(err, f->name);
            continue;
        }
        memset(big, 'x', f->size - 1u);
        big[f->size - 1u] = '\0';
        CHECK_MSG(obk_config_set(cfg, f, big, err, sizeof err), "%s: %s", f->name, err);
        CHECK_EQ_INT(cfg[f->offset + f->size - 1u], 0); /* the NUL is inside the field */
        big[f->size - 1u] = 'x';
        big[f->size] = '\0';
        CHECK_MSG(!obk_config_set(cfg, f, big, err, sizeof err), "%s took %u chars", f->name,
                  f->size);
        char words[64];
        snprintf(words, sizeof words, "the field holds %u", f->size - 1u);
        CHECK_HAS(err, words);
        /* a shorter value wipes the rest of the field (no tail of the base's value) */
        CHECK(obk_config_set(cfg, f, "ab", err, sizeof err));
        CHECK_EQ_INT(cfg[f->offset + 2], 0);
        CHECK_EQ_INT(cfg[f->offset + f->size - 2u], 0);
        /* fields never overlap: the next one starts at or after this one's end */
        if (f[1].name)
            CHECK_MSG(f[1].offset >= f->offset + f->size, "%s overlaps %s", f->name, f[1].name);
        CHECK(f->offset + f->size <= OBK_CFG_SIZE);
    }
    CHECK(n >= 17);
    free(big);
    return CHECK_DONE();
}

static int case_loader_refusals(void)
{
    size_t len;
    uint8_t *cfg = read_fixture("obk-base-t.bin", &len);
    char err[200];
    CHECK(!obk_config_check(cfg, 2016, OBK_CRC_SIGNED_CHAR, err, sizeof err));
    CHECK_HAS(err, "2016 bytes");
    cfg[0] = 'X';
    CHECK(!obk_config_check(cfg, len, OBK_CRC_SIGNED_CHAR, err, sizeof err));
    CHECK_HAS(err, "not \"CFG\"");
    cfg[0] = 'C';
    cfg[4] = 4;
    CHECK(!obk_config_check(cfg, len, OBK_CRC_SIGNED_CHAR, err, sizeof err));
    CHECK_HAS(err, "version 4");
    cfg[4] = 5;
    cfg[0x300] ^= 1; /* one bit in the long name */
    CHECK(!obk_config_check(cfg, len, OBK_CRC_SIGNED_CHAR, err, sizeof err));
    CHECK(obk_config_addr(BK_CHIP_BK7231T) == 0x1E1000 && obk_config_addr(BK_CHIP_BK7231N) == 0x1D1000);
    free(cfg);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"crc_variants", case_crc_variants},
        {"builder_matches_openbeken", case_builder_matches_openbeken},
        {"layout_of_defaults", case_layout_of_defaults},
        {"field_limits", case_field_limits},
        {"loader_refusals", case_loader_refusals},
    };
    return CHECK_RUN(argc, argv, cases);
}
