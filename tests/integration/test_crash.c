/* SPEC §3: "An acknowledged write (2xx) is committed in PostgreSQL: a crash right after loses
 * nothing." 50 client threads post purchases as fast as they can, segmentd is SIGKILLed in the
 * middle, and after a restart every acknowledged purchase is found; the clients then retry the
 * rest and every purchase counts exactly once. Runs without forking (CK_NOFORK): the test kills
 * and restarts the server itself. Each client thread has its own libcurl easy handle (the
 * harness's http() shares a static header buffer, so the threads do not use it). */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

enum {
    CLIENTS = 50,
    OWN_CUSTOMERS = 3,     /* each client's own customers */
    SHARED_CUSTOMERS = 4,  /* a few customers every client buys for: row contention */
    MAX_PER_CLIENT = 4000, /* upper bound of purchases one client posts in the run */
    CUSTOMER_SLOTS = CLIENTS * OWN_CUSTOMERS + SHARED_CUSTOMERS,
};

/* What a client knows about one of its purchases. */
enum outcome {
    NOT_SENT = 0,
    ACKED,     /* a 2xx answer with status "created" */
    FAILED,    /* a non-2xx answer or a transport error before the kill */
    IN_FLIGHT, /* sent, and the answer never came because the server was killed */
};

struct purchase {
    enum outcome outcome;
    int customer; /* slot: [0, CLIENTS * OWN_CUSTOMERS) own, then the shared ones */
    long cents;
    bool found;   /* in the orders table after the restart */
    bool retried; /* posted again after the restart */
};

struct client {
    pthread_t thread;
    int index;
    int sent;
    long unexpected_status; /* first non-2xx status seen before the kill, 0 if none */
    char unexpected_body[256];
    int retry_created, retry_duplicate, retry_other;
    struct purchase p[MAX_PER_CLIENT];
};

static struct client *clients; /* heap: big */
static atomic_bool killing;    /* set right before the SIGKILL */
static atomic_bool stop;       /* clients stop starting new requests */
static char purchased_at[32];  /* one fixed time: retries carry the same values */

static void suite_setup(void)
{
    harness_start_db();
}

static void suite_teardown(void)
{
    harness_stop_all();
}

static void test_teardown(void)
{
    if (H.server_pid > 0)
        harness_stop_server(SIGTERM);
}

/* ---- a minimal thread-own HTTP client ---- */

struct body {
    char data[4096];
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb, room = sizeof b->data - 1 - b->len;
    size_t take = n < room ? n : room;
    memcpy(b->data + b->len, ptr, take);
    b->len += take;
    b->data[b->len] = '\0';
    return n;
}

/* POSTs `json` to /v1/purchases on the current server; returns the status (0: no answer). */
static long post_purchase(CURL *c, const char *json, struct body *out)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/purchases", H.port);
    struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer " ADMIN_KEY);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    return status;
}

/* The "status" of the single result of a purchase answer, or "" . */
static void result_status(const struct body *b, char *out, size_t outlen)
{
    json_t *doc = json_loadb(b->data, b->len, 0, NULL);
    json_t *first = json_array_get(json_object_get(doc, "results"), 0);
    const char *s = json_string_value(json_object_get(first, "status"));
    snprintf(out, outlen, "%s", s ? s : "");
    json_decref(doc);
}

static void customer_name(int slot, char *out, size_t outlen)
{
    if (slot < CLIENTS * OWN_CUSTOMERS)
        snprintf(out, outlen, "k%02d-c%d", slot / OWN_CUSTOMERS, slot % OWN_CUSTOMERS);
    else
        snprintf(out, outlen, "shared-%d", slot - CLIENTS * OWN_CUSTOMERS);
}

static void purchase_json(int client, int seq, const struct purchase *p, char *out, size_t outlen)
{
    char customer[32], amount[32];
    customer_name(p->customer, customer, sizeof customer);
    money(p->cents, amount);
    snprintf(out, outlen,
             "{\"order_id\":\"k%02d-%06d\",\"customer_id\":\"%s\",\"amount\":\"%s\","
             "\"purchased_at\":\"%s\"}",
             client, seq, customer, amount, purchased_at);
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    CURL *c = curl_easy_init();
    struct body b;
    char json[512], status_text[32];
    for (int seq = 0; seq < MAX_PER_CLIENT && !atomic_load(&stop); seq++) {
        struct purchase *p = &cl->p[seq];
        /* mostly own customers, every fourth purchase for a shared one */
        p->customer = seq % 4 == 3 ? CLIENTS * OWN_CUSTOMERS + (cl->index + seq) % SHARED_CUSTOMERS
                                   : cl->index * OWN_CUSTOMERS + seq % OWN_CUSTOMERS;
        p->cents = 100 + (cl->index * 7919L + seq * 104729L) % 99900;
        purchase_json(cl->index, seq, p, json, sizeof json);
        cl->sent = seq + 1;
        long status = post_purchase(c, json, &b);
        if (status >= 200 && status < 300) {
            result_status(&b, status_text, sizeof status_text);
            p->outcome = strcmp(status_text, "created") == 0 ? ACKED : FAILED;
            if (p->outcome == FAILED && cl->unexpected_status == 0) {
                cl->unexpected_status = status;
                snprintf(cl->unexpected_body, sizeof cl->unexpected_body, "%.200s", b.data);
            }
        } else if (atomic_load(&killing)) {
            p->outcome = IN_FLIGHT;
            break; /* the server is gone: stop until the restart */
        } else {
            p->outcome = FAILED;
            if (cl->unexpected_status == 0) {
                cl->unexpected_status = status == 0 ? -1 : status;
                snprintf(cl->unexpected_body, sizeof cl->unexpected_body, "%.200s", b.data);
            }
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* After the restart: every purchase without a 2xx is posted again. */
static void *retry_main(void *arg)
{
    struct client *cl = arg;
    CURL *c = curl_easy_init();
    struct body b;
    char json[512], status_text[32];
    for (int seq = 0; seq < cl->sent; seq++) {
        struct purchase *p = &cl->p[seq];
        if (p->outcome == ACKED)
            continue;
        purchase_json(cl->index, seq, p, json, sizeof json);
        p->retried = true;
        long status = post_purchase(c, json, &b);
        result_status(&b, status_text, sizeof status_text);
        if (status == 200 && strcmp(status_text, "created") == 0 && !p->found)
            cl->retry_created++;
        else if (status == 200 && strcmp(status_text, "duplicate") == 0 && p->found)
            cl->retry_duplicate++;
        else {
            cl->retry_other++;
            if (cl->unexpected_status == 0) {
                cl->unexpected_status = status == 0 ? -1 : status;
                snprintf(cl->unexpected_body, sizeof cl->unexpected_body, "seq %d found %d: %.200s",
                         seq, p->found, b.data);
            }
        }
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Marks every stored order as found, checking its customer and amount; returns the row count. */
static long mark_found(long *mismatches)
{
    PGconn *db = harness_db();
    PGresult *r = PQexec(db, "SELECT o.order_id, c.external_id, (o.amount * 100)::bigint "
                             "FROM orders o JOIN customers c ON c.workspace_id = o.workspace_id "
                             "AND c.id = o.customer_id");
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    long rows = PQntuples(r);
    *mismatches = 0;
    for (long i = 0; i < rows; i++) {
        int client, seq;
        char customer[32];
        if (sscanf(PQgetvalue(r, (int)i, 0), "k%d-%d", &client, &seq) != 2 || client < 0 ||
            client >= CLIENTS || seq < 0 || seq >= clients[client].sent) {
            fprintf(stderr, "test_crash: unknown order %s\n", PQgetvalue(r, (int)i, 0));
            ++*mismatches;
            continue;
        }
        struct purchase *p = &clients[client].p[seq];
        customer_name(p->customer, customer, sizeof customer);
        long cents = strtol(PQgetvalue(r, (int)i, 2), NULL, 10);
        if (p->found || strcmp(customer, PQgetvalue(r, (int)i, 1)) != 0 || cents != p->cents) {
            fprintf(stderr, "test_crash: order k%02d-%06d stored as %s %ld, posted %s %ld\n",
                    client, seq, PQgetvalue(r, (int)i, 1), cents, customer, p->cents);
            ++*mismatches;
        }
        p->found = true;
    }
    PQclear(r);
    PQfinish(db);
    return rows;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(sigkill_loses_no_acknowledged_purchase)
{
    harness_start_server(NULL, true);
    harness_reset();
    clients = calloc(CLIENTS, sizeof *clients);
    ck_assert_ptr_nonnull(clients);
    iso(time(NULL) - 3600, purchased_at);
    atomic_store(&killing, false);
    atomic_store(&stop, false);

    double t0 = now_s();
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].index = i;
        ck_assert_int_eq(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
    }
    usleep(2000 * 1000);
    atomic_store(&killing, true);
    atomic_store(&stop, true);
    int status = harness_stop_server(SIGKILL);
    double killed_after = now_s() - t0;
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i].thread, NULL);
    ck_assert_int_eq(status, -1); /* it did die of the signal */

    long sent = 0, acked = 0, failed = 0, in_flight = 0;
    for (int i = 0; i < CLIENTS; i++) {
        ck_assert_msg(clients[i].unexpected_status == 0, "client %d got %ld before the kill: %s", i,
                      clients[i].unexpected_status, clients[i].unexpected_body);
        sent += clients[i].sent;
        for (int s = 0; s < clients[i].sent; s++) {
            acked += clients[i].p[s].outcome == ACKED;
            failed += clients[i].p[s].outcome == FAILED;
            in_flight += clients[i].p[s].outcome == IN_FLIGHT;
        }
    }
    ck_assert_msg(acked > 0, "no purchase was acknowledged before the kill");

    harness_start_server(NULL, true);
    long mismatches;
    long found = mark_found(&mismatches);
    ck_assert_int_eq(mismatches, 0);
    long lost = 0;
    for (int i = 0; i < CLIENTS; i++)
        for (int s = 0; s < clients[i].sent; s++)
            if (clients[i].p[s].outcome == ACKED && !clients[i].p[s].found) {
                if (lost++ < 10)
                    fprintf(stderr, "test_crash: acknowledged k%02d-%06d is lost\n", i, s);
            }
    fprintf(stderr,
            "test_crash: %d clients posted %ld purchases in %.2f s before the SIGKILL: "
            "%ld acknowledged, %ld failed, %ld in flight; found after SIGKILL: %ld "
            "(acknowledged lost: %ld)\n",
            CLIENTS, sent, killed_after, acked, failed, in_flight, found, lost);
    ck_assert_msg(lost == 0, "%ld acknowledged purchases lost", lost);
    ck_assert_int_ge(found, acked);
    ck_assert_int_le(found, acked + in_flight + failed);

    /* every client retries what did not get a 2xx */
    for (int i = 0; i < CLIENTS; i++)
        ck_assert_int_eq(pthread_create(&clients[i].thread, NULL, retry_main, &clients[i]), 0);
    long retried = 0, created = 0, duplicate = 0, other = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(clients[i].thread, NULL);
        created += clients[i].retry_created;
        duplicate += clients[i].retry_duplicate;
        other += clients[i].retry_other;
        if (clients[i].retry_other)
            fprintf(stderr, "test_crash: client %d retry: %ld %s\n", i,
                    clients[i].unexpected_status, clients[i].unexpected_body);
    }
    retried = created + duplicate + other;
    fprintf(stderr,
            "test_crash: retried %ld: %ld created, %ld duplicate (committed though not "
            "acknowledged), %ld unexpected\n",
            retried, created, duplicate, other);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(retried, sent - acked);
    ck_assert_int_eq(duplicate, found - acked);

    /* every purchase exactly once */
    ck_assert_int_eq(harness_sql_long("SELECT count(*) FROM orders"), sent);
    long expect_n[CUSTOMER_SLOTS] = {0}, expect_cents[CUSTOMER_SLOTS] = {0}, total_cents = 0;
    for (int i = 0; i < CLIENTS; i++)
        for (int s = 0; s < clients[i].sent; s++) {
            expect_n[clients[i].p[s].customer]++;
            expect_cents[clients[i].p[s].customer] += clients[i].p[s].cents;
            total_cents += clients[i].p[s].cents;
        }
    PGconn *db = harness_db();
    PGresult *r = PQexec(db, "SELECT external_id, purchases, revenue_cents FROM customers");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    int customers_expected = 0;
    for (int k = 0; k < CUSTOMER_SLOTS; k++)
        customers_expected += expect_n[k] > 0;
    ck_assert_int_eq(PQntuples(r), customers_expected);
    for (int row = 0; row < PQntuples(r); row++) {
        int k = 0;
        char name[32];
        for (; k < CUSTOMER_SLOTS; k++) {
            customer_name(k, name, sizeof name);
            if (strcmp(name, PQgetvalue(r, row, 0)) == 0)
                break;
        }
        ck_assert_msg(k < CUSTOMER_SLOTS, "unknown customer %s", PQgetvalue(r, row, 0));
        ck_assert_msg(strtol(PQgetvalue(r, row, 1), NULL, 10) == expect_n[k] &&
                          strtol(PQgetvalue(r, row, 2), NULL, 10) == expect_cents[k],
                      "customer %s: %s purchases, %s cents; the clients posted %ld, %ld", name,
                      PQgetvalue(r, row, 1), PQgetvalue(r, row, 2), expect_n[k], expect_cents[k]);
    }
    PQclear(r);
    PQfinish(db);
    ck_assert_int_eq(harness_sql_long("SELECT (sum(amount) * 100)::bigint FROM orders"),
                     total_cents);
    /* the report's counters agree with the customers table, cell by cell */
    ck_assert_int_eq(
        harness_sql_long(
            "SELECT count(*) FROM (SELECT workspace_id, kind, cell, monetary, count(*) AS n, "
            "sum(purchases) AS o, sum(revenue_cents) AS r FROM customers WHERE cell IS NOT NULL "
            "GROUP BY 1, 2, 3, 4) a FULL JOIN (SELECT workspace_id, kind, cell, monetary, "
            "sum(customers) AS n, sum(orders) AS o, sum(revenue_cents) AS r FROM cell_counts "
            "GROUP BY 1, 2, 3, 4 HAVING sum(customers) <> 0 OR sum(orders) <> 0 OR "
            "sum(revenue_cents) <> 0) b USING (workspace_id, kind, cell, monetary) "
            "WHERE a.n IS DISTINCT FROM b.n OR a.o IS DISTINCT FROM b.o "
            "OR a.r IS DISTINCT FROM b.r"),
        0);
    ck_assert_int_eq(harness_sql_long("SELECT sum(customers) FROM cell_counts"),
                     customers_expected);
    ck_assert_int_eq(harness_sql_long("SELECT sum(orders) FROM cell_counts"), sent);
    ck_assert_int_eq(harness_sql_long("SELECT sum(revenue_cents) FROM cell_counts"), total_cents);
    fprintf(stderr,
            "test_crash: after the retries: %ld orders (= posted), %d customers, %ld cents; "
            "cell_counts agree\n",
            sent, customers_expected, total_cents);
    ck_assert_int_eq(harness_stop_server(SIGTERM), 0);
    free(clients);
    clients = NULL;
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("sigkill");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, NULL, test_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigkill_loses_no_acknowledged_purchase);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
