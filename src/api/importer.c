/* The import runner: parse → validate → COPY → merge, progress in the imports row. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segmentd/matrix_cache.h"
#include "segmentd/importer.h"
#include "segmentd/log.h"
#include "segmentd/util.h"

#define READ_CHUNK (256 * 1024)
#define MAX_ERRORS 100
#define PROGRESS_EVERY_MS 1000

struct run {
    struct sd_pool *pool;
    struct sd_import_job *job;
    struct sd_import_counts counts;
    json_t *errors; /* the first MAX_ERRORS rejects */
    sd_import_progress_fn progress;
    void *ctx;
    int64_t last_report_ms;
    char message[512];
};

static void note_reject(void *arg, long line, const char *reason)
{
    struct run *r = arg;
    if (json_array_size(r->errors) < MAX_ERRORS)
        json_array_append_new(r->errors,
                              json_pack("{s:I, s:s}", "line", (json_int_t)line, "reason", reason));
}

/* Writes status and progress on a short-lived connection of its own: the import's connection is
 * inside its transaction, which nobody else can see until it commits. */
static void record(struct run *r, const char *status, const char *phase)
{
    char *errors = json_dumps(r->errors, JSON_COMPACT);
    struct sd_db *db = NULL;
    if (sd_pool_acquire(r->pool, &db) == SD_OK) {
        if (sd_store_import_update(db, r->job->ws, r->job->id, status, phase, &r->counts, errors,
                                   r->message[0] ? r->message : NULL) != SD_OK)
            log_warn("import %lld: progress not recorded", r->job->id);
        sd_pool_release(r->pool, db);
    }
    free(errors);
    if (r->progress != NULL)
        r->progress(r->ctx, &r->counts, r->job->size, phase);
}

static void maybe_record(struct run *r)
{
    int64_t now = sd_now_mono_ms();
    if (now - r->last_report_ms < PROGRESS_EVERY_MS)
        return;
    r->last_report_ms = now;
    record(r, "running", "loading");
}

/* Drains parsed records into the COPY. */
static enum sd_rc drain(struct run *r, struct sd_import_parser *p, struct sd_import_session *s)
{
    struct sd_import_row row;
    long line;
    for (;;) {
        enum sd_import_next n = sd_import_parser_next(p, &row, &line);
        if (n == SD_IMPORT_ROW) {
            r->counts.rows++;
            enum sd_rc rc = sd_import_session_put(s, &row);
            if (rc != SD_OK)
                return rc;
        } else if (n == SD_IMPORT_REJECT) {
            r->counts.rows++;
            r->counts.rejected++;
            note_reject(r, line, sd_import_parser_reason(p));
        } else if (n == SD_IMPORT_FATAL) {
            snprintf(r->message, sizeof r->message, "%s", sd_import_parser_reason(p));
            return SD_ERR_INVALID;
        } else {
            return SD_OK; /* NEED_MORE or END */
        }
    }
}

static enum sd_rc load(struct run *r, struct sd_import_parser *p, struct sd_import_session *s)
{
    char *buf = malloc(READ_CHUNK);
    if (buf == NULL)
        return SD_ERR_NOMEM;
    enum sd_rc rc = SD_OK;
    ssize_t n;
    while (rc == SD_OK && (n = read(r->job->fd, buf, READ_CHUNK)) > 0) {
        r->counts.bytes_read += n;
        rc = sd_import_parser_feed(p, buf, (size_t)n);
        if (rc == SD_OK)
            rc = drain(r, p, s);
        maybe_record(r);
    }
    if (rc == SD_OK && n < 0)
        rc = SD_ERR_IO;
    if (rc == SD_OK) {
        sd_import_parser_finish(p);
        rc = drain(r, p, s);
    }
    free(buf);
    return rc;
}

static enum sd_rc run_on(struct run *r, struct sd_db *db)
{
    struct sd_import_job *job = r->job;
    struct sd_matrix_set *ms = malloc(sizeof *ms);
    struct sd_import_parser *p = sd_import_parser_new(&job->opts);
    struct sd_import_session *s = NULL;
    enum sd_rc rc =
        ms && p ? sd_import_session_begin(db, job->ws, job->timezone, &s) : SD_ERR_NOMEM;
    if (rc == SD_OK) /* under the session's lock: no matrix version can change until commit */
        rc = matrix_cache_get(db, job->ws, true, false, ms);
    if (rc == SD_OK)
        rc = sd_import_session_start_copy(s);
    if (rc == SD_OK)
        rc = load(r, p, s);
    if (rc == SD_OK) {
        record(r, "running", "merging");
        rc = sd_import_session_commit(s, ms->m, &r->counts, note_reject, r);
    }
    sd_import_session_free(s);
    sd_import_parser_free(p);
    free(ms);
    return rc;
}

enum sd_rc sd_import_run(struct sd_pool *pool, struct sd_import_job *job,
                         sd_import_progress_fn progress, void *ctx)
{
    struct run r = {
        .pool = pool, .job = job, .errors = json_array(), .progress = progress, .ctx = ctx};
    struct sd_db *db = NULL;
    enum sd_rc rc = sd_pool_acquire(pool, &db);
    if (rc == SD_OK) {
        rc = run_on(&r, db);
        sd_pool_release(pool, db);
    }
    if (rc != SD_OK && r.message[0] == '\0')
        snprintf(r.message, sizeof r.message, "import failed: %s", sd_rc_str(rc));
    record(&r, rc == SD_OK ? "done" : "failed", rc == SD_OK ? "done" : "failed");
    log_info("import %lld %s: %lld rows, %lld rejected, %lld orders created", job->id,
             rc == SD_OK ? "done" : "failed", (long long)r.counts.rows,
             (long long)r.counts.rejected, (long long)r.counts.created);
    json_decref(r.errors);
    close(job->fd);
    job->fd = -1;
    return rc;
}

/* ---- the background runner ---- */

struct queued {
    struct sd_import_job *job;
    struct queued *next;
};

struct sd_importer {
    struct sd_pool *pool;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queued *head, *tail;
    bool stopping;
};

static void *importer_main(void *arg)
{
    struct sd_importer *imp = arg;
    for (;;) {
        pthread_mutex_lock(&imp->mu);
        while (imp->head == NULL && !imp->stopping)
            pthread_cond_wait(&imp->cv, &imp->mu);
        struct queued *q = imp->stopping ? NULL : imp->head;
        if (q != NULL) {
            imp->head = q->next;
            if (imp->head == NULL)
                imp->tail = NULL;
        }
        pthread_mutex_unlock(&imp->mu);
        if (q == NULL)
            return NULL;
        enum sd_rc rc = sd_import_run(imp->pool, q->job, NULL, NULL);
        if (rc != SD_OK) /* the imports row says what went wrong */
            log_debug("import %lld ended: %s", q->job->id, sd_rc_str(rc));
        free(q->job);
        free(q);
    }
}

struct sd_importer *sd_importer_start(struct sd_pool *pool)
{
    struct sd_importer *imp = calloc(1, sizeof *imp);
    if (imp == NULL)
        return NULL;
    imp->pool = pool;
    pthread_mutex_init(&imp->mu, NULL);
    pthread_cond_init(&imp->cv, NULL);
    if (pthread_create(&imp->thread, NULL, importer_main, imp) != 0) {
        free(imp);
        return NULL;
    }
    return imp;
}

bool sd_importer_submit(struct sd_importer *imp, struct sd_import_job *job)
{
    struct queued *q = malloc(sizeof *q);
    if (q == NULL)
        return false;
    q->job = job;
    q->next = NULL;
    pthread_mutex_lock(&imp->mu);
    bool ok = !imp->stopping;
    if (ok) {
        if (imp->tail)
            imp->tail->next = q;
        else
            imp->head = q;
        imp->tail = q;
        pthread_cond_signal(&imp->cv);
    }
    pthread_mutex_unlock(&imp->mu);
    if (!ok)
        free(q);
    return ok;
}

static void fail_queued(struct sd_importer *imp, struct queued *q)
{
    while (q != NULL) {
        struct queued *next = q->next;
        struct run r = {.pool = imp->pool, .job = q->job, .errors = json_array()};
        snprintf(r.message, sizeof r.message, "segmentd stopped before this import ran");
        record(&r, "failed", "failed");
        json_decref(r.errors);
        close(q->job->fd);
        free(q->job);
        free(q);
        q = next;
    }
}

void sd_importer_stop(struct sd_importer *imp)
{
    if (imp == NULL)
        return;
    pthread_mutex_lock(&imp->mu);
    imp->stopping = true;
    struct queued *rest = imp->head;
    imp->head = imp->tail = NULL;
    pthread_cond_broadcast(&imp->cv);
    pthread_mutex_unlock(&imp->mu);
    pthread_join(imp->thread, NULL);
    fail_queued(imp, rest);
    pthread_mutex_destroy(&imp->mu);
    pthread_cond_destroy(&imp->cv);
    free(imp);
}
