/* station_personal.c - per-device data on the station: the ledger (its own database handle
 * under one lock, shared by the pool's workers) and the engine's personal hook for one job. A
 * row is taken by the module's MAC before anything is erased, and marked used only after the
 * job says the sector verified; a job that fails, is cancelled or dies with the process leaves
 * the row reserved for that MAC, which gets it again on the next try. See station_internal.h. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "bk_chip.h"
#include "obk_config.h"
#include "station_internal.h"
#include "station_log.h"

struct st_ledger {
    pthread_mutex_t lock;
    db *d;
    db_ledger *l;
};

st_ledger *st_ledger_open(const char *db_path, char *err, size_t errlen)
{
    st_ledger *sl = calloc(1, sizeof *sl);
    if (!sl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (db_open(db_path, false, &sl->d, err, errlen) < 0 || !(sl->l = db_ledger_new(sl->d))) {
        db_close(sl->d);
        free(sl);
        return NULL;
    }
    pthread_mutex_init(&sl->lock, NULL);
    return sl;
}

void st_ledger_close(st_ledger *sl)
{
    if (!sl)
        return;
    db_ledger_free(sl->l);
    db_close(sl->d);
    pthread_mutex_destroy(&sl->lock);
    free(sl);
}

bool st_ledger_has_free(st_ledger *sl, const char *profile)
{
    db_ledger_counts c = {0};
    pthread_mutex_lock(&sl->lock);
    int rc = db_ledger_counts_of(sl->l, profile, &c);
    pthread_mutex_unlock(&sl->lock);
    return rc < 0 || c.free > 0; /* a database that cannot count: let the job find out */
}

/* The row's cells in the profile's column order (NULL for a column the row lacks). */
static bool row_cells(const tf_personal *pp, const char *json, char **cells, char *why,
                      size_t whylen)
{
    cJSON *o = cJSON_Parse(json);
    bool ok = cJSON_IsObject(o);
    for (int i = 0; ok && i < pp->n_columns; i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, pp->columns[i]));
        if (!v) {
            snprintf(why, whylen, "the ledger has no column \"%s\" (profile line %d): import "
                     "rows that have it", pp->columns[i], pp->ledger_line);
            ok = false;
        } else {
            cells[i] = strdup(v);
        }
    }
    if (!cJSON_IsObject(o))
        snprintf(why, whylen, "a ledger row is not a JSON object");
    cJSON_Delete(o);
    return ok;
}

/* Takes (or finds) the MAC's row. HOLD when the ledger is empty or cannot be read. */
static bk_personal_answer take_row(st_personal_job *pj, const tf_profile *p, char *why,
                                   size_t whylen)
{
    st_ledger *sl = pj->st->ledger;
    db_ledger_row row;
    pthread_mutex_lock(&sl->lock);
    db_ledger_take t = db_ledger_take_row(sl->l, p->name, pj->mac, station_now(), NULL, &row);
    char dberr[300];
    snprintf(dberr, sizeof dberr, "%s", t == DB_LEDGER_FAILED ? db_errmsg(sl->d) : "");
    pthread_mutex_unlock(&sl->lock);
    if (t == DB_LEDGER_EMPTY) {
        snprintf(why, whylen, ST_LEDGER_EMPTY_TEXT " for profile %s: import rows (trayflash "
                 "ledger import FILE.csv --profile ...)", p->name);
        return BK_PERSONAL_HOLD;
    }
    if (t == DB_LEDGER_FAILED) {
        snprintf(why, whylen, "waiting: the ledger cannot be read (%s)", dberr);
        return BK_PERSONAL_HOLD;
    }
    pj->row_id = row.id;
    snprintf(pj->row_key, sizeof pj->row_key, "%s", row.key);
    bool ok = row_cells(&p->personal, row.data, pj->cells, why, whylen);
    db_ledger_row_clear(&row);
    return ok ? BK_PERSONAL_WRITE : BK_PERSONAL_REFUSED;
}

bk_personal_answer st_personal_make(void *ctx, bk_chip chip, const uint8_t mac[6], uint32_t *addr,
                                    uint8_t *sector, char *why, size_t whylen)
{
    st_personal_job *pj = ctx;
    const st_profile_slot *ps = pj->ps;
    const tf_profile *p = &ps->p;
    if (ps->secrets_err[0]) {
        snprintf(why, whylen, "%s", ps->secrets_err);
        return BK_PERSONAL_REFUSED;
    }
    *addr = obk_config_addr(chip);
    if (!*addr) {
        snprintf(why, whylen, "no OpenBeken config address for this chip");
        return BK_PERSONAL_REFUSED;
    }
    bk_mac_format(mac, pj->mac, sizeof pj->mac);
    if (p->personal.ledger_line) {
        bk_personal_answer a = take_row(pj, p, why, whylen);
        if (a != BK_PERSONAL_WRITE)
            return a;
    }
    tf_personal_vars v = {.bay = pj->b->number, .lot = pj->lot, .product = p->product,
                          .columns = p->personal.ledger_line ? (const char *const *)pj->cells : NULL,
                          .secret = ps->secrets ? tf_secrets_lookup : NULL,
                          .secret_ctx = ps->secrets};
    memcpy(v.mac, mac, 6);
    if (p->personal.secrets[0] && !ps->secrets) {
        snprintf(why, whylen, "the secrets file was not read");
        return BK_PERSONAL_REFUSED;
    }
    memset(sector, 0xFF, BK_SECTOR_SIZE);
    if (!tf_personal_build(&p->personal, &v, sector, why, whylen))
        return BK_PERSONAL_REFUSED;
    return BK_PERSONAL_WRITE;
}

void st_personal_finish(st_personal_job *pj, const bk_result *r)
{
    for (int i = 0; i < TF_PERSONAL_MAX_COLUMNS; i++) {
        free(pj->cells[i]);
        pj->cells[i] = NULL;
    }
    if (!pj->row_id || !r->passed || !r->personalized)
        return; /* the row stays reserved for this MAC: its next try gets it again */
    station *st = pj->st;
    if (st_debug_wanted("ledger-pause")) {
        /* a crash test's window: the sector is verified, the row not yet used */
        st_notice(st->q, pj->b->number, ST_LOG_INFO, "bay %02d ledger: row %s verified on %s, "
                  "pausing before marking it used (TRAYFLASH_DEBUG=ledger-pause)", pj->b->number,
                  pj->row_key, pj->mac);
        while (!atomic_load(&pj->b->cancel))
            bk_sleep_ms(20);
        return;
    }
    pthread_mutex_lock(&st->ledger->lock);
    int rc = db_ledger_mark_used(st->ledger->l, pj->row_id, pj->mac, r->config_crc, station_now());
    char dberr[300];
    snprintf(dberr, sizeof dberr, "%s", rc < 0 ? db_errmsg(st->ledger->d) : "");
    pthread_mutex_unlock(&st->ledger->lock);
    if (rc < 0)
        st_notice(st->q, pj->b->number, ST_LOG_ERROR, "bay %02d ledger: row %s stays reserved for "
                  "%s (not marked used: %s)", pj->b->number, pj->row_key, pj->mac, dberr);
}
