/* obk_config.c - OpenBeken's config sector: layout table, checksum, field access. The facts
 * (offsets, sizes, magic, version, the CRC) are in obk_config.h's sources; the code is ours. */
#include "obk_config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBK_MAC_OFFSET 0x2D8u

/* mainConfig_t of the BK7231 (default) pin group: offsets from new_pins.h's own comments. */
const obk_field obk_fields[] = {
    {"wifi_ssid", "wifi_ssid", 0x014, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"wifi_pass", "wifi_pass", 0x054, 64, OBK_FIELD_TEXT, true, 0, 0},
    {"mqtt_host", "mqtt_host", 0x094, 256, OBK_FIELD_TEXT, false, 0, 0},
    {"mqtt_client", "mqtt_clientId", 0x194, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"mqtt_user", "mqtt_userName", 0x1D4, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"mqtt_pass", "mqtt_pass", 0x214, 128, OBK_FIELD_TEXT, true, 0, 0},
    {"mqtt_port", "mqtt_port", 0x294, 4, OBK_FIELD_INT, false, 1, 65535},
    {"webapp_root", "webappRoot", 0x298, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"short_name", "shortDeviceName", 0x2DE, 32, OBK_FIELD_TEXT, false, 0, 0},
    {"long_name", "longDeviceName", 0x2FE, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"ntp_server", "ntpServer", 0x478, 32, OBK_FIELD_TEXT, false, 0, 0},
    {"mqtt_group", "mqtt_group", 0x554, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"ping_host", "ping_host", 0x5A0, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"init_command", "initCommandLine", 0x5E0, 1568, OBK_FIELD_TEXT, false, 0, 0},
    {"wifi_ssid2", "wifi_ssid2", 0xC00, 64, OBK_FIELD_TEXT, false, 0, 0},
    {"wifi_pass2", "wifi_pass2", 0xC40, 68, OBK_FIELD_TEXT, true, 0, 0},
    {"web_password", "webPassword", 0xC84, 33, OBK_FIELD_TEXT, true, 0, 0},
    {NULL, NULL, 0, 0, OBK_FIELD_TEXT, false, 0, 0},
};

const obk_field *obk_field_find(const char *name)
{
    for (const obk_field *f = obk_fields; name && f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

/* Tiny_CRC8 with the C source's plain chars made explicit: with a signed char both the CRC and
 * the data byte shift right arithmetically (bit 7 stays), with an unsigned one logically. */
static uint8_t shift_right(uint8_t x, obk_crc_variant v)
{
    return (uint8_t)((x >> 1) | (v == OBK_CRC_SIGNED_CHAR ? (x & 0x80u) : 0u));
}

uint8_t obk_crc8(const uint8_t *p, size_t n, obk_crc_variant v)
{
    uint8_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        for (int bit = 0; bit < 8; bit++) {
            bool mix = (crc ^ b) & 1u;
            crc = shift_right(crc, v);
            if (mix)
                crc ^= 0x8Cu;
            b = shift_right(b, v);
        }
    }
    return crc;
}

uint8_t obk_config_checksum(const uint8_t *cfg, size_t size, obk_crc_variant v)
{
    return obk_crc8(cfg + OBK_CFG_VERSION_OFFSET, size - OBK_CFG_VERSION_OFFSET, v);
}

uint32_t obk_config_addr(bk_chip chip)
{
    switch (chip) {
    case BK_CHIP_BK7231T: return 0x1E1000u;
    case BK_CHIP_BK7231N: return 0x1D1000u;
    default: return 0;
    }
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

bool obk_config_check(const uint8_t *cfg, size_t len, obk_crc_variant v, char *err, size_t errlen)
{
    if (len < OBK_CFG_SIZE) {
        snprintf(err, errlen, "%zu bytes, an OpenBeken config (version 5) has %u", len,
                 OBK_CFG_SIZE);
        return false;
    }
    if (memcmp(cfg, "CFG", 3) != 0) {
        snprintf(err, errlen, "byte 0: magic %02x %02x %02x, not \"CFG\": not an OpenBeken config",
                 cfg[0], cfg[1], cfg[2]);
        return false;
    }
    uint32_t version = get_le32(cfg + OBK_CFG_VERSION_OFFSET);
    if (version != OBK_CFG_VERSION) {
        snprintf(err, errlen, "byte 4: version %u, expected %d (export the base from a module "
                 "running a current OpenBeken)", version, OBK_CFG_VERSION);
        return false;
    }
    uint8_t want = obk_config_checksum(cfg, OBK_CFG_SIZE, v);
    if (cfg[OBK_CFG_CRC_OFFSET] != want) {
        snprintf(err, errlen, "byte 3: checksum 0x%02x, the content's is 0x%02x (%s char): "
                 "damaged, or saved by another build", cfg[OBK_CFG_CRC_OFFSET], want,
                 v == OBK_CRC_SIGNED_CHAR ? "signed" : "unsigned");
        return false;
    }
    return true;
}

bool obk_config_set(uint8_t *cfg, const obk_field *f, const char *value, char *err, size_t errlen)
{
    if (f->type == OBK_FIELD_INT) {
        char *end = NULL;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || !*value || *end || n < f->lo || n > f->hi) {
            snprintf(err, errlen, "%s: \"%s\" is not a number in %ld..%ld", f->name, value, f->lo,
                     f->hi);
            return false;
        }
        put_le32(cfg + f->offset, (uint32_t)n);
        return true;
    }
    if (f->type == OBK_FIELD_MAC) {
        snprintf(err, errlen, "%s: the MAC is the module's own", f->name);
        return false;
    }
    size_t n = strlen(value);
    if (n >= f->size) {
        snprintf(err, errlen, "%s: %zu characters, the field holds %u", f->name, n, f->size - 1u);
        return false;
    }
    memset(cfg + f->offset, 0, f->size);
    memcpy(cfg + f->offset, value, n);
    return true;
}

void obk_config_set_mac(uint8_t *cfg, const uint8_t mac[6])
{
    memcpy(cfg + OBK_MAC_OFFSET, mac, 6);
}

void obk_config_get_mac(const uint8_t *cfg, uint8_t mac[6])
{
    memcpy(mac, cfg + OBK_MAC_OFFSET, 6);
}

void obk_config_get(const uint8_t *cfg, const obk_field *f, char *out, size_t outlen)
{
    if (!outlen)
        return;
    if (f->type == OBK_FIELD_INT) {
        snprintf(out, outlen, "%d", (int32_t)get_le32(cfg + f->offset));
        return;
    }
    const uint8_t *p = cfg + f->offset;
    if (f->type == OBK_FIELD_MAC) {
        snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
        return;
    }
    size_t n = strnlen((const char *)p, f->size);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

void obk_config_seal(uint8_t *cfg, obk_crc_variant v)
{
    memcpy(cfg, "CFG", 3);
    put_le32(cfg + OBK_CFG_VERSION_OFFSET, OBK_CFG_VERSION);
    cfg[OBK_CFG_CRC_OFFSET] = obk_config_checksum(cfg, OBK_CFG_SIZE, v);
}
