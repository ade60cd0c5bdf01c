/* Customers: their placement in the matrix and everything that moves them. Every change of
 * aggregates goes through a change set: classified by the core, then written as one customers
 * UPDATE, the transitions of those who moved, and the counters' deltas — in the caller's
 * transaction, in one pipeline. */
#ifndef SEGMENTD_STORE_CUSTOMERS_H
#define SEGMENTD_STORE_CUSTOMERS_H

#include <stddef.h>
#include <stdint.h>

#include "segmentd/core_matrix.h"
#include "segmentd/db.h"
#include "segmentd/util.h"

#define SD_EXTERNAL_ID_MAX 128

/* A customer's stored state. Times in µs (0 = none). cell/monetary "" = no cell. */
struct sd_customer_state {
    long long id;
    char external_id[SD_EXTERNAL_ID_MAX * 4 + 1];
    enum sd_kind kind;
    int64_t purchases;
    int64_t revenue_cents;
    int64_t first_purchase_at;
    int64_t last_purchase_at;
    char cell[SD_CELL_KEY_MAX + 1];
    char monetary[SD_LABEL_MAX + 1];
    int64_t cell_since;
};

/* One customer's change: the state before (read under lock), the aggregates after. */
struct sd_change {
    struct sd_customer_state before;
    enum sd_kind kind;
    int64_t purchases, revenue_cents, first_purchase_at, last_purchase_at;
    int64_t at; /* when the move happened (µs); 0: the writer's `at` */
    /* Filled by sd_changes_classify: */
    struct sd_placement placement;
    char cell[SD_CELL_KEY_MAX + 1];
    char monetary[SD_LABEL_MAX + 1];
    bool moved; /* the cell changed: a transition is written */
    bool dirty; /* something changed: the row is written */
};

/* Starts a change from the state before: aggregates unchanged. */
void sd_change_init(struct sd_change *c, const struct sd_customer_state *before);

/* Places every change with the matrix of its kind at `now`. */
void sd_changes_classify(const struct sd_matrix matrices[SD_KIND_COUNT], struct sd_change *changes,
                         size_t n, int64_t now);

/* Builds the statements that write a classified change set (parameters live in the writer until
 * sd_change_writer_free). Steps are appended to `steps` (room for SD_CHANGE_WRITER_STEPS).
 * With SD_WRITE_COUNTS the counter deltas are written (imports rebuild the counters themselves);
 * with SD_WRITE_NOTIFY every transition into the cells of an active `enter` campaign enqueues a
 * webhook delivery in the same pipeline (store/enqueue.c); SD_WRITE_NOTIFY_OTHERS adds a NOTIFY
 * for the other processes' dispatchers when something was enqueued (once per batch: NOTIFY is a
 * database-wide lock at commit, TRAPS.md). */
#define SD_CHANGE_WRITER_STEPS 5
enum {
    SD_WRITE_COUNTS = 1,
    SD_WRITE_NOTIFY = 2,
    SD_WRITE_NOTIFY_OTHERS = 4,
};
struct sd_change_writer {
    struct sd_buf bufs[24];
    const char *update_params[10];
    const char *transition_params[7];
    int flags;
    const char *count_params[8];
    char ws[24];
    char stripe[8];
    PGresult *enqueued;    /* result of the enqueue statement (its row count) */
    PGresult *transitions; /* result of the transitions statement (counted for /metrics) */
};
enum sd_rc sd_change_writer_build_flags(struct sd_change_writer *w, long long ws,
                                        const struct sd_change *changes, size_t n,
                                        const char *reason, int64_t at, int flags,
                                        struct sd_pipe_step *steps, int *nsteps) SD_MUST_CHECK;
/* Counts, and notifies for the reasons campaigns react to: purchase, cancellation and time
 * (SPEC §2: never imports, profile changes or silent matrix changes). */
enum sd_rc sd_change_writer_build(struct sd_change_writer *w, long long ws,
                                  const struct sd_change *changes, size_t n, const char *reason,
                                  int64_t at, struct sd_pipe_step *steps,
                                  int *nsteps) SD_MUST_CHECK;
/* Appends segmentd_transitions_total{reason} (transitions this process wrote, by reason; a
 * transaction rolled back after its INSERT still counts) in Prometheus text format. */
enum sd_rc sd_store_transitions_metrics(struct sd_buf *out) SD_MUST_CHECK;
/* Deliveries the pipeline enqueued (valid after it ran). */
long long sd_change_writer_enqueued(const struct sd_change_writer *w);
/* Frees the parameters; wakes this process's dispatcher if deliveries were enqueued. */
void sd_change_writer_free(struct sd_change_writer *w);

/* Reads customers by external id (sorted, distinct) and locks them (FOR UPDATE), for the
 * pipeline: the statement and its parameter (the text[] literal is the caller's). */
extern const struct sd_stmt sd_stmt_customers_lock;
/* Reads one row of that statement into `out`. */
void sd_customer_state_read(const PGresult *res, int row, struct sd_customer_state *out);

/* Re-places every customer of a kind with matrix `m` in batches of `batch` rows (each its own
 * short transaction, so ingestion never waits long), writing only the customers who move, with
 * transitions of `reason`. `*moved` counts customers whose cell or monetary band changed.
 * `notify`: campaigns react to the moves (a matrix PUT with ?notify=true). */
enum sd_rc sd_store_resegment(struct sd_db *db, long long ws, enum sd_kind kind,
                              const struct sd_matrix *m, const char *reason, bool notify,
                              size_t batch, long long *moved) SD_MUST_CHECK;

/* A customer with profile, as GET /v1/customers/{id} shows it. */
struct sd_customer {
    struct sd_customer_state state;
    char name[804], phone[64], email[1024], birthday[16];
    bool has_name, has_phone, has_email, has_birthday;
    bool contact_opt_out;
    int64_t created_at, updated_at;
};

enum sd_rc sd_store_customer_get(struct sd_db *db, long long ws, const char *external_id,
                                 struct sd_customer *out) SD_MUST_CHECK;
/* Recent transitions, newest first: columns kind, from_cell, to_cell, at_us, reason. */
enum sd_rc sd_store_customer_transitions(struct sd_db *db, long long ws, long long id, int limit,
                                         PGresult **res) SD_MUST_CHECK;

/* A profile patch: NULL = unchanged; `clear_*` sets the field to NULL. */
struct sd_profile_patch {
    const char *name, *phone, *email, *birthday;
    bool clear_name, clear_phone, clear_email, clear_birthday;
    int contact_opt_out; /* -1 unchanged, 0/1 */
    const char *kind;    /* NULL unchanged */
};
/* Applies a patch in one transaction: profile fields, and a kind change as a "profile" move. */
enum sd_rc sd_store_customer_patch(struct sd_db *db, long long ws, const char *external_id,
                                   const struct sd_profile_patch *patch,
                                   const struct sd_matrix matrices[SD_KIND_COUNT]) SD_MUST_CHECK;
/* Erasure: the customer, their orders and transitions, and their share of the counters. */
enum sd_rc sd_store_customer_delete(struct sd_db *db, long long ws,
                                    const char *external_id) SD_MUST_CHECK;

/* One page of a cell's customers after `after` (NULL: from the start), by external id. Columns:
 * external_id, name, phone, email, purchases, revenue_cents, last_us, monetary, since_us,
 * contact_opt_out, first_us. */
enum sd_rc sd_store_segment_page(struct sd_db *db, long long ws, enum sd_kind kind,
                                 const char *cell, const char *monetary, const char *after,
                                 int limit, PGresult **res) SD_MUST_CHECK;
/* The report's sums by (cell, monetary): columns cell, monetary, customers, orders, revenue. */
enum sd_rc sd_store_segment_counts(struct sd_db *db, long long ws, enum sd_kind kind,
                                   PGresult **res) SD_MUST_CHECK;

/* Time alone: the moment the customer's cell changes next (µs, 0 = never) — derived, not stored. */
int64_t sd_customer_next_change(const struct sd_matrix *m, const struct sd_customer_state *s);

#endif
