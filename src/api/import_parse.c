/* Bulk import reading (SPEC §2 "POST /v1/imports"): CSV exports as accounting systems write them
 * and NDJSON purchase objects, cut into records from a byte stream and validated one by one.
 *
 * Memory stays bounded however large the import: the parser keeps one buffer holding the record
 * being read plus the unread rest of the last chunk fed. A record over RECORD_MAX bytes is rejected
 * and skipped up to the next line, so a stray quote cannot make us swallow the whole file. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "segmentd/core_matrix.h"
#include "segmentd/import_parse.h"
#include "segmentd/matrix_json.h"
#include "segmentd/util.h"

#define RECORD_MAX ((size_t)1 << 20)
#define ID_MAX_CHARS 128
#define NAME_MAX_CHARS 200
#define EMAIL_MAX_CHARS 254
#define PHONE_MAX_BYTES 64 /* as the API: a longer "phone" is not one */

static const char *const field_names[SD_IF_COUNT] = {
    "order_id", "customer_id", "amount", "purchased_at", "kind",
    "name",     "phone",       "email",  "birthday",
};

/* Where a CSV reader stands after a byte. QUOTE_SEEN is a quote inside a quoted field: the next
 * byte tells whether it was an escaped "" or the closing quote. */
enum csv_state { CSV_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTE_SEEN, CSV_AFTER_QUOTE, CSV_BAD };

struct sd_import_parser {
    enum sd_import_format format;
    char *names[SD_IF_COUNT]; /* header name per field (owned copies) */

    /* buf[rec_start, pos) is the record read so far, buf[pos, len) input not read yet. One more
     * byte than len is always allocated, so a record at the very end can be NUL-terminated. */
    char *buf;
    size_t len, cap, rec_start, pos;
    enum csv_state state;
    long line;     /* the line of buf[pos] */
    long rec_line; /* the line where the record being read starts */
    long cur_line; /* the line of the record being reported */
    long records;

    bool bom_checked, finished, skipping, in_record, header_done, fatal;
    char delim;           /* 0 while reading the header: any of , ; tab */
    int ncols;            /* fields of the header */
    int col[SD_IF_COUNT]; /* column of each field, -1 when absent */
    json_t *doc;          /* the NDJSON record the last row points into */
    char phone[PHONE_MAX_BYTES + 2];
    char email[EMAIL_MAX_CHARS * 4 + 1];
    char reason[256];
};

/* ---- small text helpers ------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Characters, not bytes; only called on text already known to be UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* How many continuation bytes a lead byte announces, and the range its first one must be in
 * (the narrower ranges rule out overlong forms, surrogates and code points above U+10FFFF). */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        *lo = c == 0xE0 ? 0xA0 : 0x80;
        *hi = c == 0xED ? 0x9F : 0xBF;
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        *lo = c == 0xF0 ? 0x90 : 0x80;
        *hi = c == 0xF4 ? 0x8F : 0xBF;
        return 3;
    }
    return -1;
}

static bool utf8_valid(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i++], lo, hi;
        if (c < 0x80)
            continue;
        int more = utf8_lead(c, &lo, &hi);
        if (more < 0 || n - i < (size_t)more || s[i] < lo || s[i] > hi)
            return false;
        for (int k = 1; k < more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += (size_t)more;
    }
    return true;
}

/* Reasons quote input and cut it short ("%.64s"), yet they end up in JSON answers, which must
 * be UTF-8: every byte that does not start a whole, valid sequence becomes '?'. */
static void utf8_sanitize(char *text)
{
    size_t n = strlen(text), i = 0;
    while (i < n) {
        unsigned char lo, hi, *s = (unsigned char *)text + i;
        int more = s[0] < 0x80 ? 0 : utf8_lead(s[0], &lo, &hi);
        bool ok = more == 0 || (more > 0 && n - i > (size_t)more && s[1] >= lo && s[1] <= hi);
        for (int k = 2; ok && k <= more; k++)
            ok = (s[k] & 0xC0) == 0x80;
        if (!ok) {
            s[0] = '?';
            more = 0;
        }
        i += (size_t)more + 1;
    }
}

/* Code point at *p; a byte that does not start a well-formed sequence comes back as itself
 * above U+10FFFF, so that it never folds and only matches the same byte. */
static unsigned long next_cp(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    int n = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : s[0] >= 0xC0 ? 1 : 0;
    unsigned long cp = n == 0 ? s[0] : s[0] & (0x3Fu >> n);
    *p = s + 1;
    if (end - s <= n)
        return n == 0 ? cp : 0x110000UL + s[0];
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0x110000UL + s[0];
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    *p = s + n + 1;
    return cp;
}

/* Upper to lower case for the letters export headers are written in: ASCII, Latin-1 and
 * Cyrillic (1C writes "НОМЕР" as readily as "Номер"). */
static unsigned long fold(unsigned long cp)
{
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
        (cp >= 0x410 && cp <= 0x42F))
        return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) /* Ѐ…Џ, Ё among them */
        return cp + 80;
    return cp;
}

static void trim_span(const char **s, size_t *n)
{
    while (*n > 0 && **s == ' ')
        (*s)++, (*n)--;
    while (*n > 0 && (*s)[*n - 1] == ' ')
        (*n)--;
}

/* Header names compare case-insensitively, ignoring surrounding spaces. */
static bool same_name(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    trim_span(&a, &alen);
    trim_span(&b, &blen);
    const unsigned char *p = (const unsigned char *)a, *pend = p + alen;
    const unsigned char *q = (const unsigned char *)b, *qend = q + blen;
    while (p < pend && q < qend)
        if (fold(next_cp(&p, pend)) != fold(next_cp(&q, qend)))
            return false;
    return p == pend && q == qend;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

static int field_index(const char *name)
{
    for (int f = 0; f < SD_IF_COUNT; f++)
        if (strcasecmp(name, field_names[f]) == 0)
            return f;
    return -1;
}

/* ---- amounts and dates -------------------------------------------------------------------- */

/* Bytes of a thousands separator other than '.' and ',' at s (0 if none): spaces, NBSP, narrow
 * NBSP, and the apostrophes Swiss exports use. strncmp stops at the NUL, so it never reads past. */
static size_t spacer_len(const char *s)
{
    if (*s == ' ' || *s == '\'')
        return 1;
    if (strncmp(s, "\xC2\xA0", 2) == 0)
        return 2;
    if (strncmp(s, "\xE2\x80\xAF", 3) == 0 || strncmp(s, "\xE2\x80\x99", 3) == 0)
        return 3;
    return 0;
}

/* A thousands separator must be followed by a group of exactly three digits: "1,2" is not 12. */
static bool group_of_three(const char *s)
{
    return is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && !is_digit(s[3]);
}

/* Removes thousands separators and turns the decimal one (`dec`, 0 if none) into '.'. */
static bool drop_thousands(char *t, char dec)
{
    size_t j = 0;
    for (size_t i = 0; t[i] != '\0'; i++) {
        char c = t[i];
        if (dec != 0 && c == dec) {
            if (strchr(t + i + 1, dec) != NULL)
                return false;
            t[j++] = '.';
        } else if (c == '.' || c == ',') {
            if (j == 0 || !is_digit(t[j - 1]) || !group_of_three(t + i + 1))
                return false;
        } else {
            t[j++] = c;
        }
    }
    t[j] = '\0';
    return true;
}

/* A lone ',' followed by one or two digits at the end is a decimal comma ("12,5"); otherwise
 * commas group thousands ("1,234"). A lone '.' is always a decimal point. */
static char decimal_separator(const char *t)
{
    const char *dot = strrchr(t, '.'), *comma = strrchr(t, ',');
    if (dot != NULL && comma != NULL)
        return dot > comma ? '.' : ',';
    if (comma != NULL) {
        size_t tail = strlen(comma + 1);
        bool decimal = comma == strchr(t, ',') && tail >= 1 && tail <= 2 &&
                       strspn(comma + 1, "0123456789") == tail;
        return decimal ? ',' : 0;
    }
    if (dot != NULL)
        return dot == strchr(t, '.') ? '.' : 0;
    return 0;
}

bool sd_import_amount(const char *s, int64_t *cents)
{
    char t[64];
    size_t n = 0;
    while (*s != '\0') {
        size_t skip = spacer_len(s);
        if (skip > 0) {
            s += skip;
            continue;
        }
        if (n + 1 >= sizeof t) /* 12 digits and their separators fit with room to spare */
            return false;
        t[n++] = *s++;
    }
    t[n] = '\0';
    return drop_thousands(t, decimal_separator(t)) && sd_amount_parse(t, cents);
}

/* One or two digits: exports drop the leading zero of days, months and hours ("5.3.2026 9:05"). */
static bool short_number(const char **p, int *out)
{
    const char *s = *p;
    if (!is_digit(s[0]))
        return false;
    *out = s[0] - '0';
    *p = s + 1;
    if (is_digit(s[1])) {
        *out = *out * 10 + (s[1] - '0');
        *p = s + 2;
    }
    return true;
}

static bool exact_number(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* The optional " HH:MM[:SS]" (or "THH:MM[:SS]") that ends a local time; midnight when absent. */
static bool clock_part(const char *s, int *h, int *mi, int *se)
{
    *h = *mi = *se = 0;
    if (*s == '\0')
        return true;
    if (*s != ' ' && *s != 'T')
        return false;
    s++;
    if (!short_number(&s, h) || *s++ != ':' || !exact_number(&s, 2, mi))
        return false;
    if (*s == ':' && (s++, !exact_number(&s, 2, se)))
        return false;
    return *s == '\0' && *h <= 23 && *mi <= 59 && *se <= 59;
}

/* Writes "YYYY-MM-DD HH:MM:SS" once the calendar date is known to exist. */
static bool local_format(int y, int m, int d, const char *clock, char out[20])
{
    int h, mi, se;
    int64_t unused;
    char text[64]; /* roomy: the compiler cannot see that every number has its few digits */
    if (!clock_part(clock, &h, &mi, &se))
        return false;
    snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
    if (strlen(text) != 10 || !sd_date_parse(text, &unused))
        return false;
    snprintf(text + 10, sizeof text - 10, " %02d:%02d:%02d", h, mi, se);
    memcpy(out, text, 20);
    return true;
}

bool sd_import_local_date(const char *s, char out[20])
{
    int d, m, y;
    if (!short_number(&s, &d) || *s++ != '.' || !short_number(&s, &m) || *s++ != '.' ||
        !exact_number(&s, 4, &y))
        return false;
    return local_format(y, m, d, s, out);
}

/* "YYYY-MM-DD[ HH:MM[:SS]]" without an offset: a local time, like the DD.MM.YYYY forms. */
static bool iso_local_date(const char *s, char out[20])
{
    int y, m, d;
    if (!exact_number(&s, 4, &y) || *s++ != '-' || !exact_number(&s, 2, &m) || *s++ != '-' ||
        !exact_number(&s, 2, &d))
        return false;
    return local_format(y, m, d, s, out);
}

/* ---- the column map ----------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static bool map_error(char *err, size_t errlen,
                                                            const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        utf8_sanitize(err);
    }
    return false;
}

static bool map_item(char *item, bool seen[SD_IF_COUNT], struct sd_import_options *opts, char *err,
                     size_t errlen)
{
    char *s = trim(item);
    if (*s == '\0') /* "a:B," or ",,": nothing to map */
        return true;
    char *colon = strchr(s, ':');
    if (colon == NULL)
        return map_error(err, errlen, "\"%.64s\": expected field:Header", s);
    *colon = '\0';
    char *field = trim(s), *header = trim(colon + 1);
    int f = field_index(field);
    if (f < 0)
        return map_error(err, errlen,
                         "unknown field \"%.64s\" (order_id, customer_id, amount, purchased_at, "
                         "kind, name, phone, email, birthday)",
                         field);
    if (*header == '\0')
        return map_error(err, errlen, "%s: empty header name", field_names[f]);
    if (seen[f])
        return map_error(err, errlen, "%s is mapped twice", field_names[f]);
    seen[f] = true;
    opts->map[f] = header;
    return true;
}

bool sd_import_parse_map(const char *text, char *buf, size_t buflen, struct sd_import_options *opts,
                         char *err, size_t errlen)
{
    size_t n = strlen(text);
    if (n >= buflen)
        return map_error(err, errlen, "the map is too long");
    memcpy(buf, text, n + 1);
    bool seen[SD_IF_COUNT] = {false};
    char *item = buf;
    while (item != NULL) {
        char *next = strchr(item, ',');
        if (next != NULL)
            *next++ = '\0';
        if (!map_item(item, seen, opts, err, errlen))
            return false;
        item = next;
    }
    return true;
}

/* ---- parser lifecycle and input ----------------------------------------------------------- */

struct sd_import_parser *sd_import_parser_new(const struct sd_import_options *opts)
{
    struct sd_import_parser *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->format = opts->format;
    p->line = 1;
    for (int f = 0; f < SD_IF_COUNT; f++) {
        p->col[f] = -1;
        /* Copied: the options may be gone before the header arrives. */
        p->names[f] = strdup(opts->map[f] != NULL ? opts->map[f] : field_names[f]);
        if (p->names[f] == NULL)
            goto fail;
    }
    return p;
fail:
    sd_import_parser_free(p);
    return NULL;
}

void sd_import_parser_free(struct sd_import_parser *p)
{
    if (p == NULL)
        return;
    json_decref(p->doc);
    for (int f = 0; f < SD_IF_COUNT; f++)
        free(p->names[f]);
    free(p->buf);
    free(p);
}

/* Drops what has been consumed, so the buffer never holds more than one record and one chunk. */
static void compact(struct sd_import_parser *p)
{
    if (p->rec_start == 0)
        return;
    memmove(p->buf, p->buf + p->rec_start, p->len - p->rec_start);
    p->len -= p->rec_start;
    p->pos -= p->rec_start;
    p->rec_start = 0;
}

static enum sd_rc reserve(struct sd_import_parser *p, size_t extra)
{
    if (extra > SIZE_MAX / 2 - p->len)
        return SD_ERR_TOO_LARGE;
    size_t need = p->len + extra + 1;
    if (need <= p->cap)
        return SD_OK;
    size_t cap = p->cap > 0 ? p->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(p->buf, cap);
    if (grown == NULL)
        return SD_ERR_NOMEM;
    p->buf = grown;
    p->cap = cap;
    return SD_OK;
}

enum sd_rc sd_import_parser_feed(struct sd_import_parser *p, const char *data, size_t len)
{
    if (p->finished)
        return SD_ERR_INTERNAL;
    if (p->fatal || len == 0) /* after a fatal error nothing more is read: no need to keep it */
        return SD_OK;
    compact(p);
    enum sd_rc rc = reserve(p, len);
    if (rc != SD_OK)
        return rc;
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    p->buf[p->len] = '\0';
    return SD_OK;
}

void sd_import_parser_finish(struct sd_import_parser *p)
{
    p->finished = true;
}

const char *sd_import_parser_reason(const struct sd_import_parser *p)
{
    return p->reason;
}

long sd_import_parser_records(const struct sd_import_parser *p)
{
    return p->records;
}

/* Formats the reason of a rejection; false, so that a check can `return say(...)`. */
__attribute__((format(printf, 2, 3))) static bool say(struct sd_import_parser *p, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    utf8_sanitize(p->reason);
    return false;
}

/* ---- cutting the stream into records ------------------------------------------------------ */

static bool is_delim(char c, char delim)
{
    return delim != 0 ? c == delim : c == ',' || c == ';' || c == '\t';
}

/* RFC 4180 with the usual leniency: spaces around a quoted field are allowed, and a quote inside
 * an unquoted field is just a character. Text after a closing quote makes the record bad, but
 * the record still ends where a well-formed one would. */
static enum csv_state csv_step(enum csv_state s, char c, char delim)
{
    switch (s) {
    case CSV_QUOTED:
        return c == '"' ? CSV_QUOTE_SEEN : CSV_QUOTED;
    case CSV_QUOTE_SEEN:
    case CSV_AFTER_QUOTE:
        if (s == CSV_QUOTE_SEEN && c == '"')
            return CSV_QUOTED;
        if (is_delim(c, delim))
            return CSV_START;
        return c == ' ' || c == '\r' ? CSV_AFTER_QUOTE : CSV_BAD;
    case CSV_START:
        if (is_delim(c, delim))
            return CSV_START;
        if (c == '"')
            return CSV_QUOTED;
        return c == ' ' ? CSV_START : CSV_UNQUOTED;
    case CSV_UNQUOTED:
    case CSV_BAD:
        break;
    }
    return is_delim(c, delim) ? CSV_START : s;
}

enum scan_result { SCAN_MORE, SCAN_RECORD, SCAN_TOO_LONG };

/* A BOM is only looked for once three bytes (or the whole input) are there: it may be split. */
static bool skip_bom(struct sd_import_parser *p)
{
    if (p->bom_checked)
        return true;
    size_t avail = p->len - p->pos;
    if (avail < 3 && !p->finished)
        return false;
    if (avail >= 3 && memcmp(p->buf + p->pos, "\xEF\xBB\xBF", 3) == 0)
        p->pos += 3;
    p->rec_start = p->pos;
    p->bom_checked = true;
    return true;
}

/* After a record too long to keep, everything up to the next newline goes; quotes no longer
 * count, since the one that opened the runaway field may never close. */
static bool resync(struct sd_import_parser *p)
{
    char *nl = p->pos < p->len ? memchr(p->buf + p->pos, '\n', p->len - p->pos) : NULL;
    p->pos = nl != NULL ? (size_t)(nl - p->buf) + 1 : p->len;
    p->rec_start = p->pos;
    if (nl == NULL)
        return false;
    p->line++;
    p->skipping = false;
    return true;
}

static enum scan_result take_record(struct sd_import_parser *p, char **rec, size_t *len,
                                    size_t newline)
{
    *rec = p->buf + p->rec_start;
    *len = p->pos - p->rec_start;
    p->cur_line = p->rec_line;
    p->pos += newline;
    p->line += (long)newline;
    p->rec_start = p->pos;
    p->in_record = false;
    p->state = CSV_START;
    return SCAN_RECORD;
}

static enum scan_result too_long(struct sd_import_parser *p)
{
    p->cur_line = p->rec_line;
    p->skipping = true;
    p->in_record = false;
    p->state = CSV_START;
    p->rec_start = p->pos;
    return SCAN_TOO_LONG;
}

/* Reads on until the current record ends: a newline outside quotes (any newline in NDJSON), or
 * the end of the input once finished. */
static enum scan_result scan(struct sd_import_parser *p, char **rec, size_t *len)
{
    if (!skip_bom(p) || (p->skipping && !resync(p)))
        return SCAN_MORE;
    if (!p->in_record) {
        p->in_record = true;
        p->rec_line = p->line;
    }
    bool csv = p->format == SD_IMPORT_CSV;
    for (; p->pos < p->len; p->pos++) {
        char c = p->buf[p->pos];
        if (c == '\n' && (!csv || p->state != CSV_QUOTED))
            return take_record(p, rec, len, 1);
        if (p->pos - p->rec_start >= RECORD_MAX)
            return too_long(p);
        if (c == '\n')
            p->line++;
        if (csv)
            p->state = csv_step(p->state, c, p->delim);
    }
    if (p->finished && p->pos > p->rec_start)
        return take_record(p, rec, len, 0);
    return SCAN_MORE;
}

/* ---- CSV fields --------------------------------------------------------------------------- */

/* Unquoting happens in place: a field's text only ever shrinks, so the writer never overtakes
 * the reader, and each field can be NUL-terminated where its delimiter was. */
struct csv_cursor {
    char *rd, *end, *wr;
    char delim;
    bool done;
};

/* Steps over the delimiter after a field; false if something else is there. */
static bool csv_field_end(struct csv_cursor *c)
{
    if (c->rd == c->end) {
        c->done = true;
        return true;
    }
    if (*c->rd == c->delim) {
        c->rd++;
        return true;
    }
    c->done = true;
    return false;
}

static const char *csv_quoted(struct csv_cursor *c)
{
    c->rd++;
    for (;;) {
        if (c->rd == c->end) {
            c->done = true;
            return "a quoted field never closes";
        }
        char ch = *c->rd++;
        if (ch == '"') {
            if (c->rd == c->end || *c->rd != '"')
                break;
            c->rd++;
        }
        *c->wr++ = ch;
    }
    while (c->rd < c->end && *c->rd == ' ')
        c->rd++;
    return csv_field_end(c) ? NULL : "text after the closing quote of a field";
}

static void csv_unquoted(struct csv_cursor *c, const char *start)
{
    while (c->rd < c->end && *c->rd != c->delim)
        *c->wr++ = *c->rd++;
    while (c->wr > start && c->wr[-1] == ' ')
        c->wr--;
    (void)csv_field_end(c); /* only the delimiter or the end can stop the loop above */
}

/* The next field, unquoted, without surrounding spaces, NUL-terminated; false past the last.
 * `*err` says what is wrong with a malformed field (and the record ends there). */
static bool csv_field(struct csv_cursor *c, char **field, size_t *len, const char **err)
{
    *err = NULL;
    if (c->done)
        return false;
    while (c->rd < c->end && *c->rd == ' ')
        c->rd++;
    char *start = c->wr;
    if (c->rd < c->end && *c->rd == '"')
        *err = csv_quoted(c);
    else
        csv_unquoted(c, start);
    *len = (size_t)(c->wr - start);
    *c->wr++ = '\0';
    *field = start;
    return true;
}

/* The delimiter that occurs most often outside quotes; ',' when there is a single column. */
static char detect_delim(const char *s, size_t len)
{
    static const char cands[] = {',', ';', '\t'};
    size_t count[3] = {0, 0, 0};
    enum csv_state st = CSV_START;
    for (size_t i = 0; i < len; i++) {
        for (int k = 0; k < 3 && st != CSV_QUOTED; k++)
            count[k] += s[i] == cands[k];
        st = csv_step(st, s[i], 0);
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (count[k] > count[best])
            best = k;
    return cands[best];
}

/* ---- records ------------------------------------------------------------------------------ */

static enum sd_import_next fatal(struct sd_import_parser *p)
{
    p->fatal = true;
    return SD_IMPORT_FATAL;
}

/* Matches one header column against every field: a column may feed several (1C exports often
 * give the phone number as the only customer id). */
static bool header_column(struct sd_import_parser *p, int idx, const char *name, size_t len)
{
    for (int f = 0; f < SD_IF_COUNT; f++) {
        if (!same_name(name, len, p->names[f]))
            continue;
        if (p->col[f] >= 0)
            return say(p, "the header has the column \"%.64s\" twice", p->names[f]);
        p->col[f] = idx;
    }
    return true;
}

static bool header_complete(struct sd_import_parser *p)
{
    char missing[200] = "";
    size_t n = 0;
    for (int f = SD_IF_ORDER_ID; f <= SD_IF_PURCHASED_AT; f++) {
        if (p->col[f] >= 0 || n >= sizeof missing)
            continue;
        /* A mapped field is named with the header it was looked for under. */
        bool mapped = strcmp(p->names[f], field_names[f]) != 0;
        int w = snprintf(missing + n, sizeof missing - n, "%s%s%s%.32s%s", n > 0 ? ", " : "",
                         field_names[f], mapped ? " (\"" : "", mapped ? p->names[f] : "",
                         mapped ? "\")" : "");
        n += w > 0 ? (size_t)w : 0;
    }
    if (n == 0)
        return true;
    return say(p, "the header lacks required column(s): %s", missing);
}

static enum sd_import_next csv_header(struct sd_import_parser *p, char *s, size_t len)
{
    if (!utf8_valid(s, len)) {
        say(p, "the header line is not UTF-8");
        return fatal(p);
    }
    p->delim = detect_delim(s, len);
    struct csv_cursor c = {.rd = s, .end = s + len, .wr = s, .delim = p->delim};
    char *name;
    size_t n;
    const char *err;
    int idx = 0;
    while (csv_field(&c, &name, &n, &err)) {
        if (err != NULL) {
            say(p, "header: %s", err);
            return fatal(p);
        }
        if (!header_column(p, idx++, name, n))
            return fatal(p);
    }
    if (!header_complete(p))
        return fatal(p);
    p->ncols = idx;
    p->header_done = true;
    return SD_IMPORT_NEED_MORE;
}

/* Text a field may not hold: invalid UTF-8, or a NUL that would cut the string short. */
static const char *field_problem(const char *s, size_t len)
{
    if (memchr(s, '\0', len) != NULL)
        return "contains a NUL byte";
    return utf8_valid(s, len) ? NULL : "not UTF-8";
}

static bool id_ok(struct sd_import_parser *p, const char *s, enum sd_import_field f)
{
    if (s == NULL)
        return say(p, "%s: required", field_names[f]);
    if (utf8_chars(s) > ID_MAX_CHARS)
        return say(p, "%s: at most %d characters", field_names[f], ID_MAX_CHARS);
    return true;
}

static bool check_ids(struct sd_import_parser *p, const char *const v[SD_IF_COUNT],
                      struct sd_import_row *row)
{
    row->order_id = v[SD_IF_ORDER_ID];
    row->customer_id = v[SD_IF_CUSTOMER_ID];
    return id_ok(p, row->order_id, SD_IF_ORDER_ID) && id_ok(p, row->customer_id, SD_IF_CUSTOMER_ID);
}

static bool check_when(struct sd_import_parser *p, const char *s, struct sd_import_row *row)
{
    if (s == NULL)
        return say(p, "purchased_at: required");
    if (sd_time_parse_rfc3339(s, &row->purchased_at_us)) {
        row->has_offset = true;
        return true;
    }
    if (sd_import_local_date(s, row->local_time) || iso_local_date(s, row->local_time))
        return true;
    return say(p, "purchased_at: not a time (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or "
                  "DD.MM.YYYY[ HH:MM[:SS]])");
}

/* As the API: '+' and 5-15 digits; spaces, dots, dashes and parentheses dropped. */
static bool check_phone(struct sd_import_parser *p, const char *s)
{
    size_t n = 0, digits = 0;
    if (strlen(s) > PHONE_MAX_BYTES)
        return say(p, "phone: 5 to 15 digits");
    p->phone[n++] = '+';
    for (const char *c = s; *c != '\0'; c++) {
        if (is_digit(*c)) {
            p->phone[n++] = *c;
            digits++;
        } else if (strchr(" .-()", *c) == NULL && !(*c == '+' && c == s)) {
            return say(p, "phone: digits, spaces, - . ( ) and a leading +");
        }
    }
    p->phone[n] = '\0';
    if (digits < 5 || digits > 15)
        return say(p, "phone: 5 to 15 digits");
    return true;
}

/* As the API: one '@' not first, a dot in the domain (not right after '@', not last), no spaces
 * or control characters; lower-cased. */
static bool check_email(struct sd_import_parser *p, const char *s)
{
    const char *at = strchr(s, '@');
    size_t len = strlen(s);
    bool ok = at != NULL && at != s && strchr(at + 1, '@') == NULL && strchr(at + 1, '.') != NULL &&
              at[1] != '.' && s[len - 1] != '.' && utf8_chars(s) <= EMAIL_MAX_CHARS;
    for (size_t i = 0; ok && i <= len; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = c == '\0' || (c > ' ' && c != 0x7f);
        p->email[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return ok ? true : say(p, "email: not an e-mail address");
}

static bool check_profile(struct sd_import_parser *p, const char *const v[SD_IF_COUNT],
                          struct sd_import_row *row)
{
    const char *kind = v[SD_IF_KIND];
    if (kind != NULL) {
        if (strcasecmp(kind, "b2c") != 0 && strcasecmp(kind, "b2b") != 0)
            return say(p, "kind: b2c or b2b");
        row->kind = strcasecmp(kind, "b2c") == 0 ? "b2c" : "b2b";
    }
    if (v[SD_IF_NAME] != NULL && utf8_chars(v[SD_IF_NAME]) > NAME_MAX_CHARS)
        return say(p, "name: at most %d characters", NAME_MAX_CHARS);
    row->name = v[SD_IF_NAME];
    if (v[SD_IF_PHONE] != NULL) {
        if (!check_phone(p, v[SD_IF_PHONE]))
            return false;
        row->phone = p->phone;
    }
    if (v[SD_IF_EMAIL] != NULL) {
        if (!check_email(p, v[SD_IF_EMAIL]))
            return false;
        row->email = p->email;
    }
    int64_t unused;
    if (v[SD_IF_BIRTHDAY] != NULL && !sd_date_parse(v[SD_IF_BIRTHDAY], &unused))
        return say(p, "birthday: a date YYYY-MM-DD");
    row->birthday = v[SD_IF_BIRTHDAY];
    return true;
}

static bool check_rest(struct sd_import_parser *p, const char *const v[SD_IF_COUNT],
                       struct sd_import_row *row)
{
    return check_when(p, v[SD_IF_PURCHASED_AT], row) && check_profile(p, v, row);
}

static bool csv_amount(struct sd_import_parser *p, const char *s, struct sd_import_row *row)
{
    if (s == NULL)
        return say(p, "amount: required");
    if (!sd_import_amount(s, &row->amount_cents))
        return say(p, "amount: not an amount (≥ 0, at most 2 decimals)");
    return true;
}

/* Splits a data record into the mapped fields; false (with the reason) if it is malformed.
 * *empty tells a line of nothing but delimiters, which counts as blank. */
static bool csv_split(struct sd_import_parser *p, char *s, size_t len, char *v[SD_IF_COUNT],
                      bool *empty)
{
    struct csv_cursor c = {.rd = s, .end = s + len, .wr = s, .delim = p->delim};
    char *field;
    size_t n;
    const char *err, *bad = NULL;
    int idx = 0, bad_idx = 0;
    *empty = true;
    while (csv_field(&c, &field, &n, &err)) {
        if (err != NULL)
            return say(p, "%s", err);
        if (bad == NULL && (bad = field_problem(field, n)) != NULL)
            bad_idx = idx + 1;
        for (int f = 0; f < SD_IF_COUNT; f++)
            if (p->col[f] == idx)
                v[f] = n > 0 ? field : NULL;
        *empty = *empty && n == 0;
        idx++;
    }
    if (*empty)
        return true;
    if (idx != p->ncols)
        return say(p, "expected %d fields, got %d", p->ncols, idx);
    if (bad != NULL)
        return say(p, "field %d: %s", bad_idx, bad);
    return true;
}

static enum sd_import_next csv_record(struct sd_import_parser *p, char *s, size_t len,
                                      struct sd_import_row *row)
{
    char *v[SD_IF_COUNT] = {NULL};
    bool empty;
    if (!csv_split(p, s, len, v, &empty))
        return SD_IMPORT_REJECT;
    if (empty)
        return SD_IMPORT_NEED_MORE;
    for (int f = SD_IF_ORDER_ID; f <= SD_IF_CUSTOMER_ID; f++)
        if (v[f] != NULL && *(v[f] = trim(v[f])) == '\0') /* quoted spaces: still nothing */
            v[f] = NULL;
    const char *const *cv = (const char *const *)v;
    bool ok =
        check_ids(p, cv, row) && csv_amount(p, cv[SD_IF_AMOUNT], row) && check_rest(p, cv, row);
    return ok ? SD_IMPORT_ROW : SD_IMPORT_REJECT;
}

/* ---- NDJSON ------------------------------------------------------------------------------- */

static bool known_members(struct sd_import_parser *p, json_t *obj, const char *const *allowed,
                          const char *where)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            return say(p, "%sunknown member \"%.64s\"", where, key);
    }
    return true;
}

/* A string member; absent, null and "" all read as absent (as an empty CSV field does). */
static bool json_text(struct sd_import_parser *p, json_t *obj, enum sd_import_field f,
                      const char **out)
{
    json_t *v = json_object_get(obj, field_names[f]);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return say(p, "%s: must be a string", field_names[f]);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) /* "\u0000" would otherwise cut the text */
        return say(p, "%s: contains a NUL character", field_names[f]);
    *out = *s != '\0' ? s : NULL;
    return true;
}

static bool json_fields(struct sd_import_parser *p, json_t *doc, const char *v[SD_IF_COUNT])
{
    static const char *const top[] = {"order_id",     "customer_id", "amount",
                                      "purchased_at", "customer",    NULL};
    static const char *const profile[] = {"kind", "name", "phone", "email", "birthday", NULL};
    if (!known_members(p, doc, top, ""))
        return false;
    if (!json_text(p, doc, SD_IF_ORDER_ID, &v[SD_IF_ORDER_ID]) ||
        !json_text(p, doc, SD_IF_CUSTOMER_ID, &v[SD_IF_CUSTOMER_ID]) ||
        !json_text(p, doc, SD_IF_PURCHASED_AT, &v[SD_IF_PURCHASED_AT]))
        return false;
    json_t *c = json_object_get(doc, "customer");
    if (c == NULL || json_is_null(c))
        return true;
    if (!json_is_object(c))
        return say(p, "customer: must be an object");
    if (!known_members(p, c, profile, "customer: "))
        return false;
    for (int f = SD_IF_KIND; f < SD_IF_COUNT; f++)
        if (!json_text(p, c, (enum sd_import_field)f, &v[f]))
            return false;
    return true;
}

static bool json_amount(struct sd_import_parser *p, json_t *doc, struct sd_import_row *row)
{
    json_t *a = json_object_get(doc, "amount");
    if (a == NULL || json_is_null(a))
        return say(p, "amount: required");
    if (!sd_json_amount(a, &row->amount_cents))
        return say(p, "amount: not an amount (≥ 0, at most 2 decimals)");
    return true;
}

static enum sd_import_next ndjson_record(struct sd_import_parser *p, const char *s, size_t len,
                                         struct sd_import_row *row)
{
    json_error_t e;
    p->doc = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (p->doc == NULL) {
        if (json_error_code(&e) == json_error_out_of_memory) {
            say(p, "out of memory");
            return fatal(p);
        }
        say(p, "malformed JSON at column %d: %s", e.column, e.text);
        return SD_IMPORT_REJECT;
    }
    if (!json_is_object(p->doc)) {
        say(p, "not a JSON object");
        return SD_IMPORT_REJECT;
    }
    const char *v[SD_IF_COUNT] = {NULL};
    bool ok = json_fields(p, p->doc, v) && check_ids(p, v, row) && json_amount(p, p->doc, row) &&
              check_rest(p, v, row);
    return ok ? SD_IMPORT_ROW : SD_IMPORT_REJECT;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* SD_IMPORT_NEED_MORE from here means "nothing to report, read on" (a blank line, the header). */
static enum sd_import_next record(struct sd_import_parser *p, char *s, size_t len,
                                  struct sd_import_row *row)
{
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (blank(s, len))
        return SD_IMPORT_NEED_MORE;
    memset(row, 0, sizeof *row);
    if (p->format == SD_IMPORT_NDJSON)
        return ndjson_record(p, s, len, row);
    if (!p->header_done)
        return csv_header(p, s, len);
    return csv_record(p, s, len, row);
}

static enum sd_import_next too_long_record(struct sd_import_parser *p)
{
    if (p->format == SD_IMPORT_CSV && !p->header_done) {
        say(p, "the header line is longer than 1 MiB");
        return fatal(p);
    }
    say(p, "record longer than 1 MiB");
    return SD_IMPORT_REJECT;
}

static enum sd_import_next at_end(struct sd_import_parser *p)
{
    if (p->format == SD_IMPORT_CSV && !p->header_done) {
        say(p, "the input is empty: no header line");
        return fatal(p);
    }
    return SD_IMPORT_END;
}

enum sd_import_next sd_import_parser_next(struct sd_import_parser *p, struct sd_import_row *row,
                                          long *reject_line)
{
    json_decref(p->doc); /* the previous row's strings are no longer needed */
    p->doc = NULL;
    for (;;) {
        if (p->fatal)
            return SD_IMPORT_FATAL;
        char *s = NULL;
        size_t len = 0;
        enum sd_import_next res;
        switch (scan(p, &s, &len)) {
        case SCAN_MORE:
            return p->finished ? at_end(p) : SD_IMPORT_NEED_MORE;
        case SCAN_TOO_LONG:
            res = too_long_record(p);
            break;
        case SCAN_RECORD:
        default:
            res = record(p, s, len, row);
            break;
        }
        if (res == SD_IMPORT_NEED_MORE)
            continue;
        if (res == SD_IMPORT_ROW || res == SD_IMPORT_REJECT)
            p->records++;
        if (res == SD_IMPORT_ROW)
            row->line = p->cur_line;
        if (res == SD_IMPORT_REJECT && reject_line != NULL)
            *reject_line = p->cur_line;
        return res;
    }
}
