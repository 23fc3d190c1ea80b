/* central_schema.c - the central store's schema on PostgreSQL as a list of forward migrations
 * (db/README.md, "The central store"). central_schema_version holds the versions applied;
 * `trayflash central init` applies the missing ones in order, each in its own transaction, under
 * an advisory lock. A migration is never edited once shipped: a change is a new entry at the end.
 *
 * The report (report.c) runs unchanged here: station(id, name), profile(id, name, sha256) and
 * attempt(id, station_id, profile_id, bay, ..., kind, lot, tray, operator) are tables with the
 * station file's columns. Their keys are the station's identity (a UUID), the attempt's and audit
 * row's UUIDs, and the profile's and image's sha256: the ids are the server's own, filled in from
 * those keys by a trigger, so a record sent twice is one row (ON CONFLICT DO NOTHING). */
#include "central.h"
#include "report_pg.h"
#include "report_summary.h"
#include "central_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock two inits at once serialise on ("tflash" in ASCII). */
#define CENTRAL_INIT_LOCK "7466706c617368"

static const char *const migrations[] = {
    /* 1: the factory store (issue 14). */
    /* The group roles (cluster-wide, so made only when missing). A station's login role is a
     * member of trayflash_station; a report's or a dashboard's, of trayflash_reader. */
    "DO $$ BEGIN\n"
    "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trayflash_station') THEN\n"
    "    CREATE ROLE trayflash_station NOLOGIN;\n"
    "  END IF;\n"
    "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trayflash_reader') THEN\n"
    "    CREATE ROLE trayflash_reader NOLOGIN;\n"
    "  END IF;\n"
    "END $$;\n"
    /* A station is its identity UUID (made once in its file; it survives renames). Its name, host
     * and line are the newest the station sent (seen_ts); role_name is the login role that
     * registered it: only that role may send rows carrying this identity. */
    "CREATE TABLE station (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  uuid uuid NOT NULL UNIQUE,\n"
    "  name text NOT NULL,\n"
    "  host text NOT NULL DEFAULT '',\n"
    "  line text,\n"
    "  role_name text NOT NULL DEFAULT current_user,\n"
    "  first_ts double precision NOT NULL,\n"
    "  seen_ts double precision NOT NULL\n"
    ");\n"
    "CREATE TABLE profile (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),\n"
    "  name text NOT NULL,\n"
    "  text text,\n"
    "  first_seen double precision\n"
    ");\n"
    "CREATE TABLE image (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),\n"
    "  size bigint NOT NULL CHECK (size >= 0)\n"
    ");\n"
    /* One finished attempt (a running one is not sent). The station's own columns, with its
     * original times; station_id, profile_id and image_id are filled from the keys by
     * attempt_resolve(), which refuses a key the store does not hold as a foreign key would
     * (SQLSTATE 23503). No FOREIGN KEY constraints: their checks lock the referenced row FOR KEY
     * SHARE, one profile row shared by every station's every insert (multixacts), and would
     * repeat the lookup the trigger makes anyway. Nobody but the owner may delete a station,
     * profile or image. received_ts is when the row reached the server (the forwarding lag). */
    "CREATE TABLE attempt (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  uuid uuid NOT NULL UNIQUE,\n"
    "  station_uuid uuid NOT NULL,\n"
    "  station_id bigint NOT NULL,\n"
    "  profile_sha256 text,\n"
    "  profile_id bigint,\n"
    "  image_sha256 text,\n"
    "  image_id bigint,\n"
    "  kind text NOT NULL DEFAULT 'flash' CHECK (kind IN ('flash', 'restore', 'skipped')),\n"
    "  bay bigint NOT NULL,\n"
    "  bay_name text,\n"
    "  port_path text,\n"
    "  adapter text,\n"
    "  product text,\n"
    "  lot text,\n"
    "  tray integer,\n"
    "  operator text,\n"
    "  start_ts double precision NOT NULL,\n"
    "  end_ts double precision NOT NULL,\n"
    "  outcome text NOT NULL CHECK (outcome IN ('pass', 'fail', 'interrupted', 'skipped')),\n"
    "  cause text,\n"
    "  detail text,\n"
    "  chip text,\n"
    "  chip_id bigint,\n"
    "  flash_id text,\n"
    "  mac text CHECK (mac ~ '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'),\n"
    "  boot_version text,\n"
    "  bytes_written bigint,\n"
    "  sectors_written integer,\n"
    "  sectors_skipped integer,\n"
    "  retries integer,\n"
    "  baud_start integer,\n"
    "  baud_end integer,\n"
    "  duplicate_mac integer NOT NULL DEFAULT 0,\n"
    "  received_ts double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp())\n"
    ");\n"
    "CREATE INDEX attempt_by_end ON attempt (end_ts);\n"
    "CREATE INDEX attempt_by_mac_end ON attempt (mac, end_ts);\n"
    "CREATE INDEX attempt_by_station_end ON attempt (station_id, end_ts);\n"
    "CREATE INDEX attempt_by_profile ON attempt (profile_id, end_ts);\n"
    "CREATE INDEX attempt_failed_by_end ON attempt (end_ts) WHERE outcome <> 'pass';\n"
    "CREATE INDEX attempt_by_lot ON attempt (lot, end_ts) WHERE lot IS NOT NULL;\n"
    "CREATE INDEX attempt_passed_by_mac ON attempt (mac, product) WHERE outcome = 'pass';\n"
    "CREATE TABLE assignment (\n"
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "  uuid uuid NOT NULL UNIQUE,\n"
    "  station_uuid uuid NOT NULL,\n"
    "  ts double precision NOT NULL,\n"
    "  os_user text,\n"
    "  engineer integer NOT NULL,\n"
    "  bay_from integer,\n"
    "  bay_to integer,\n"
    "  old_profile_sha text,\n"
    "  new_profile_sha text,\n"
    "  allowed integer NOT NULL\n"
    ");\n"
    /* A station sent again (renamed, moved to another line) updates its row, newest first, when
     * the sender is the role that registered it; the insert itself then finds the UUID taken and
     * does nothing. Station roles have no UPDATE: this function (the schema owner's) does it. */
    "CREATE FUNCTION station_seen() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
    "SET search_path = public, pg_temp AS $$\n"
    "BEGIN\n"
    "  UPDATE station SET name = NEW.name, host = NEW.host, line = NEW.line, seen_ts = NEW.seen_ts\n"
    "   WHERE uuid = NEW.uuid AND role_name = NEW.role_name AND seen_ts <= NEW.seen_ts;\n"
    "  NEW.first_ts := NEW.seen_ts;\n"
    "  RETURN NEW;\n"
    "END $$;\n"
    "CREATE TRIGGER station_seen BEFORE INSERT ON station FOR EACH ROW EXECUTE FUNCTION station_seen();\n"
    /* The server's ids from the record's keys (the station sends keys, never ids); a key the
     * store does not hold is refused as a foreign key would refuse it. */
    "CREATE FUNCTION attempt_resolve() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
    "SET search_path = public, pg_temp AS $$\n"
    "BEGIN\n"
    "  SELECT (SELECT id FROM station WHERE uuid = NEW.station_uuid),\n"
    "         (SELECT id FROM profile WHERE sha256 = NEW.profile_sha256),\n"
    "         (SELECT id FROM image WHERE sha256 = NEW.image_sha256)\n"
    "    INTO NEW.station_id, NEW.profile_id, NEW.image_id;\n"
    "  IF NEW.station_id IS NULL THEN\n"
    "    RAISE foreign_key_violation USING MESSAGE = format('station %s is not in the central store', NEW.station_uuid);\n"
    "  ELSIF NEW.profile_id IS NULL AND NEW.profile_sha256 IS NOT NULL THEN\n"
    "    RAISE foreign_key_violation USING MESSAGE = format('profile %s is not in the central store', NEW.profile_sha256);\n"
    "  ELSIF NEW.image_id IS NULL AND NEW.image_sha256 IS NOT NULL THEN\n"
    "    RAISE foreign_key_violation USING MESSAGE = format('image %s is not in the central store', NEW.image_sha256);\n"
    "  END IF;\n"
    "  RETURN NEW;\n"
    "END $$;\n"
    "CREATE TRIGGER attempt_resolve BEFORE INSERT ON attempt FOR EACH ROW EXECUTE FUNCTION attempt_resolve();\n"
    /* the audit rows' station, the same way */
    "CREATE FUNCTION assignment_resolve() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
    "SET search_path = public, pg_temp AS $$\n"
    "BEGIN\n"
    "  IF NOT EXISTS (SELECT 1 FROM station WHERE uuid = NEW.station_uuid) THEN\n"
    "    RAISE foreign_key_violation USING MESSAGE = format('station %s is not in the central store', NEW.station_uuid);\n"
    "  END IF;\n"
    "  RETURN NEW;\n"
    "END $$;\n"
    "CREATE TRIGGER assignment_resolve BEFORE INSERT ON assignment FOR EACH ROW EXECUTE FUNCTION assignment_resolve();\n"
    /* The cross-station guard: the one way a station reads what other stations did. */
    "CREATE FUNCTION tf_guard(p_mac text, p_product text)\n"
    "RETURNS TABLE (station_name text, station_uuid uuid, line text, end_ts double precision, passes bigint)\n"
    "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$\n"
    "  SELECT s.name, s.uuid, s.line, a.end_ts, count(*) OVER ()\n"
    "    FROM attempt a JOIN station s ON s.id = a.station_id\n"
    "   WHERE a.mac = lower(p_mac) AND a.product = p_product AND a.outcome = 'pass'\n"
    "     AND a.kind = 'flash'\n"
    "   ORDER BY a.end_ts DESC LIMIT 1\n"
    "$$;\n"
    "REVOKE ALL ON FUNCTION tf_guard(text, text) FROM PUBLIC;\n"
    "REVOKE ALL ON FUNCTION station_seen() FROM PUBLIC;\n"
    "REVOKE ALL ON FUNCTION attempt_resolve() FROM PUBLIC;\n"
    "REVOKE ALL ON FUNCTION assignment_resolve() FROM PUBLIC;\n"
    "GRANT EXECUTE ON FUNCTION tf_guard(text, text) TO trayflash_station, trayflash_reader;\n"
    /* Least privilege. A station: INSERT only, rows of its own identity only (WITH CHECK), its
     * own station rows visible (the check reads them), no UPDATE or DELETE anywhere. A reader:
     * SELECT everything. The owner (who ran init) is not subject to the policies. */
    "ALTER TABLE station ENABLE ROW LEVEL SECURITY;\n"
    "ALTER TABLE attempt ENABLE ROW LEVEL SECURITY;\n"
    "ALTER TABLE assignment ENABLE ROW LEVEL SECURITY;\n"
    "CREATE POLICY station_registers_itself ON station FOR INSERT TO trayflash_station\n"
    "  WITH CHECK (role_name = current_user);\n"
    "CREATE POLICY station_sees_itself ON station FOR SELECT TO trayflash_station\n"
    "  USING (role_name = current_user);\n"
    "CREATE POLICY station_sends_own_attempts ON attempt FOR INSERT TO trayflash_station\n"
    "  WITH CHECK (station_uuid IN (SELECT uuid FROM station WHERE role_name = current_user));\n"
    "CREATE POLICY station_sends_own_audit ON assignment FOR INSERT TO trayflash_station\n"
    "  WITH CHECK (station_uuid IN (SELECT uuid FROM station WHERE role_name = current_user));\n"
    "CREATE POLICY reader_reads ON station FOR SELECT TO trayflash_reader USING (true);\n"
    "CREATE POLICY reader_reads ON attempt FOR SELECT TO trayflash_reader USING (true);\n"
    "CREATE POLICY reader_reads ON assignment FOR SELECT TO trayflash_reader USING (true);\n"
    "REVOKE ALL ON station, profile, image, attempt, assignment FROM PUBLIC;\n"
    "GRANT INSERT ON station, profile, image, attempt, assignment TO trayflash_station;\n"
    "GRANT SELECT ON station TO trayflash_station;\n"
    "GRANT SELECT ON station, profile, image, attempt, assignment TO trayflash_reader;\n"
    "GRANT SELECT ON central_schema_version TO trayflash_station, trayflash_reader;\n",

    /* 2: the report's summaries (issue 19), the same tables as a station file's, kept by an
     * AFTER INSERT trigger on attempt (report_summary_pg.c). */
    report_summary_pg_sql,

    /* 3: the summaries' rights. The trigger runs for the station roles that insert attempts, which
     * may neither read nor write other stations' figures: it runs as its owner (the schema's
     * admin), with the search path it was made with. Readers read them; the rows already in the
     * store are summed once. */
    "ALTER FUNCTION attempt_summary_add() SECURITY DEFINER SET search_path FROM CURRENT;\n"
    "REVOKE ALL ON attempt_cell, module_span, pass_hist FROM PUBLIC;\n"
    "REVOKE ALL ON FUNCTION attempt_summary_add() FROM PUBLIC;\n"
    "GRANT SELECT ON attempt_cell, module_span, pass_hist TO trayflash_reader;\n"
    "TRUNCATE attempt_cell, module_span, pass_hist;\n"
    "INSERT INTO attempt_cell " CELL_REBUILD_SELECT ";\n"
    "INSERT INTO pass_hist " HIST_REBUILD_SELECT ";\n"
    "INSERT INTO module_span " SPAN_REBUILD_SELECT ";\n",

    /* 4: the report's summaries, second version (issue 19; the station's schema 9): attempt_quarter,
     * multi_attempt, module_span's passes and first attempt; the trigger function replaced. */
    report_summary_pg_v2_sql,

    /* 5: their rights and their rows. Replacing the function reset what migration 3 set on it. */
    "ALTER FUNCTION attempt_summary_add() SECURITY DEFINER SET search_path FROM CURRENT;\n"
    "REVOKE ALL ON FUNCTION attempt_summary_add() FROM PUBLIC;\n"
    "REVOKE ALL ON attempt_quarter, multi_attempt FROM PUBLIC;\n"
    "GRANT SELECT ON attempt_quarter, multi_attempt TO trayflash_reader;\n"
    "LOCK TABLE attempt IN SHARE MODE;\n"
    SUMMARY_PG_V2_FILL,
};

enum { N_MIGRATIONS = (int)(sizeof migrations / sizeof migrations[0]) };

int central_schema_latest(void)
{
    return N_MIGRATIONS;
}

const char *central_migration_sql(int version)
{
    return version >= 1 && version <= N_MIGRATIONS ? migrations[version - 1] : NULL;
}

static const char version_table_sql[] =
    "CREATE TABLE IF NOT EXISTS central_schema_version (\n"
    "  version integer PRIMARY KEY,\n"
    "  applied_at timestamptz NOT NULL DEFAULT now()\n"
    ")";

/* One integer from a query without parameters; -1 on error. */
static int query_int(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoi(PQgetvalue(r, 0, 0));
    else
        central_result_error(err, errlen, what, r);
    PQclear(r);
    return v;
}

/* The highest version applied, 0 for none (no table yet), -1 on error. */
static int read_version(PGconn *c, char *err, size_t errlen)
{
    const char *what = "reading the central schema's version";
    int have = query_int(c, "SELECT (to_regclass('central_schema_version') IS NOT NULL)::int", what,
                         err, errlen);
    if (have <= 0)
        return have;
    return query_int(c, "SELECT coalesce(max(version), 0) FROM central_schema_version", what, err,
                     errlen);
}

int central_schema_version(const central_target *t, char *err, size_t errlen)
{
    PGconn *c = central_connect(t, "connecting to the central database", err, errlen);
    if (!c)
        return -1;
    int v = read_version(c, err, errlen);
    PQfinish(c);
    return v;
}

/* One migration in its own transaction, recorded with it. */
static int apply(PGconn *c, int version, char *err, size_t errlen)
{
    char what[64], record[96];
    snprintf(what, sizeof what, "central schema migration %d", version);
    snprintf(record, sizeof record, "INSERT INTO central_schema_version (version) VALUES (%d)", version);
    if (central_exec(c, "BEGIN", err, errlen) < 0)
        return -1;
    if (central_exec(c, migrations[version - 1], err, errlen) < 0 ||
        central_exec(c, record, err, errlen) < 0 || central_exec(c, "COMMIT", err, errlen) < 0) {
        char ignore[8];
        size_t n = strlen(err);
        central_exec(c, "ROLLBACK", ignore, sizeof ignore);
        if (n < errlen) /* say which step, keep the server's words */
            snprintf(err + n, errlen - n, " (in %s; nothing of it applied)", what);
        return -1;
    }
    return 0;
}

int central_init(const central_target *t, int *from, int *to, char *err, size_t errlen)
{
    PGconn *c = central_connect(t, "connecting to the central database", err, errlen);
    if (!c)
        return -1;
    int rc = -1, v = -1;
    if (central_exec(c, "SET client_min_messages = warning", err, errlen) < 0 ||
        central_exec(c, "SELECT pg_advisory_lock(x'" CENTRAL_INIT_LOCK "'::bigint)", err, errlen) < 0)
        goto done;
    if (central_exec(c, version_table_sql, err, errlen) < 0 || (v = read_version(c, err, errlen)) < 0)
        goto unlock;
    if (from)
        *from = v;
    if (v > N_MIGRATIONS) {
        snprintf(err, errlen, "the central database %s is at schema version %d, newer than this "
                 "trayflash knows (%d): update trayflash", PQdb(c), v, N_MIGRATIONS);
        goto unlock;
    }
    for (; v < N_MIGRATIONS; v++)
        if (apply(c, v + 1, err, errlen) < 0)
            goto unlock;
    if (to)
        *to = v;
    rc = 0;
unlock:;
    char ignore[8];
    central_exec(c, "SELECT pg_advisory_unlock(x'" CENTRAL_INIT_LOCK "'::bigint)", ignore, sizeof ignore);
done:
    PQfinish(c);
    return rc;
}
