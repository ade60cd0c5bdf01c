/* Daily cell sizes and flows between cells, from the transitions log (store_history.h).
 *
 * The size of a cell at the start of day D is the number of customers whose latest transition
 * before D put them there. Summed over customers that is a running sum: every transition adds
 * one to its to_cell and takes one from its from_cell. So the sizes are either the sum of every
 * move before D (forward), or the cell's current size (cell_counts, kept by the same
 * transactions that write the transitions) less every move since D (backward); both are one
 * GROUP BY (day, from, to) over a range of transitions_by_time, and we read whichever range is
 * shorter — the past before the period, or the time since its start — so that the dashboard's
 * last 30 days cost the same however long the log. Nothing per customer or per day is joined:
 * the cost grows with the range read, not with customers × days. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/store_history.h"
#include "segmentd/util.h"
#include "store_util.h"

/* The day a transition is first seen by: the UTC midnight after it (a transition exactly at
 * midnight belongs to the day it starts, so the next one sees it), as an index from day 0 ($3,
 * whose midnight is $6). Forward, every move before day 0 is folded into it; backward, every
 * move from the last day's midnight ($4) on into index $7 (= days: seen by none of them) —
 * without the date arithmetic, which is most of the cost on a long log. */
#define DAY_INDEX(outside, test, index)                                                            \
    "CASE WHEN t.at " test " THEN " outside " "                                                    \
    "ELSE (t.at AT TIME ZONE 'UTC')::date + 1 - $3::date END AS " index
#define FORWARD_DAY DAY_INDEX("0", "< $6::timestamptz", "day")
#define BACKWARD_DAY DAY_INDEX("$7::int", ">= $4::timestamptz", "day")

/* What a transition is to kind $2: a move of the kind from its from_cell (none for a change of
 * kind: that cell is the other kind's) to its to_cell; or one of the other kind ($5), which
 * counts only when it is a change of kind, as an exit from its from_cell to no cell. One scan
 * (a BitmapOr of two transitions_by_time ranges) reads both. */
#define MOVE_FROM "CASE WHEN t.kind = $2 AND t.reason = 'profile' THEN NULL ELSE t.from_cell END"
#define MOVE_TO "CASE WHEN t.kind = $2 THEN t.to_cell END"
#define MOVE_KINDS                                                                                 \
    "(t.kind = $2 OR (t.kind = $5 AND t.reason = 'profile' AND t.from_cell IS NOT NULL))"

/* Grouped by (day, from, to) rather than unpivoted into +1/−1 rows, so the aggregate reads each
 * transition once. */
#define MOVES(day, range)                                                                          \
    "SELECT " day ", " MOVE_FROM ", " MOVE_TO ", count(*) FROM transitions t "                     \
    "WHERE t.workspace_id = $1::bigint AND " range " AND " MOVE_KINDS " GROUP BY 1, 2, 3"

/* $1 ws, $2 kind, $3 first day (date), $4 last day's midnight, $5 the other kind, $6 first day's
 * midnight (and backward: $7 days). Rows: day, from_cell, to_cell, count; backward also the
 * current sizes as day -1, to_cell, count — in the same statement, so the counters and the
 * transitions are read from one snapshot. */
static const struct sd_stmt forward_stmt = {"history_forward",
                                            MOVES(FORWARD_DAY, "t.at < $4::timestamptz"), 6};
static const struct sd_stmt backward_stmt = {
    "history_backward",
    "SELECT -1, NULL, cell, sum(customers)::bigint FROM cell_counts "
    "WHERE workspace_id = $1::bigint AND kind = $2 GROUP BY cell "
    "UNION ALL " MOVES(BACKWARD_DAY, "t.at >= $6::timestamptz"),
    7};

/* The span of the kind's log (two probes of transitions_by_time). */
static const struct sd_stmt bounds_stmt = {
    "history_bounds",
    "SELECT " US("min(at)") ", " US("max(at)") " FROM transitions "
                                               "WHERE workspace_id = $1::bigint AND kind = $2",
    2};

/* $1 ws, $2 kind, $3 first day, $4 last day (dates). */
static const struct sd_stmt snapshots_stmt = {
    "history_snapshots",
    "SELECT day - $3::date, cell, customers FROM segment_snapshots "
    "WHERE workspace_id = $1::bigint AND day BETWEEN $3::date AND $4::date AND kind = $2",
    4};

/* $1 ws, $2 kind, $3 from, $4 to, $5 the other kind, $6 reasons (text[]). A list of reasons
 * rather than "$6 IS NULL OR …", so that a generic plan stays an index range. */
static const struct sd_stmt flows_stmt = {
    "flows",
    "SELECT f, t, count(*) AS n FROM (SELECT " MOVE_FROM " AS f, " MOVE_TO " AS t "
    "FROM transitions t WHERE t.workspace_id = $1::bigint AND t.at >= $3::timestamptz "
    "AND t.at < $4::timestamptz AND " MOVE_KINDS " AND t.reason = ANY ($6::text[])) x "
    "WHERE f IS DISTINCT FROM t GROUP BY f, t "
    "ORDER BY n DESC, f COLLATE \"C\" NULLS FIRST, t COLLATE \"C\" NULLS FIRST",
    6};

static const char *other_kind(enum sd_kind kind)
{
    return sd_kind_name(kind == SD_KIND_B2C ? SD_KIND_B2B : SD_KIND_B2C);
}

static void date_text(int64_t us, char *out, size_t outlen)
{
    char t[40];
    sd_time_format_us(us, t, sizeof t);
    snprintf(out, outlen, "%.10s", t);
}

static int cell_index(const struct sd_history *h, const char *key)
{
    for (int i = 0; i < h->ncells; i++) {
        if (strcmp(h->cells[i], key) == 0)
            return i;
    }
    return -1; /* a label of an earlier matrix */
}

/* Reads fewer transitions backward? Forward reads the log before the last day, backward the log
 * from the first day on; the log's span stands in for its size. */
static enum sd_rc choose_backward(struct sd_db *db, const char *const *params, int64_t first_us,
                                  int64_t last_us, bool *backward)
{
    PGresult *res = NULL;
    enum sd_rc rc = sd_db_exec(db, &bounds_stmt, params, &res);
    *backward = false;
    if (rc == SD_OK && !PQgetisnull(res, 0, 0)) {
        int64_t lo = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        int64_t hi = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        int64_t fwd = (last_us < hi ? last_us : hi) - lo;
        int64_t bwd = hi - (first_us > lo ? first_us : lo);
        *backward = bwd < fwd;
    }
    PQclear(res);
    return rc;
}

/* Per day index 0 .. days (days: after the last day) and cell: the net moves; current: the
 * cells' sizes now (backward only). */
static void add_moves(const struct sd_history *h, const PGresult *res, int64_t *net,
                      int64_t *current)
{
    for (int r = 0; r < PQntuples(res); r++) {
        long long day = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        int64_t n = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        int from = PQgetisnull(res, r, 1) ? -1 : cell_index(h, PQgetvalue(res, r, 1));
        int to = PQgetisnull(res, r, 2) ? -1 : cell_index(h, PQgetvalue(res, r, 2));
        if (day == -1) {
            if (to >= 0)
                current[to] += n;
            continue;
        }
        if (day < 0 || day > h->days)
            continue;
        int64_t *row = &net[day * h->ncells];
        if (from >= 0)
            row[from] -= n;
        if (to >= 0)
            row[to] += n;
    }
}

static void running_sums(struct sd_history *h, const int64_t *net, const int64_t *current,
                         bool backward)
{
    int nc = h->ncells;
    if (!backward) {
        for (int d = 0; d < h->days; d++) {
            for (int c = 0; c < nc; c++)
                h->sizes[d * nc + c] = (d > 0 ? h->sizes[(d - 1) * nc + c] : 0) + net[d * nc + c];
        }
        return;
    }
    for (int d = h->days - 1; d >= 0; d--) {
        for (int c = 0; c < nc; c++)
            h->sizes[d * nc + c] =
                (d < h->days - 1 ? h->sizes[(d + 1) * nc + c] : current[c]) - net[(d + 1) * nc + c];
    }
}

/* A day with any snapshot row is a snapshot day, even if its cells are of an earlier matrix;
 * the cells it lacks are empty. */
static void apply_snapshots(struct sd_history *h, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        long long day = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (day < 0 || day >= h->days)
            continue;
        if (!h->snapshot[day]) {
            h->snapshot[day] = true;
            memset(&h->sizes[day * h->ncells], 0, sizeof *h->sizes * (size_t)h->ncells);
        }
        int c = cell_index(h, PQgetvalue(res, r, 1));
        if (c >= 0)
            h->sizes[day * h->ncells + c] = strtoll(PQgetvalue(res, r, 2), NULL, 10);
    }
}

enum sd_rc sd_store_history(struct sd_db *db, long long ws, enum sd_kind kind, struct sd_history *h)
{
    char w[24], first[16], last[16], first_at[40], last_at[40], days[16];
    int64_t last_us = h->first_day_us + (int64_t)(h->days - 1) * SD_US_PER_DAY;
    snprintf(w, sizeof w, "%lld", ws);
    snprintf(days, sizeof days, "%d", h->days);
    date_text(h->first_day_us, first, sizeof first);
    date_text(last_us, last, sizeof last);
    sd_time_format_us(h->first_day_us, first_at, sizeof first_at);
    sd_time_format_us(last_us, last_at, sizeof last_at);
    const char *p_moves[] = {w,   sd_kind_name(kind), first, last_at, other_kind(kind), first_at,
                             days};
    const char *p_snaps[] = {w, sd_kind_name(kind), first, last};
    PGresult *moves = NULL, *snaps = NULL;
    int64_t *net = calloc(((size_t)h->days + 1) * (size_t)h->ncells + 1, sizeof *net);
    int64_t current[SD_MAX_BANDS * SD_MAX_BANDS] = {0};
    bool backward = false;
    enum sd_rc rc = net ? SD_OK : SD_ERR_NOMEM;
    if (rc == SD_OK && h->ncells > SD_MAX_BANDS * SD_MAX_BANDS)
        rc = SD_ERR_INTERNAL;
    if (rc == SD_OK)
        rc = choose_backward(db, p_moves, h->first_day_us, last_us, &backward);
    struct sd_pipe_step steps[] = {{backward ? &backward_stmt : &forward_stmt, p_moves, &moves},
                                   {&snapshots_stmt, p_snaps, &snaps}};
    if (rc == SD_OK)
        rc = sd_db_pipeline(db, steps, (int)SD_ARRAY_LEN(steps));
    if (rc == SD_OK) {
        memset(h->snapshot, 0, sizeof *h->snapshot * (size_t)h->days);
        add_moves(h, moves, net, current);
        running_sums(h, net, current, backward);
        apply_snapshots(h, snaps);
    }
    PQclear(moves);
    PQclear(snaps);
    free(net);
    return rc;
}

enum sd_rc sd_store_flows(struct sd_db *db, long long ws, enum sd_kind kind, int64_t from_us,
                          int64_t to_us, const char *reason, PGresult **res)
{
    char w[24], from[40], to[40], reasons[64];
    snprintf(w, sizeof w, "%lld", ws);
    sd_time_format_us(from_us, from, sizeof from);
    sd_time_format_us(to_us, to, sizeof to);
    if (reason != NULL)
        snprintf(reasons, sizeof reasons, "{%s}", reason);
    else
        snprintf(reasons, sizeof reasons, "%s",
                 "{purchase,cancellation,time,matrix_change,import,profile}");
    const char *params[] = {w, sd_kind_name(kind), from, to, other_kind(kind), reasons};
    return sd_db_exec(db, &flows_stmt, params, res);
}
