/* Re-segmentation after a matrix change. Reading is lock-free and batched by id; only the
 * customers whose placement changes are locked (FOR UPDATE), re-read and written, so a change
 * that moves 5 % of a million customers writes 50 000 rows, not a million (SCALE.md, TRAPS.md). */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "store_util.h"
#include "segmentd/store_customers.h"

static const struct sd_stmt scan_stmt = {
    "reseg_scan",
    "SELECT " STATE_COLUMNS " FROM customers WHERE workspace_id = $1::bigint AND kind = $2 "
    "AND cell IS NOT NULL AND id > $3::bigint ORDER BY id LIMIT $4::int",
    4};
static const struct sd_stmt lock_stmt = {
    "reseg_lock",
    "SELECT " STATE_COLUMNS " FROM customers WHERE workspace_id = $1::bigint "
    "AND id = ANY($2::bigint[]) AND kind = $3 ORDER BY id FOR UPDATE",
    3};

/* Classifies a result's rows; keeps those whose placement changes. */
static struct sd_change *changed_rows(const PGresult *res, const struct sd_matrix *m, int64_t now,
                                      size_t *n)
{
    size_t rows = (size_t)PQntuples(res);
    struct sd_change *ch = calloc(rows + 1, sizeof *ch);
    struct sd_matrix set[SD_KIND_COUNT];
    if (ch == NULL)
        return NULL;
    set[0] = set[1] = *m; /* all rows are of the kind being re-segmented */
    *n = 0;
    for (size_t r = 0; r < rows; r++) {
        struct sd_customer_state st;
        sd_customer_state_read(res, (int)r, &st);
        sd_change_init(&ch[*n], &st);
        sd_changes_classify(set, &ch[*n], 1, now);
        if (strcmp(ch[*n].cell, st.cell) != 0 || strcmp(ch[*n].monetary, st.monetary) != 0)
            (*n)++;
    }
    return ch;
}

static enum sd_rc write_batch(struct sd_db *db, long long ws, enum sd_kind kind,
                              const struct sd_matrix *m, const struct sd_change *cand, size_t ncand,
                              const char *reason, bool notify, long long *moved)
{
    char w[24];
    snprintf(w, sizeof w, "%lld", ws);
    struct sd_buf ids;
    pga_begin(&ids, 64 * 1024 * 1024);
    enum sd_rc rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < ncand; i++)
        rc = pga_i64(&ids, cand[i].before.id);
    if (rc == SD_OK && pga_end(&ids) == NULL)
        rc = SD_ERR_TOO_LARGE;
    PGresult *locked = NULL;
    const char *p_lock[] = {w, ids.data, sd_kind_name(kind)};
    struct sd_pipe_step steps1[] = {{&store_begin_stmt, NULL, NULL}, {&lock_stmt, p_lock, &locked}};
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps1, 2);
    size_t n = 0;
    struct sd_change *ch = NULL;
    int64_t now = sd_now_us();
    if (rc == SD_OK && (ch = changed_rows(locked, m, now, &n)) == NULL)
        rc = SD_ERR_NOMEM;
    struct sd_change_writer wr;
    memset(&wr, 0, sizeof wr);
    if (rc == SD_OK) {
        struct sd_pipe_step steps2[SD_CHANGE_WRITER_STEPS + 1];
        int nsteps = 0;
        int flags = SD_WRITE_COUNTS | (notify ? SD_WRITE_NOTIFY | SD_WRITE_NOTIFY_OTHERS : 0);
        rc = sd_change_writer_build_flags(&wr, ws, ch, n, reason, now, flags, steps2, &nsteps);
        steps2[nsteps++] = (struct sd_pipe_step){&store_commit_stmt, NULL, NULL};
        if (rc == SD_OK)
            rc = sd_db_pipeline(db, steps2, nsteps);
    }
    if (rc == SD_OK)
        *moved += (long long)n;
    else if (PQtransactionStatus(sd_db_conn(db)) != PQTRANS_IDLE)
        PQclear(PQexec(sd_db_conn(db), "ROLLBACK"));
    sd_change_writer_free(&wr);
    free(ch);
    PQclear(locked);
    sd_buf_free(&ids);
    return rc;
}

enum sd_rc sd_store_resegment(struct sd_db *db, long long ws, enum sd_kind kind,
                              const struct sd_matrix *m, const char *reason, bool notify,
                              size_t batch, long long *moved)
{
    char w[24], after[24] = "0", limit[24];
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(limit, sizeof limit, "%zu", batch);
    *moved = 0;
    for (;;) {
        const char *params[] = {w, sd_kind_name(kind), after, limit};
        PGresult *res = NULL;
        enum sd_rc rc = sd_db_exec(db, &scan_stmt, params, &res);
        if (rc != SD_OK)
            return rc;
        int rows = PQntuples(res);
        size_t n = 0;
        struct sd_change *cand = changed_rows(res, m, sd_now_us(), &n);
        if (rows > 0)
            snprintf(after, sizeof after, "%s", PQgetvalue(res, rows - 1, 0));
        PQclear(res);
        if (cand == NULL)
            return SD_ERR_NOMEM;
        rc = n > 0 ? write_batch(db, ws, kind, m, cand, n, reason, notify, moved) : SD_OK;
        free(cand);
        if (rc != SD_OK)
            return rc;
        if ((size_t)rows < batch)
            return SD_OK;
    }
}
