/* central_records.c - each record kind's SELECT at the station and INSERT at the centre. Keys
 * travel, never the station's row ids (a restored or cloned file reuses those): the station's
 * identity UUID, the attempt's and audit row's UUIDs, the profile's and image's sha256. Times
 * are the station's own. */
#include "central_records.h"
#include <string.h>

#define SELF "(SELECT uuid FROM station_self WHERE only = 1)"

const central_record_kind central_record_kinds[] = {
    {"station",
     "SELECT " SELF ", name, host, line, ?2 FROM station WHERE id = ?1",
     "INSERT INTO station (uuid, name, host, line, seen_ts, first_ts) "
     "VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
     NULL, 5},
    {"profile",
     "SELECT sha256, name, text, first_seen FROM profile WHERE id = ?1",
     "INSERT INTO profile (sha256, name, text, first_seen) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT DO NOTHING",
     NULL, 4},
    {"image",
     "SELECT sha256, size FROM image WHERE id = ?1",
     "INSERT INTO image (sha256, size) VALUES ($1, $2) ON CONFLICT DO NOTHING",
     NULL, 2},
    {"attempt",
     "SELECT a.uuid, " SELF ", p.sha256, i.sha256, a.kind, a.bay, a.bay_name, a.port_path, "
     "a.adapter, a.product, a.lot, a.tray, a.operator, a.start_ts, a.end_ts, a.outcome, a.cause, "
     "a.detail, a.chip, a.chip_id, a.flash_id, a.mac, a.boot_version, a.bytes_written, "
     "a.sectors_written, a.sectors_skipped, a.retries, a.baud_start, a.baud_end, a.duplicate_mac "
     "FROM attempt a LEFT JOIN profile p ON p.id = a.profile_id "
     "LEFT JOIN image i ON i.id = a.image_id WHERE a.id = ?1",
     "INSERT INTO attempt (uuid, station_uuid, profile_sha256, image_sha256, kind, bay, bay_name, "
     "port_path, adapter, product, lot, tray, operator, start_ts, end_ts, outcome, cause, detail, "
     "chip, chip_id, flash_id, mac, boot_version, bytes_written, sectors_written, sectors_skipped, "
     "retries, baud_start, baud_end, duplicate_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
     "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, "
     "$28, $29, $30) ON CONFLICT DO NOTHING",
     "INSERT INTO attempt (uuid, station_uuid, profile_sha256, image_sha256, kind, bay, bay_name, "
     "port_path, adapter, product, lot, tray, operator, start_ts, end_ts, outcome, cause, detail, "
     "chip, chip_id, flash_id, mac, boot_version, bytes_written, sectors_written, sectors_skipped, "
     "retries, baud_start, baud_end, duplicate_mac) SELECT * FROM unnest($1::uuid[], $2::uuid[], "
     "$3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], "
     "$10::text[], $11::text[], $12::integer[], $13::text[], $14::float8[], $15::float8[], "
     "$16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[], $21::text[], $22::text[], "
     "$23::text[], $24::bigint[], $25::integer[], $26::integer[], $27::integer[], $28::integer[], "
     "$29::integer[], $30::integer[]) ON CONFLICT DO NOTHING",
     30},
    {"assignment",
     "SELECT uuid, " SELF ", ts, os_user, engineer, bay_from, bay_to, old_profile_sha, "
     "new_profile_sha, allowed FROM assignment WHERE id = ?1",
     "INSERT INTO assignment (uuid, station_uuid, ts, os_user, engineer, bay_from, bay_to, "
     "old_profile_sha, new_profile_sha, allowed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
     "ON CONFLICT DO NOTHING",
     NULL, 10},
    {NULL, NULL, NULL, NULL, 0},
};

int central_record_kind_index(const char *kind)
{
    for (int i = 0; kind && central_record_kinds[i].kind; i++)
        if (!strcmp(central_record_kinds[i].kind, kind))
            return i;
    return -1;
}
