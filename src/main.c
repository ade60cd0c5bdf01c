/* segmentd: wiring only — configuration, logging, database, HTTP server, scheduler, dispatcher,
 * signals. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segmentd/api.h"
#include "segmentd/app.h"
#include "segmentd/config.h"
#include "segmentd/core_access.h"
#include "segmentd/demo.h"
#include "segmentd/dispatcher.h"
#include "segmentd/embedded.h"
#include "segmentd/http_server.h"
#include "segmentd/importer.h"
#include "segmentd/log.h"
#include "segmentd/metrics.h"
#include "segmentd/migrate.h"
#include "segmentd/scheduler.h"
#include "segmentd/store_enqueue.h"
#include "segmentd/store_workspaces.h"
#include "segmentd/util.h"

extern char **environ;

#define DEFAULT_CONFIG "config/segmentd.ini"

static const char usage[] =
    "usage: segmentd [--config FILE] [COMMAND]\n"
    "\n"
    "Customer-lifecycle segmentation service (REST + webhooks) on PostgreSQL.\n"
    "\n"
    "commands:\n"
    "  (none)                 run the HTTP service\n"
    "  migrate                apply database migrations and exit\n"
    "  keys create --scope S [--scope S…] [--name NAME] [--workspace NAME]\n"
    "                         mint an API key (scopes: read, ingest, admin) and print it\n"
    "  import FILE [--workspace NAME] [--format csv|ndjson] [--map MAP] [--timezone TZ]\n"
    "                         load order history (CSV or NDJSON, as POST /v1/imports)\n"
    "  demo [--customers N] [--workspace NAME] [--if-missing]\n"
    "                         fill a workspace (default: demo) with a synthetic shop\n"
    "\n"
    "options:\n"
    "  --config FILE          configuration file (default " DEFAULT_CONFIG ";\n"
    "                         every key can be set as SEGMENTD_SECTION_KEY)\n"
    "  --help                 this text\n"
    "  --version              the version\n"
    "\n"
    "With no [database] url / DATABASE_URL, segmentd runs a private PostgreSQL cluster under\n"
    "[database] embedded_dir and stops it on exit.\n";

struct options {
    const char *config_path;
    bool config_explicit;
    const char *command; /* NULL: serve */
    int argc;            /* the command's own arguments */
    char **argv;
};

/* The database the process talks to: a URL, or the embedded cluster it starts. */
struct database {
    struct sd_embedded *embedded;
    struct sd_pool *pool;
};

static int parse_options(int argc, char **argv, struct options *opt)
{
    opt->config_path = DEFAULT_CONFIG;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("segmentd %s\n", SEGMENTD_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            opt->config_path = argv[++i];
            opt->config_explicit = true;
        } else if (argv[i][0] != '-') {
            opt->command = argv[i];
            opt->argc = argc - i - 1;
            opt->argv = argv + i + 1;
            return -1;
        } else {
            fprintf(stderr, "segmentd: unknown option %s (see --help)\n", argv[i]);
            return 2;
        }
    }
    return -1; /* go on */
}

static enum sd_rc database_open(const struct sd_config *cfg, int pool_size, struct database *db)
{
    char err[512] = "";
    const char *conninfo = cfg->database_url;
    if (conninfo[0] == '\0') {
        struct sd_embedded_opts eo = {.dir = cfg->database_embedded_dir,
                                      .run_as = cfg->database_embedded_user};
        enum sd_rc rc = sd_embedded_start(&eo, &db->embedded, err, sizeof err);
        if (rc != SD_OK) {
            log_error("embedded PostgreSQL: %s", err);
            return rc;
        }
        conninfo = sd_embedded_conninfo(db->embedded);
        log_info("embedded PostgreSQL running (%s)", cfg->database_embedded_dir);
    }
    struct sd_pool_opts po = {.conninfo = conninfo,
                              .size = pool_size,
                              .wait_ms = cfg->database_pool_wait_ms,
                              .connect_timeout_ms = cfg->database_connect_timeout_ms,
                              .prepared = cfg->database_prepared_statements,
                              .application_name = "segmentd"};
    return sd_pool_create(&po, &db->pool);
}

static void database_close(struct database *db)
{
    sd_pool_free(db->pool);
    db->pool = NULL;
    if (db->embedded != NULL) {
        sd_embedded_stop(db->embedded, false);
        log_info("embedded PostgreSQL stopped");
    }
    db->embedded = NULL;
}

/* ---- segmentd migrate ---- */

static int command_migrate(const struct sd_config *cfg)
{
    struct database db = {0};
    int applied = 0, status = 1;
    if (database_open(cfg, 1, &db) != SD_OK)
        goto out;
    enum sd_rc rc = sd_migrate_run(db.pool, &applied);
    if (rc != SD_OK) {
        log_error("migrations failed: %s", sd_rc_str(rc));
        goto out;
    }
    printf("migrations applied: %d (schema version %ld)\n", applied, sd_migrate_latest_version());
    status = 0;
out:
    database_close(&db);
    return status;
}

/* ---- segmentd keys create ---- */

static int command_keys(const struct sd_config *cfg, int argc, char **argv)
{
    const char *name = "cli", *workspace = "default";
    unsigned scopes = 0;
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fputs("usage: segmentd keys create --scope S [--scope S…] [--name N] [--workspace W]\n",
              stderr);
        return 2;
    }
    for (int i = 1; i + 1 < argc + 1; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL ||
            (strcmp(arg, "--scope") && strcmp(arg, "--name") && strcmp(arg, "--workspace"))) {
            fprintf(stderr, "segmentd keys create: bad argument %s\n", arg);
            return 2;
        }
        if (strcmp(arg, "--scope") == 0) {
            unsigned bit = sd_scope_from_name(val);
            if (bit == 0) {
                fprintf(stderr, "segmentd keys create: unknown scope %s\n", val);
                return 2;
            }
            scopes |= bit;
        } else if (strcmp(arg, "--name") == 0) {
            name = val;
        } else {
            workspace = val;
        }
        i++;
    }
    if (scopes == 0) {
        fputs("segmentd keys create: at least one --scope (read, ingest, admin)\n", stderr);
        return 2;
    }
    struct database db = {0};
    struct sd_db *conn = NULL;
    int status = 1;
    int applied;
    if (database_open(cfg, 1, &db) != SD_OK || sd_migrate_run(db.pool, &applied) != SD_OK ||
        sd_pool_acquire(db.pool, &conn) != SD_OK)
        goto out;
    struct sd_workspace ws;
    if (sd_store_workspace_get(conn, workspace, &ws) != SD_OK) {
        fprintf(stderr, "segmentd keys create: no workspace %s\n", workspace);
        goto out;
    }
    struct sd_api_key key;
    char clear[128];
    if (sd_api_key_mint(conn, ws.id, name, scopes, &key, clear) != SD_OK)
        goto out;
    printf("%s\n", clear);
    status = 0;
out:
    sd_pool_release(db.pool, conn);
    database_close(&db);
    return status;
}

/* ---- segmentd import FILE ---- */

struct import_args {
    const char *file, *workspace, *format, *map, *timezone;
};

static int parse_import_args(int argc, char **argv, struct import_args *a)
{
    *a = (struct import_args){.workspace = "default"};
    for (int i = 0; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--workspace") == 0)
            slot = &a->workspace;
        else if (strcmp(argv[i], "--format") == 0)
            slot = &a->format;
        else if (strcmp(argv[i], "--map") == 0)
            slot = &a->map;
        else if (strcmp(argv[i], "--timezone") == 0)
            slot = &a->timezone;
        if (slot != NULL && i + 1 < argc)
            *slot = argv[++i];
        else if (slot == NULL && argv[i][0] != '-' && a->file == NULL)
            a->file = argv[i];
        else
            return 2;
    }
    return a->file ? 0 : 2;
}

/* A progress bar on a terminal; nothing when stderr is a file or a pipe. */
static void draw_progress(void *ctx, const struct sd_import_counts *c, int64_t size,
                          const char *phase)
{
    (void)ctx;
    if (!isatty(STDERR_FILENO))
        return;
    double f = size > 0 ? (double)c->bytes_read / (double)size : 0;
    int filled = (int)(f * 30);
    fprintf(stderr, "\r%-8s [%.*s%*s] %5.1f%%  %lld rows, %lld rejected", phase, filled,
            "##############################", 30 - filled, "", f * 100, (long long)c->rows,
            (long long)c->rejected);
    if (strcmp(phase, "done") == 0 || strcmp(phase, "failed") == 0)
        fputc('\n', stderr);
}

static bool import_job_init(const struct import_args *a, struct sd_import_job *job)
{
    const char *dot = strrchr(a->file, '.');
    bool ndjson = a->format ? strcmp(a->format, "ndjson") == 0
                            : dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0);
    if (a->format && !ndjson && strcmp(a->format, "csv") != 0)
        return false;
    job->opts.format = ndjson ? SD_IMPORT_NDJSON : SD_IMPORT_CSV;
    char err[256];
    if (a->map && !sd_import_parse_map(a->map, job->map_buf, sizeof job->map_buf, &job->opts, err,
                                       sizeof err)) {
        fprintf(stderr, "segmentd import: --map: %s\n", err);
        return false;
    }
    snprintf(job->timezone, sizeof job->timezone, "%s", a->timezone ? a->timezone : "UTC");
    job->fd = open(a->file, O_RDONLY);
    if (job->fd < 0) {
        fprintf(stderr, "segmentd import: cannot open %s\n", a->file);
        return false;
    }
    struct stat st;
    job->size = fstat(job->fd, &st) == 0 ? st.st_size : 0;
    return true;
}

static int command_import(const struct sd_config *cfg, int argc, char **argv)
{
    struct import_args a;
    struct sd_import_job *job = calloc(1, sizeof *job);
    if (job == NULL || parse_import_args(argc, argv, &a) != 0) {
        fputs("usage: segmentd import FILE [--workspace NAME] [--format csv|ndjson] [--map MAP] "
              "[--timezone TZ]\n",
              stderr);
        free(job);
        return 2;
    }
    job->fd = -1;
    struct database db = {0};
    struct sd_db *conn = NULL;
    struct sd_workspace ws;
    int status = 1, applied;
    if (!import_job_init(&a, job))
        goto out;
    if (database_open(cfg, 2, &db) != SD_OK || sd_migrate_run(db.pool, &applied) != SD_OK ||
        sd_pool_acquire(db.pool, &conn) != SD_OK)
        goto out;
    if (sd_store_workspace_get(conn, a.workspace, &ws) != SD_OK) {
        fprintf(stderr, "segmentd import: no workspace %s\n", a.workspace);
        goto out;
    }
    job->ws = ws.id;
    enum sd_rc rc = sd_store_import_create(
        conn, ws.id, job->opts.format == SD_IMPORT_CSV ? "csv" : "ndjson", job->size, &job->id);
    sd_pool_release(db.pool, conn);
    conn = NULL;
    if (rc == SD_OK)
        rc = sd_import_run(db.pool, job, draw_progress, NULL);
    printf("import %lld: %s (see GET /v1/imports/%lld)\n", job->id, rc == SD_OK ? "done" : "failed",
           job->id);
    status = rc == SD_OK ? 0 : 1;
out:
    if (job->fd >= 0)
        close(job->fd);
    sd_pool_release(db.pool, conn);
    database_close(&db);
    free(job);
    return status;
}

/* ---- segmentd demo ---- */

static enum sd_rc write_all(void *ctx, const char *text, size_t len)
{
    int fd = *(int *)ctx;
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SD_ERR_IO;
        text += n;
        len -= (size_t)n;
    }
    return SD_OK;
}

static int command_demo(const struct sd_config *cfg, int argc, char **argv)
{
    int64_t customers = 50000;
    const char *name = "demo";
    bool if_missing = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc &&
            sd_parse_i64(argv[i + 1], 1, 10000000, &customers))
            i++;
        else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--if-missing") == 0)
            if_missing = true;
        else {
            fputs("usage: segmentd demo [--customers N] [--workspace NAME] [--if-missing]\n",
                  stderr);
            return 2;
        }
    }
    struct database db = {0};
    struct sd_db *conn = NULL;
    struct sd_import_job *job = calloc(1, sizeof *job);
    int status = 1, applied;
    if (job == NULL)
        return 1;
    job->fd = -1;
    if (database_open(cfg, 2, &db) != SD_OK || sd_migrate_run(db.pool, &applied) != SD_OK ||
        sd_pool_acquire(db.pool, &conn) != SD_OK)
        goto out;
    struct sd_workspace ws;
    bool existed = sd_store_workspace_get(conn, name, &ws) == SD_OK;
    if (existed && if_missing) {
        printf("demo workspace '%s' exists: nothing to do\n", name);
        status = 0;
        goto out;
    }
    if (!existed &&
        sd_store_workspace_create(conn, name, "Demo shop (synthetic data)", &ws) != SD_OK)
        goto out;
    sd_pool_release(db.pool, conn);
    conn = NULL;
    char path[] = "/tmp/segmentd-demo-XXXXXX";
    job->fd = mkstemp(path);
    if (job->fd < 0)
        goto out;
    unlink(path);
    struct sd_demo_stats st;
    if (sd_demo_generate(customers, 42, sd_now_us(), write_all, &job->fd, &st) != SD_OK ||
        lseek(job->fd, 0, SEEK_SET) != 0)
        goto out;
    job->size = lseek(job->fd, 0, SEEK_END);
    if (lseek(job->fd, 0, SEEK_SET) != 0 || sd_pool_acquire(db.pool, &conn) != SD_OK ||
        sd_store_import_create(conn, ws.id, "csv", job->size, &job->id) != SD_OK)
        goto out;
    sd_pool_release(db.pool, conn);
    conn = NULL;
    job->ws = ws.id;
    job->opts.format = SD_IMPORT_CSV;
    snprintf(job->timezone, sizeof job->timezone, "UTC");
    printf("demo: %lld customers, %lld orders over two years into workspace '%s'\n",
           (long long)st.customers, (long long)st.orders, name);
    enum sd_rc rc = sd_import_run(db.pool, job, draw_progress, NULL);
    status = rc == SD_OK ? 0 : 1;
out:
    if (job->fd >= 0)
        close(job->fd);
    sd_pool_release(db.pool, conn);
    database_close(&db);
    free(job);
    return status;
}

/* ---- the service ---- */

struct migrator {
    struct sd_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool failed;
};

/* Applies migrations, retrying while the database is unreachable, so the service starts (and
 * answers 503) even when PostgreSQL comes up after it. */
static void *migrator_main(void *arg)
{
    struct migrator *m = arg;
    for (;;) {
        int applied = 0;
        enum sd_rc rc = sd_migrate_run(m->app->pool, &applied);
        if (rc == SD_OK) {
            atomic_store(&m->app->ready, true);
            log_info("database schema at version %ld (%d migration(s) applied now)",
                     sd_migrate_latest_version(), applied);
            return NULL;
        }
        if (rc != SD_ERR_DB_UNAVAILABLE && rc != SD_ERR_DB_BUSY) {
            log_error("migrations failed (%s): fix the database and restart", sd_rc_str(rc));
            m->failed = true;
            return NULL;
        }
        log_warn("database unreachable; retrying migrations in 2 s");
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&m->mu);
        if (!m->stop)
            pthread_cond_timedwait(&m->cv, &m->mu, &until);
        bool stop = m->stop;
        pthread_mutex_unlock(&m->mu);
        if (stop)
            return NULL;
    }
}

static void migrator_stop(struct migrator *m)
{
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP)
            log_info("SIGHUP ignored: restart segmentd to apply a new configuration");
    }
    return sig;
}

static int serve(const struct sd_config *cfg, const sigset_t *signals)
{
    struct database db = {0};
    struct sd_http_server *srv = NULL;
    struct sd_app app = {.cfg = cfg, .routes = sd_api_routes, .nroutes = sd_api_routes_count};
    struct migrator mig = {.app = &app};
    struct sd_scheduler *scheduler = NULL;
    struct sd_dispatcher *dispatcher = NULL;
    bool migrator_started = false;
    int status = 1;
    pthread_mutex_init(&mig.mu, NULL);
    pthread_cond_init(&mig.cv, NULL);

    if (cfg->auth_admin_key[0] != '\0') {
        SHA256((const unsigned char *)cfg->auth_admin_key, strlen(cfg->auth_admin_key),
               app.admin_key_hash);
        app.has_admin_key = true;
    }
    app.metrics = sd_metrics_new(app.routes, app.nroutes);
    if (app.metrics == NULL || database_open(cfg, cfg->database_pool_size, &db) != SD_OK)
        goto out;
    app.pool = db.pool;
    if ((app.importer = sd_importer_start(db.pool)) == NULL ||
        (scheduler = sd_scheduler_start(&app)) == NULL ||
        (dispatcher = sd_dispatcher_start(&app)) == NULL)
        goto out;
    /* Deliveries enqueued by this process wake its dispatcher at once. */
    sd_store_set_enqueue_hook(sd_dispatcher_wake_hook, dispatcher);
    if (pthread_create(&mig.thread, NULL, migrator_main, &mig) != 0)
        goto out;
    migrator_started = true;
    if (sd_http_start(&app, &srv) != SD_OK)
        goto out;
    log_info("segmentd %s listening on http://%s:%u (%d I/O threads, %d workers, pool %d)",
             SEGMENTD_VERSION, cfg->http_bind, sd_http_port(srv), cfg->http_threads,
             cfg->http_workers, cfg->database_pool_size);

    int sig = wait_for_signal(signals);
    log_info("%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;
out:
    if (srv != NULL)
        sd_http_stop(srv, cfg->http_shutdown_timeout_ms);
    if (migrator_started) {
        migrator_stop(&mig);
        if (mig.failed)
            status = 1;
    }
    sd_scheduler_stop(scheduler);          /* finishes its current batch */
    sd_store_set_enqueue_hook(NULL, NULL); /* nothing enqueues any more */
    sd_dispatcher_stop(dispatcher);        /* finishes and records the transfers in flight */
    sd_importer_stop(app.importer);
    database_close(&db);
    sd_metrics_free(app.metrics);
    pthread_mutex_destroy(&mig.mu);
    pthread_cond_destroy(&mig.cv);
    if (status == 0)
        log_info("stopped");
    return status;
}

int main(int argc, char **argv)
{
    struct options opt = {0};
    int early = parse_options(argc, argv, &opt);
    if (early >= 0)
        return early;

    /* Signals go to the main thread only (sigwait): block them before any thread starts. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sd_config cfg;
    char err[512];
    bool optional = !opt.config_explicit;
    if (sd_config_load(&cfg, opt.config_path, optional, environ, err, sizeof err) != SD_OK) {
        fprintf(stderr, "segmentd: configuration: %s\n", err);
        return 2;
    }
    sd_log_set_level(cfg.log_level);

    int status;
    if (opt.command == NULL)
        status = serve(&cfg, &signals);
    else if (strcmp(opt.command, "migrate") == 0)
        status = command_migrate(&cfg);
    else if (strcmp(opt.command, "keys") == 0)
        status = command_keys(&cfg, opt.argc, opt.argv);
    else if (strcmp(opt.command, "import") == 0)
        status = command_import(&cfg, opt.argc, opt.argv);
    else if (strcmp(opt.command, "demo") == 0)
        status = command_demo(&cfg, opt.argc, opt.argv);
    else {
        fprintf(stderr, "segmentd: unknown command %s (see --help)\n", opt.command);
        status = 2;
    }
    sd_config_free(&cfg);
    return status;
}
