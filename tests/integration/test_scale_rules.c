/* SCALE.md, checked on the real catalog after every migration: vanilla PostgreSQL accepts what
 * PgBouncer and Citus refuse, so these rules are tested rather than trusted.
 *   S1 every workspace table has workspace_id bigint NOT NULL
 *   S2 primary keys and unique constraints include workspace_id; foreign keys between workspace
 *      tables are composite
 *   S3 ids are bigint        S5 no triggers        S6 timestamptz only */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Tables shared by all workspaces (S4) and the migrations ledger. */
#define SHARED "('workspaces', 'schema_migrations')"

static void setup(void)
{
    harness_start_db();
    harness_start_server(NULL, true); /* applies the migrations */
}

static void teardown(void)
{
    harness_stop_all();
}

/* Runs a query expected to return no rows; prints what it found otherwise. */
static void assert_none(const char *what, const char *sql)
{
    PGconn *c = harness_db();
    PGresult *r = PQexec(c, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "%s: %s\n", what, PQgetvalue(r, i, 0));
    ck_assert_msg(PQntuples(r) == 0, "%s (%d)", what, PQntuples(r));
    PQclear(r);
    PQfinish(c);
}

START_TEST(s1_every_table_has_workspace_id)
{
    assert_none("table without workspace_id bigint NOT NULL",
                "SELECT t.table_name FROM information_schema.tables t "
                "WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "AND t.table_name NOT IN " SHARED " AND NOT EXISTS ("
                " SELECT 1 FROM information_schema.columns c WHERE c.table_schema = 'public'"
                " AND c.table_name = t.table_name AND c.column_name = 'workspace_id'"
                " AND c.data_type = 'bigint' AND c.is_nullable = 'NO')");
    ck_assert_int_ge(harness_sql_long("SELECT count(*) FROM information_schema.tables "
                                      "WHERE table_schema = 'public'"),
                     8);
}
END_TEST

START_TEST(s2_keys_include_workspace_id)
{
    assert_none("primary key or unique constraint without workspace_id",
                "SELECT con.conname FROM pg_constraint con JOIN pg_class rel ON rel.oid = "
                "con.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace "
                "WHERE n.nspname = 'public' AND con.contype IN ('p', 'u') "
                "AND rel.relname NOT IN " SHARED " AND NOT EXISTS ("
                " SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel.oid"
                " AND a.attname = 'workspace_id' AND a.attnum = ANY (con.conkey))");
    assert_none("unique index without workspace_id",
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = "
                "t.relnamespace WHERE n.nspname = 'public' AND x.indisunique "
                "AND t.relname NOT IN " SHARED " AND NOT EXISTS ("
                " SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid"
                " AND a.attname = 'workspace_id' AND a.attnum = ANY (x.indkey))");
    assert_none("foreign key between workspace tables that is not composite on workspace_id",
                "SELECT con.conname FROM pg_constraint con JOIN pg_class rel ON rel.oid = "
                "con.conrelid JOIN pg_class ref ON ref.oid = con.confrelid "
                "WHERE con.contype = 'f' AND ref.relname NOT IN " SHARED " AND NOT EXISTS ("
                " SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel.oid"
                " AND a.attname = 'workspace_id' AND a.attnum = con.conkey[1])");
}
END_TEST

START_TEST(s3_ids_are_bigint)
{
    assert_none(
        "id column that is not bigint",
        "SELECT table_name || '.' || column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND (column_name = 'id' OR column_name LIKE "
        "'%\\_id' ESCAPE '\\') AND column_name NOT IN ('order_id', 'external_id', 'msg_id') "
        "AND data_type <> 'bigint'");
    /* integer only for small bounded quantities: counts of purchases or attempts, versions, HTTP
     * status codes, minutes of a day, days, milliseconds of one attempt */
    assert_none("integer column (use bigint)",
                "SELECT table_name || '.' || column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = 'integer' "
                "AND column_name NOT IN ('purchases', 'version', 'attempts', 'max_count', "
                "'days_before', 'quiet_from_min', 'quiet_to_min', 'last_status', 'status_code', "
                "'latency_ms')");
}
END_TEST

START_TEST(s5_no_triggers)
{
    assert_none("trigger", "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = "
                           "t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public' AND NOT t.tgisinternal");
}
END_TEST

START_TEST(s6_timestamptz_only)
{
    assert_none("timestamp without time zone",
                "SELECT table_name || '.' || column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'");
}
END_TEST

/* ---- the statements in src/store, as the code holds them ---- */

/* Appends the string literals of one `struct sd_stmt` initializer after its name: the SQL, with
 * adjacent literals (and macro arguments such as US("col")) joined. Returns the end of it. */
static const char *next_statement(const char *p, char *sql, size_t sqllen)
{
    const char *start = strstr(p, "struct sd_stmt ");
    if (start == NULL)
        return NULL;
    const char *brace = strchr(start, '{');
    const char *semi = strchr(start, ';');
    sql[0] = '\0';
    if (brace == NULL || (semi != NULL && semi < brace))
        return start + 15; /* a declaration, not a definition */
    size_t n = 0;
    int literal = 0;
    for (const char *q = brace; *q && *q != '}'; q++) {
        if (*q != '"')
            continue;
        const char *end = q + 1;
        while (*end && *end != '"')
            end += *end == '\\' ? 2 : 1;
        if (literal++ > 0) { /* the first literal is the statement's name */
            size_t len = (size_t)(end - q - 1);
            if (n + len + 1 < sqllen) {
                memcpy(sql + n, q + 1, len);
                n += len;
                sql[n] = '\0';
            }
        }
        q = end;
    }
    return brace + 1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc((size_t)size + 1, 1);
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

static bool names_workspace_table(const char *sql)
{
    static const char *const tables[] = {
        " customers",        " orders",     " transitions",       " cell_counts",
        " imports",          " matrices",   " api_keys",          " campaigns",
        " contact_policies", " deliveries", " delivery_attempts", " segment_snapshots",
        " kpi_targets"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        const char *hit = strstr(sql, tables[i]);
        if (hit != NULL) {
            char after = hit[strlen(tables[i])];
            if (after == ' ' || after == '\0' || after == ',' || after == ')')
                return true;
        }
    }
    return false;
}

/* Does the text just before `at` (an operand of + or -) end with now()? */
static bool interval_applied_to_now(const char *sql, const char *at)
{
    const char *p = at;
    while (p > sql && p[-1] == ' ')
        p--;
    if (p > sql && (p[-1] == '+' || p[-1] == '-')) {
        p--;
        while (p > sql && p[-1] == ' ')
            p--;
        return p - sql >= 5 && strncmp(p - 5, "now()", 5) == 0;
    }
    return true; /* not an operand of + or -: e.g. `$n * interval '1 ms'` in a SELECT */
}

static int breach(const char *file, const char *why, const char *sql)
{
    fprintf(stderr, "%s: %s: %s\n", file, why, sql);
    return 1;
}

/* Q1: a statement on workspace tables filters by workspace_id. Q2: a locking read names its
 * workspace. Q3: in an UPDATE or DELETE no volatile function, and no interval added to anything
 * but now() (a column ± interval is refused by Citus). Q4: RETURNING only columns. Q5: DO UPDATE
 * SET without now(). Q8/Q9: no session state (SET without LOCAL, session advisory locks). */
static int check_statement(const char *file, const char *sql)
{
    int bad = 0;
    if (names_workspace_table(sql) && strstr(sql, "workspace_id") == NULL)
        bad += breach(file, "statement without workspace_id", sql);
    if (names_workspace_table(sql) && (strstr(sql, "FOR UPDATE") || strstr(sql, "FOR SHARE")) &&
        strstr(sql, "workspace_id = $") == NULL)
        bad += breach(file, "locking read without workspace_id = $n", sql);
    bool writes = strncmp(sql, "UPDATE", 6) == 0 || strncmp(sql, "DELETE", 6) == 0;
    if (writes &&
        (strstr(sql, "random()") || strstr(sql, "clock_timestamp()") || strstr(sql, "nextval(")))
        bad += breach(file, "volatile function in a write", sql);
    for (const char *p = sql; writes && (p = strstr(p, "interval")) != NULL; p += 8) {
        const char *operand = p;
        if (p - sql >= 4 && strncmp(p - 2, "::", 2) == 0) { /* $n::interval */
            operand = p - 2;
            while (operand > sql && operand[-1] != ' ' && operand[-1] != '(')
                operand--;
        }
        if (!interval_applied_to_now(sql, operand))
            bad += breach(file, "interval added to a column in a write", sql);
    }
    /* (extract(epoch FROM a timestamptz) is immutable: US() of store_util.h is allowed) */
    const char *ret = strstr(sql, "RETURNING ");
    const char *paren = ret ? strchr(ret, '(') : NULL;
    while (paren != NULL && strncmp(paren, "(extract(epoch FROM ", 20) == 0)
        paren =
            strchr(strstr(paren, ") * 1000000)") ? strstr(paren, ") * 1000000)") + 12 : "", '(');
    if (paren != NULL)
        bad += breach(file, "RETURNING something other than columns", sql);
    const char *set = strstr(sql, "DO UPDATE SET");
    if (set != NULL && (strstr(set, "now()") || strstr(set, "clock_timestamp()")))
        bad += breach(file, "now() in ON CONFLICT DO UPDATE SET", sql);
    if (strstr(sql, "pg_advisory_lock(") ||
        (strncmp(sql, "SET ", 4) == 0 && strncmp(sql, "SET LOCAL ", 10) != 0))
        bad += breach(file, "session state", sql);
    return bad;
}

/* The checker itself catches what it is for (a lint that cannot fail proves nothing). */
START_TEST(q_the_lint_catches_breaches)
{
    ck_assert_int_eq(check_statement("t", "SELECT id FROM customers WHERE id = $1"), 1);
    ck_assert_int_eq(check_statement("t", "SELECT id FROM deliveries d WHERE d.id = $2 FOR UPDATE"),
                     2);
    ck_assert_int_eq(check_statement("t", "UPDATE deliveries SET due_at = due_at + $3::interval "
                                          "WHERE workspace_id = $1"),
                     1);
    ck_assert_int_eq(check_statement("t", "UPDATE deliveries SET due_at = now() + $3::interval "
                                          "WHERE workspace_id = $1"),
                     0);
    ck_assert_int_eq(check_statement("t", "UPDATE deliveries SET x = 1 WHERE workspace_id = $1 "
                                          "RETURNING lower(msg_id)"),
                     1);
    ck_assert_int_eq(check_statement("t", "INSERT INTO campaigns AS c (workspace_id) VALUES ($1) "
                                          "ON CONFLICT (workspace_id) DO UPDATE SET "
                                          "updated_at = now()"),
                     1);
    ck_assert_int_eq(check_statement("t", "SET search_path = x"), 1);
}
END_TEST

START_TEST(q_store_statements_follow_the_rules)
{
    static const char *const files[] = {
        "cancellations.c", "changes.c",    "customers.c", "imports.c",
        "keys.c",          "matrices.c",   "migrate.c",   "purchases.c",
        "resegment.c",     "workspaces.c", "due.c",       "enqueue.c",
        "occasions.c",     "outbox.c",     "campaigns.c", "contact_policy.c",
        "deliveries.c",    "kpis.c",       "history.c"};
    int bad = 0, seen = 0;
    char *sql = malloc(64 * 1024);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/src/store/%s", SEGMENTD_SOURCE_DIR, files[i]);
        char *text = read_file(path);
        ck_assert_msg(text != NULL, "cannot read %s", path);
        for (const char *p = text; (p = next_statement(p, sql, 64 * 1024)) != NULL;) {
            if (sql[0] == '\0')
                continue;
            seen++;
            bad += check_statement(files[i], sql);
        }
        free(text);
    }
    free(sql);
    ck_assert_int_gt(seen, 50); /* the extractor found the statements */
    ck_assert_int_eq(bad, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scale_rules");
    TCase *tc = tcase_create("catalog");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, s1_every_table_has_workspace_id);
    tcase_add_test(tc, s2_keys_include_workspace_id);
    tcase_add_test(tc, s3_ids_are_bigint);
    tcase_add_test(tc, s5_no_triggers);
    tcase_add_test(tc, s6_timestamptz_only);
    tcase_add_test(tc, q_store_statements_follow_the_rules);
    tcase_add_test(tc, q_the_lint_catches_breaches);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
