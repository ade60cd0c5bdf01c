/* The embedded PostgreSQL cluster: initdb, pg_ctl and libpq around one private directory.
 *
 * Layout of the cluster directory DIR:
 *   DIR/data             the cluster (initdb -D)
 *   DIR/postgresql.log   output of initdb, pg_ctl and the server: the file an error points to
 *   DIR/run              the Unix socket directory, unless the socket path would pass the 107
 *                        bytes of sun_path; then /tmp/segmentd-pg-<hash of DIR> instead
 *
 * Children are started with fork + execv, never through a shell, and switch to the cluster's user
 * themselves when we are root (PostgreSQL refuses to run as root). */
/* nftw() is an XSI extension of POSIX. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/sha.h>

#include "segmentd/embedded.h"
#include "segmentd/log.h"
#include "segmentd/util.h"

#define EMB_SUPERUSER "segmentd"
#define EMB_DATABASE "segmentd"
#define EMB_DEFAULT_RUN_AS "postgres"
#define EMB_DEBIAN_ROOT "/usr/lib/postgresql"
/* Where a cluster goes when the run-as user cannot reach the requested directory. */
#define EMB_FALLBACK_ROOT "/var/lib/segmentd"
#define EMB_SHORT_SOCK_PREFIX "/tmp/segmentd-pg-"
/* A socket-only cluster still needs a port number: it names the socket file. */
#define EMB_SOCKET_PORT 5432
/* sizeof(sun_path) is 108 on Linux, NUL included. */
#define EMB_SUN_PATH_MAX 107
#define EMB_READY_TIMEOUT_MS 60000
#define EMB_MAX_GROUPS 64
/* Exit codes of our own children before exec (127 is the shell's "could not execute"). */
#define EMB_EXIT_SETUP 125
#define EMB_EXIT_EXEC 127

/* Who runs initdb, pg_ctl and the postmaster. Resolved in the parent: between fork and exec only
 * async-signal-safe calls are allowed (initgroups reads /etc/group and allocates), and segmentd
 * has threads by the time a test pauses the cluster. */
struct emb_user {
    bool drop; /* we are root: become uid/gid before exec */
    uid_t uid;
    gid_t gid;
    gid_t groups[EMB_MAX_GROUPS];
    int ngroups;
    char name[64];
};

struct sd_embedded {
    struct emb_user user;
    bool tcp;
    bool fast;
    int port;          /* tcp_port, or EMB_SOCKET_PORT */
    char *dir;         /* the cluster directory in use: opts->dir, absolute, or the fallback */
    char *data;        /* dir/data */
    char *log;         /* dir/postgresql.log */
    char *sock;        /* Unix socket directory */
    bool sock_outside; /* sock is not under dir: removed on its own */
    char *initdb;      /* binaries */
    char *pg_ctl;
    char *server_opts; /* pg_ctl -o: postmaster options, shell-quoted (pg_ctl runs a shell) */
    char *conninfo;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Returns a new string (caller frees), NULL when out of memory. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* First 12 hex digits of SHA-256(s): short, stable names for the fallback and socket dirs. */
static void path_hash12(const char *s, char out[13])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    sd_hex_encode(md, 6, out);
}

/* 'value' for a POSIX shell: pg_ctl hands the -o options to /bin/sh. New string. */
static char *shell_quote(const char *s)
{
    char *q = malloc(4 * strlen(s) + 3);
    if (q == NULL)
        return NULL;
    char *o = q;
    *o++ = '\'';
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *s;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* A libpq conninfo value, quoted only when it has to be. New string. */
static char *conninfo_quote(const char *s)
{
    if (s[0] != '\0' && strpbrk(s, " \t\n'\\") == NULL)
        return strdup(s);
    char *q = malloc(2 * strlen(s) + 3);
    if (q == NULL)
        return NULL;
    char *o = q;
    *o++ = '\'';
    for (; *s != '\0'; s++) {
        if (*s == '\'' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* ---- finding the binaries --------------------------------------------------------------- */

/* Whether both initdb and pg_ctl are executable in `dir`. */
static bool bindir_usable(const char *dir)
{
    char *initdb = str_printf("%s/initdb", dir);
    char *pg_ctl = str_printf("%s/pg_ctl", dir);
    bool ok =
        initdb != NULL && pg_ctl != NULL && access(initdb, X_OK) == 0 && access(pg_ctl, X_OK) == 0;
    free(initdb);
    free(pg_ctl);
    return ok;
}

/* pg_config comes with libpq's development package, whose version need not be the server's:
 * its answer counts only if initdb is really there. */
static char *bindir_from_pg_config(void)
{
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p == NULL)
        return NULL;
    char line[PATH_MAX];
    char *dir = NULL;
    if (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '/' && bindir_usable(line))
            dir = strdup(line);
    }
    pclose(p);
    return dir;
}

/* "15" → 15000, "9.6" → 9006, anything else → -1: Debian's version directory names. */
static int64_t version_rank(const char *name)
{
    char major[16];
    const char *dot = strchr(name, '.');
    size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
    if (n == 0 || n >= sizeof major)
        return -1;
    memcpy(major, name, n);
    major[n] = '\0';
    int64_t maj = 0, min = 0;
    if (!sd_parse_i64(major, 0, 999, &maj))
        return -1;
    if (dot != NULL && !sd_parse_i64(dot + 1, 0, 999, &min))
        return -1;
    return maj * 1000 + min;
}

/* Debian installs each major version in /usr/lib/postgresql/<version>/bin: take the newest. */
static char *bindir_from_debian(void)
{
    DIR *d = opendir(EMB_DEBIAN_ROOT);
    if (d == NULL)
        return NULL;
    char *best = NULL;
    int64_t best_rank = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t rank = version_rank(e->d_name);
        if (rank <= best_rank)
            continue;
        char *bin = str_printf(EMB_DEBIAN_ROOT "/%s/bin", e->d_name);
        if (bin != NULL && bindir_usable(bin)) {
            free(best);
            best = bin;
            best_rank = rank;
        } else {
            free(bin);
        }
    }
    closedir(d);
    return best;
}

static enum sd_rc binaries_find(struct sd_embedded *emb, char *err, size_t errlen)
{
    char *bindir = bindir_from_pg_config();
    if (bindir == NULL)
        bindir = bindir_from_debian();
    if (bindir == NULL) {
        set_err(err, errlen,
                "embedded PostgreSQL: no initdb and pg_ctl in pg_config --bindir nor "
                "in " EMB_DEBIAN_ROOT "/*/bin; install postgresql");
        return SD_ERR_NOT_FOUND;
    }
    emb->initdb = str_printf("%s/initdb", bindir);
    emb->pg_ctl = str_printf("%s/pg_ctl", bindir);
    free(bindir);
    if (emb->initdb == NULL || emb->pg_ctl == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    return SD_OK;
}

/* ---- the run-as user -------------------------------------------------------------------- */

static enum sd_rc user_resolve(const char *name, struct emb_user *u, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        u->drop = false;
        u->uid = geteuid();
        u->gid = getegid();
        snprintf(u->name, sizeof u->name, "uid %ld", (long)u->uid);
        return SD_OK;
    }
    struct passwd pw, *found = NULL;
    char buf[16384];
    int e = getpwnam_r(name, &pw, buf, sizeof buf, &found);
    if (found == NULL) {
        set_err(err, errlen,
                "embedded PostgreSQL: user \"%s\" not found (%s); PostgreSQL refuses to run "
                "as root",
                name, e != 0 ? strerror(e) : "no such user");
        return SD_ERR_NOT_FOUND;
    }
    if (pw.pw_uid == 0) {
        set_err(err, errlen,
                "embedded PostgreSQL: run_as user \"%s\" is root; PostgreSQL refuses to run "
                "as root",
                name);
        return SD_ERR_INVALID;
    }
    u->drop = true;
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->ngroups = EMB_MAX_GROUPS;
    if (getgrouplist(name, pw.pw_gid, u->groups, &u->ngroups) < 0) {
        /* More groups than we keep: the primary group is all PostgreSQL needs. */
        u->groups[0] = pw.pw_gid;
        u->ngroups = 1;
    }
    return SD_OK;
}

/* ---- children --------------------------------------------------------------------------- */

/* Ignored signals and the signal mask survive exec: a server that ignores SIGPIPE or blocks
 * SIGTERM for a signal thread must not hand that to pg_ctl and the postmaster. */
static void child_reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL); /* fails harmlessly for SIGKILL, SIGSTOP */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static bool child_become(const struct emb_user *u)
{
    if (!u->drop)
        return true;
    return setgroups((size_t)u->ngroups, u->groups) == 0 && setgid(u->gid) == 0 &&
           setuid(u->uid) == 0;
}

/* Inherited descriptors (client sockets, the test runner's pipes) would live on in the
 * postmaster for as long as it runs. */
static void child_close_fds(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
        return;
#endif
    for (int fd = 3; fd < 4096; fd++)
        close(fd);
}

/* stdin from /dev/null, stdout and stderr appended to `log` (NULL: /dev/null). The log is
 * opened after the switch of user so that the server, which appends to it, owns it. */
static bool child_redirect(const char *log)
{
    int in = open("/dev/null", O_RDONLY);
    int out =
        log != NULL ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);
    return in >= 0 && out >= 0 && dup2(in, 0) >= 0 && dup2(out, 1) >= 0 && dup2(out, 2) >= 0;
}

static _Noreturn void child_exec(const struct emb_user *u, const char *const argv[],
                                 const char *log)
{
    static const char exec_failed[] = "segmentd: could not execute a PostgreSQL tool\n";
    child_reset_signals();
    if (!child_become(u) || chdir("/") != 0 || !child_redirect(log))
        _exit(EMB_EXIT_SETUP);
    child_close_fds();
    /* execv's prototype predates const; it does not modify the strings. */
    execv(argv[0], (char *const *)argv);
    ssize_t ignored = write(2, exec_failed, sizeof exec_failed - 1);
    (void)ignored;
    _exit(EMB_EXIT_EXEC);
}

/* Exit code of the child, or -1 if it was killed by a signal or cannot be waited for. */
static int child_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs argv (argv[0] an absolute path) as the cluster's user; returns its exit code or -1. */
static int run_as_user(const struct emb_user *u, const char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        child_exec(u, argv, log);
    return child_wait(pid);
}

/* Runs a tool that must succeed; on failure says which, how, and where to look. */
static enum sd_rc run_tool(const struct sd_embedded *emb, const char *const argv[],
                           const char *what, char *err, size_t errlen)
{
    int code = run_as_user(&emb->user, argv, emb->log);
    if (code == 0)
        return SD_OK;
    if (code < 0)
        set_err(err, errlen,
                "embedded PostgreSQL: %s did not run to completion (fork failed or killed by a "
                "signal); see %s",
                what, emb->log);
    else if (code == EMB_EXIT_SETUP)
        set_err(err, errlen, "embedded PostgreSQL: %s: could not become %s or open %s (exit %d)",
                what, emb->user.name, emb->log, code);
    else
        set_err(err, errlen, "embedded PostgreSQL: %s failed (exit %d); see %s", what, code,
                emb->log);
    return SD_ERR_IO;
}

/* Whether `u` has `mode` access to `path`, searching every parent as `u`. Root can create a
 * cluster anywhere, but a parent the user cannot search (/root is 0700) makes it unusable: ask a
 * child that has become `u`. */
static bool user_can_access(const struct emb_user *u, const char *path, int mode)
{
    if (!u->drop)
        return true;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        if (!child_become(u))
            _exit(2);
        _exit(access(path, mode) == 0 ? 0 : 1);
    }
    return child_wait(pid) == 0;
}

/* ---- directories ------------------------------------------------------------------------ */

/* mkdir -p. Parents get 0755 (the cluster's user must search them), the leaf `mode`;
 * `*created` says whether the leaf was made here. 0 or -1 with errno. */
static int mkdir_p(const char *path, mode_t mode, bool *created)
{
    *created = false;
    char *tmp = strdup(path);
    if (tmp == NULL)
        return -1;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(tmp, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST) {
            free(tmp);
            return -1;
        }
    }
    free(tmp);
    if (mkdir(path, mode) == 0) {
        *created = true;
        return chmod(path, mode); /* the umask must not loosen or tighten it */
    }
    struct stat st;
    if (errno != EEXIST || stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static enum sd_rc dir_create(const char *path, bool *created, char *err, size_t errlen)
{
    if (mkdir_p(path, 0700, created) == 0)
        return SD_OK;
    set_err(err, errlen, "embedded PostgreSQL: cannot create directory %s: %s", path,
            strerror(errno));
    return SD_ERR_IO;
}

static bool dir_give_to(const struct emb_user *u, const char *path)
{
    struct stat st;
    if (!u->drop)
        return true;
    if (stat(path, &st) != 0)
        return false;
    if (st.st_uid == u->uid && st.st_gid == u->gid)
        return true;
    return chown(path, u->uid, u->gid) == 0;
}

/* Hands the existing directory `path` (canonical) to the cluster's user if that user can reach
 * it; `*usable` false means: fall back. The parent is checked first so that a directory we will
 * not use is not chowned. */
static enum sd_rc dir_claim(const struct emb_user *u, const char *path, bool *usable, char *err,
                            size_t errlen)
{
    *usable = false;
    char *parent = strdup(path);
    if (parent == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    char *slash = strrchr(parent, '/');
    if (slash != NULL)
        slash[slash == parent ? 1 : 0] = '\0';
    bool reachable = user_can_access(u, parent, X_OK);
    free(parent);
    if (!reachable)
        return SD_OK;
    if (!dir_give_to(u, path)) {
        set_err(err, errlen, "embedded PostgreSQL: cannot chown %s to %s: %s", path, u->name,
                strerror(errno));
        return SD_ERR_IO;
    }
    *usable = user_can_access(u, path, R_OK | W_OK | X_OK);
    return SD_OK;
}

/* pg_ctl puts the data directory and log file between double quotes in a shell command. */
static bool path_shell_safe(const char *path)
{
    return strpbrk(path, "\"\\$`\n") == NULL;
}

/* Uses EMB_FALLBACK_ROOT/pg-<hash> when the run-as user cannot reach `requested`. */
static enum sd_rc dirs_fallback(struct sd_embedded *emb, const char *requested, bool created,
                                char *err, size_t errlen)
{
    char hash[13];
    path_hash12(requested, hash);
    emb->dir = str_printf(EMB_FALLBACK_ROOT "/pg-%s", hash);
    if (emb->dir == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    log_warn("embedded PostgreSQL: user %s cannot reach %s (a parent directory is not searchable "
             "for it); using %s instead",
             emb->user.name, requested, emb->dir);
    if (created)
        rmdir(requested); /* leave no empty directory behind; harmless if it fails */
    bool fb_created, usable;
    enum sd_rc rc = dir_create(emb->dir, &fb_created, err, errlen);
    if (rc == SD_OK)
        rc = dir_claim(&emb->user, emb->dir, &usable, err, errlen);
    if (rc == SD_OK && !usable) {
        set_err(err, errlen, "embedded PostgreSQL: user %s can use neither %s nor the fallback %s",
                emb->user.name, requested, emb->dir);
        rc = SD_ERR_IO;
    }
    return rc;
}

/* Makes the requested directory absolute and usable, or falls back; sets emb->dir. */
static enum sd_rc dirs_prepare(struct sd_embedded *emb, const char *dir, char *err, size_t errlen)
{
    enum sd_rc rc = SD_ERR_NOMEM;
    char cwd[PATH_MAX];
    char *joined = NULL, *requested = NULL;
    bool created = false, usable = false;

    if (dir[0] == '/') {
        joined = strdup(dir);
    } else if (getcwd(cwd, sizeof cwd) != NULL) {
        joined = str_printf("%s/%s", cwd, dir);
    } else {
        rc = SD_ERR_IO;
        set_err(err, errlen, "embedded PostgreSQL: getcwd: %s", strerror(errno));
        goto out;
    }
    if (joined == NULL) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    if (!path_shell_safe(joined)) {
        rc = SD_ERR_INVALID;
        set_err(err, errlen,
                "embedded PostgreSQL: directory %s contains one of \" \\ $ ` or a "
                "newline, which pg_ctl cannot quote",
                joined);
        goto out;
    }
    rc = dir_create(joined, &created, err, errlen);
    if (rc != SD_OK)
        goto out;
    /* Canonical only once it exists: the fallback and socket names hash this spelling. */
    requested = realpath(joined, NULL);
    if (requested == NULL) {
        rc = SD_ERR_IO;
        set_err(err, errlen, "embedded PostgreSQL: realpath %s: %s", joined, strerror(errno));
        goto out;
    }
    rc = dir_claim(&emb->user, requested, &usable, err, errlen);
    if (rc == SD_OK && usable) {
        emb->dir = requested;
        requested = NULL;
    } else if (rc == SD_OK) {
        rc = dirs_fallback(emb, requested, created, err, errlen);
    }
out:
    free(joined);
    free(requested);
    return rc;
}

/* /tmp is shared: an existing short socket directory must be a real directory of ours. */
static bool sockdir_trusted(const struct sd_embedded *emb)
{
    struct stat st;
    if (lstat(emb->sock, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    return st.st_uid == emb->user.uid || st.st_uid == geteuid();
}

static enum sd_rc sockdir_prepare(struct sd_embedded *emb, char *err, size_t errlen)
{
    char file[32];
    snprintf(file, sizeof file, "/.s.PGSQL.%d", emb->port);
    emb->sock = str_printf("%s/run", emb->dir);
    if (emb->sock != NULL && strlen(emb->sock) + strlen(file) > EMB_SUN_PATH_MAX) {
        char hash[13];
        path_hash12(emb->dir, hash);
        free(emb->sock);
        emb->sock = str_printf(EMB_SHORT_SOCK_PREFIX "%s", hash);
        emb->sock_outside = true;
    }
    if (emb->sock == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    if (mkdir(emb->sock, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "embedded PostgreSQL: cannot create socket directory %s: %s",
                emb->sock, strerror(errno));
        return SD_ERR_IO;
    }
    if (!sockdir_trusted(emb)) {
        set_err(err, errlen,
                "embedded PostgreSQL: socket directory %s exists but is not a directory owned "
                "by %s; remove it",
                emb->sock, emb->user.name);
        return SD_ERR_IO;
    }
    if (!dir_give_to(&emb->user, emb->sock) || chmod(emb->sock, 0700) != 0) {
        set_err(err, errlen, "embedded PostgreSQL: cannot hand socket directory %s to %s: %s",
                emb->sock, emb->user.name, strerror(errno));
        return SD_ERR_IO;
    }
    return SD_OK;
}

/* ---- derived strings -------------------------------------------------------------------- */

static char *server_opts_new(const struct sd_embedded *emb)
{
    char *sock = shell_quote(emb->sock);
    if (sock == NULL)
        return NULL;
    /* listen_addresses='' reaches the postmaster as "listen_addresses=": no TCP at all. */
    char *opts = str_printf("-k %s -p %d -c listen_addresses=%s -c max_connections=200%s", sock,
                            emb->port, emb->tcp ? "127.0.0.1" : "''",
                            emb->fast ? " -c fsync=off -c full_page_writes=off"
                                        " -c synchronous_commit=off"
                                      : "");
    free(sock);
    return opts;
}

static char *conninfo_new(const struct sd_embedded *emb)
{
    char *host = conninfo_quote(emb->tcp ? "127.0.0.1" : emb->sock);
    if (host == NULL)
        return NULL;
    char *info =
        str_printf("host=%s port=%d user=" EMB_SUPERUSER " dbname=" EMB_DATABASE, host, emb->port);
    free(host);
    return info;
}

static enum sd_rc layout_fill(struct sd_embedded *emb, char *err, size_t errlen)
{
    emb->data = str_printf("%s/data", emb->dir);
    emb->log = str_printf("%s/postgresql.log", emb->dir);
    emb->server_opts = server_opts_new(emb);
    emb->conninfo = conninfo_new(emb);
    if (emb->data == NULL || emb->log == NULL || emb->server_opts == NULL ||
        emb->conninfo == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    return SD_OK;
}

/* ---- the cluster ------------------------------------------------------------------------ */

static enum sd_rc cluster_init(const struct sd_embedded *emb, char *err, size_t errlen)
{
    char *version = str_printf("%s/PG_VERSION", emb->data);
    if (version == NULL) {
        set_err(err, errlen, "out of memory");
        return SD_ERR_NOMEM;
    }
    struct stat st;
    bool exists = stat(version, &st) == 0;
    free(version);
    if (exists)
        return SD_OK;
    log_info("embedded PostgreSQL: creating a cluster in %s", emb->data);
    /* Without -E and --locale an unset LANG gives an SQL_ASCII cluster. */
    const char *no_sync = emb->fast ? "--no-sync" : NULL; /* NULL ends argv early */
    const char *argv[] = {emb->initdb, "-D",    emb->data, "-U",   EMB_SUPERUSER,
                          "-A",        "trust", "-E",      "UTF8", "--locale=C.UTF-8",
                          no_sync,     NULL};
    return run_tool(emb, argv, "initdb", err, errlen);
}

/* pg_ctl status exits 0 when a postmaster runs on the data directory. */
static bool cluster_running(const struct sd_embedded *emb)
{
    const char *argv[] = {emb->pg_ctl, "status", "-D", emb->data, NULL};
    return run_as_user(&emb->user, argv, NULL) == 0;
}

/* Reads lines 4-6 of postmaster.pid (port, socket directory, listen address) into `lines`;
 * returns how many of them were there. All three are short: a socket path fits in 107 bytes. */
static int pidfile_read(const struct sd_embedded *emb, char lines[3][256])
{
    char *path = str_printf("%s/postmaster.pid", emb->data);
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    free(path);
    if (f == NULL)
        return 0;
    char line[PATH_MAX];
    int n = 0;
    for (int i = 1; i <= 6 && fgets(line, sizeof line, f) != NULL; i++) {
        if (i < 4)
            continue;
        size_t len = strcspn(line, "\n");
        if (len >= sizeof lines[i - 4])
            len = sizeof lines[i - 4] - 1; /* too long to be a match anyway */
        memcpy(lines[i - 4], line, len);
        lines[i - 4][len] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

/* A postmaster left running (segmentd was killed) is reused only if it listens where our
 * conninfo points; otherwise we would talk to it with wrong settings or not at all. */
static enum sd_rc cluster_check_reuse(const struct sd_embedded *emb, char *err, size_t errlen)
{
    char lines[3][256];
    char port[16];
    snprintf(port, sizeof port, "%d", emb->port);
    int n = pidfile_read(emb, lines);
    bool same = n >= 2 && strcmp(lines[0], port) == 0 && strcmp(lines[1], emb->sock) == 0;
    /* The listen address line is written once the sockets exist; a starting server lacks it. */
    if (same && n == 3)
        same = strcmp(lines[2], emb->tcp ? "127.0.0.1" : "") == 0;
    if (same)
        return SD_OK;
    set_err(err, errlen,
            "embedded PostgreSQL: a server already runs on %s with other settings "
            "(port %s, socket directory %s, listen address '%s'; wanted port %d, %s, '%s'); stop "
            "it with pg_ctl stop -D %s",
            emb->data, n >= 1 ? lines[0] : "?", n >= 2 ? lines[1] : "?", n >= 3 ? lines[2] : "?",
            emb->port, emb->sock, emb->tcp ? "127.0.0.1" : "", emb->data);
    return SD_ERR_CONFLICT;
}

static enum sd_rc cluster_start(const struct sd_embedded *emb, char *err, size_t errlen)
{
    log_info("embedded PostgreSQL: starting %s (log %s)", emb->data, emb->log);
    /* -l: without a log file the postmaster keeps our stdout and stderr open for its lifetime. */
    const char *argv[] = {emb->pg_ctl, "start", "-D", emb->data,        "-l", emb->log, "-w",
                          "-t",        "60",    "-o", emb->server_opts, NULL};
    return run_tool(emb, argv, "pg_ctl start", err, errlen);
}

/* Waits until the server accepts connections: a reused one may still be in crash recovery. */
static enum sd_rc cluster_wait_ready(const struct sd_embedded *emb, char *err, size_t errlen)
{
    char port[16];
    snprintf(port, sizeof port, "%d", emb->port);
    const char *const keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *const vals[] = {
        emb->tcp ? "127.0.0.1" : emb->sock, port, EMB_SUPERUSER, "postgres", "5", NULL};
    int64_t deadline = sd_now_mono_ms() + EMB_READY_TIMEOUT_MS;
    for (;;) {
        PGPing ping = PQpingParams(keys, vals, 0);
        if (ping == PQPING_OK)
            return SD_OK;
        if (ping == PQPING_NO_ATTEMPT || sd_now_mono_ms() > deadline)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    set_err(err, errlen, "embedded PostgreSQL on %s does not accept connections after %d s; see %s",
            emb->data, EMB_READY_TIMEOUT_MS / 1000, emb->log);
    return SD_ERR_DB_UNAVAILABLE;
}

/* Starts the cluster unless a postmaster already runs on it; `*started` says which. */
static enum sd_rc cluster_ensure_running(const struct sd_embedded *emb, bool *started, char *err,
                                         size_t errlen)
{
    enum sd_rc rc;
    *started = false;
    if (cluster_running(emb)) {
        rc = cluster_check_reuse(emb, err, errlen);
        if (rc == SD_OK)
            log_info("embedded PostgreSQL: reusing the server already running on %s", emb->data);
    } else {
        rc = cluster_start(emb, err, errlen);
        *started = rc == SD_OK;
    }
    if (rc != SD_OK)
        return rc;
    return cluster_wait_ready(emb, err, errlen);
}

static enum sd_rc cluster_stop(const struct sd_embedded *emb, char *err, size_t errlen)
{
    if (!cluster_running(emb))
        return SD_OK;
    log_info("embedded PostgreSQL: stopping %s", emb->data);
    const char *argv[] = {emb->pg_ctl, "stop", "-D", emb->data, "-m", "fast", "-w", NULL};
    return run_tool(emb, argv, "pg_ctl stop", err, errlen);
}

static void pq_err(char *err, size_t errlen, const char *what, const char *msg)
{
    set_err(err, errlen, "embedded PostgreSQL: %s: %s", what, msg != NULL ? msg : "");
    if (err != NULL && errlen > 0)
        err[strcspn(err, "\n")] = '\0';
}

/* Creates the database "segmentd" unless it exists. */
static enum sd_rc database_ensure(const struct sd_embedded *emb, char *err, size_t errlen)
{
    enum sd_rc rc = SD_ERR_DB_UNAVAILABLE;
    PGresult *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", emb->port);
    const char *const keys[] = {"host", "port", "user", "dbname", NULL};
    const char *const vals[] = {emb->tcp ? "127.0.0.1" : emb->sock, port, EMB_SUPERUSER, "postgres",
                                NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    if (PQstatus(conn) != CONNECTION_OK) {
        pq_err(err, errlen, "connect", conn != NULL ? PQerrorMessage(conn) : "out of memory");
        goto out;
    }
    rc = SD_ERR_DB;
    const char *params[] = {EMB_DATABASE};
    res = PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params, NULL,
                       NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pq_err(err, errlen, "looking up database " EMB_DATABASE, PQresultErrorMessage(res));
        goto out;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        /* CREATE DATABASE takes no parameters; the name is a constant. */
        res = PQexec(conn, "CREATE DATABASE " EMB_DATABASE);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* 42P04: a concurrent start created it first. */
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            (state == NULL || strcmp(state, "42P04") != 0)) {
            pq_err(err, errlen, "CREATE DATABASE " EMB_DATABASE, PQresultErrorMessage(res));
            goto out;
        }
        log_info("embedded PostgreSQL: created database " EMB_DATABASE);
    }
    rc = SD_OK;
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

/* ---- removal ---------------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        log_warn("embedded PostgreSQL: cannot remove %s: %s", path, strerror(errno));
    return 0; /* keep going: remove as much as possible */
}

/* rm -rf without a shell: depth first, symbolic links removed rather than followed. */
static void rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        log_warn("embedded PostgreSQL: cannot remove %s: %s", path, strerror(errno));
}

/* ---- public ----------------------------------------------------------------------------- */

static void emb_free(struct sd_embedded *emb)
{
    free(emb->dir);
    free(emb->data);
    free(emb->log);
    free(emb->sock);
    free(emb->initdb);
    free(emb->pg_ctl);
    free(emb->server_opts);
    free(emb->conninfo);
    free(emb);
}

static enum sd_rc opts_check(const struct sd_embedded_opts *opts, char *err, size_t errlen)
{
    if (opts == NULL || opts->dir == NULL || opts->dir[0] == '\0') {
        set_err(err, errlen, "embedded PostgreSQL: no cluster directory given");
        return SD_ERR_INVALID;
    }
    if (opts->tcp_port < 0 || opts->tcp_port > 65535) {
        set_err(err, errlen, "embedded PostgreSQL: tcp_port %d out of range", opts->tcp_port);
        return SD_ERR_INVALID;
    }
    return SD_OK;
}

/* Everything up to a running, reachable server; `*started` if this call started it. */
static enum sd_rc emb_bring_up(struct sd_embedded *emb, const struct sd_embedded_opts *opts,
                               bool *started, char *err, size_t errlen)
{
    enum sd_rc rc = binaries_find(emb, err, errlen);
    if (rc == SD_OK)
        rc = user_resolve(opts->run_as != NULL ? opts->run_as : EMB_DEFAULT_RUN_AS, &emb->user, err,
                          errlen);
    if (rc == SD_OK)
        rc = dirs_prepare(emb, opts->dir, err, errlen);
    if (rc == SD_OK)
        rc = sockdir_prepare(emb, err, errlen);
    if (rc == SD_OK)
        rc = layout_fill(emb, err, errlen);
    if (rc == SD_OK)
        rc = cluster_init(emb, err, errlen);
    if (rc == SD_OK)
        rc = cluster_ensure_running(emb, started, err, errlen);
    return rc;
}

enum sd_rc sd_embedded_start(const struct sd_embedded_opts *opts, struct sd_embedded **out,
                             char *err, size_t errlen)
{
    struct sd_embedded *emb = NULL;
    bool started = false;
    *out = NULL;
    enum sd_rc rc = opts_check(opts, err, errlen);
    if (rc != SD_OK)
        goto out;
    rc = SD_ERR_NOMEM;
    emb = calloc(1, sizeof *emb);
    if (emb == NULL) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    emb->tcp = opts->tcp_port > 0;
    emb->port = emb->tcp ? opts->tcp_port : EMB_SOCKET_PORT;
    emb->fast = opts->fast;
    rc = emb_bring_up(emb, opts, &started, err, errlen);
    if (rc != SD_OK)
        goto out;
    rc = database_ensure(emb, err, errlen);
    if (rc != SD_OK)
        goto out;
    log_info("embedded PostgreSQL ready: %s", emb->conninfo);
    *out = emb;
    emb = NULL;
out:
    if (emb != NULL && started) {
        /* Leave nothing running behind a failed start; a reused server is not ours to stop. */
        char stop_err[256];
        if (cluster_stop(emb, stop_err, sizeof stop_err) != SD_OK)
            log_warn("%s", stop_err);
    }
    if (emb != NULL)
        emb_free(emb);
    return rc;
}

const char *sd_embedded_conninfo(const struct sd_embedded *emb)
{
    return emb->conninfo;
}

enum sd_rc sd_embedded_pause(struct sd_embedded *emb)
{
    char err[512];
    enum sd_rc rc = cluster_stop(emb, err, sizeof err);
    if (rc != SD_OK)
        log_error("%s", err);
    return rc;
}

enum sd_rc sd_embedded_resume(struct sd_embedded *emb)
{
    char err[512];
    bool started;
    enum sd_rc rc = cluster_ensure_running(emb, &started, err, sizeof err);
    if (rc != SD_OK)
        log_error("%s", err);
    return rc;
}

void sd_embedded_stop(struct sd_embedded *emb, bool remove_dir)
{
    if (emb == NULL)
        return;
    char err[512];
    if (cluster_stop(emb, err, sizeof err) != SD_OK) {
        /* Deleting the files under a live server would only make it crash later. */
        log_error("%s; keeping %s", err, emb->dir);
        remove_dir = false;
    }
    if (remove_dir) {
        rm_rf(emb->dir);
        if (emb->sock_outside)
            rm_rf(emb->sock);
    }
    emb_free(emb);
}
