/* Reading bulk history (POST /v1/imports, `segmentd import FILE`): CSV exports from accounting
 * systems and NDJSON, one record at a time from a byte stream, each validated into a row ready
 * for COPY or rejected with its line number and reason. No I/O of its own: the caller feeds
 * bytes; no database. */
#ifndef SEGMENTD_IMPORT_PARSE_H
#define SEGMENTD_IMPORT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segmentd/rc.h"

enum sd_import_format { SD_IMPORT_CSV, SD_IMPORT_NDJSON };

/* Which CSV header names the columns carry (?map=order_id:Номер,customer_id:Телефон,…).
 * NULL = the default name (order_id, customer_id, amount, purchased_at, kind, name, phone,
 * email, birthday). */
enum sd_import_field {
    SD_IF_ORDER_ID,
    SD_IF_CUSTOMER_ID,
    SD_IF_AMOUNT,
    SD_IF_PURCHASED_AT,
    SD_IF_KIND,
    SD_IF_NAME,
    SD_IF_PHONE,
    SD_IF_EMAIL,
    SD_IF_BIRTHDAY,
    SD_IF_COUNT
};

struct sd_import_options {
    enum sd_import_format format;
    const char *map[SD_IF_COUNT]; /* header name per field, or NULL */
};

/* Parses "order_id:Номер,customer_id:Телефон" into opts->map (pointers into `buf`, a copy of
 * `text` the caller keeps alive). False with a message for an unknown field name or bad shape. */
bool sd_import_parse_map(const char *text, char *buf, size_t buflen, struct sd_import_options *opts,
                         char *err, size_t errlen);

/* One valid record. Strings point into the parser (valid until the next call); NULL = absent.
 * Time: either `purchased_at_us` (an RFC 3339 time with its offset) or, for DD.MM.YYYY[ HH:MM[:SS]]
 * dates, `local_time` ("YYYY-MM-DD HH:MM:SS", to be read in the import's time zone). */
struct sd_import_row {
    long line; /* 1-based line where the record starts */
    const char *order_id, *customer_id, *kind, *name, *phone, *email, *birthday;
    int64_t amount_cents;
    bool has_offset;
    int64_t purchased_at_us;
    char local_time[20];
};

struct sd_import_parser;

/* Creates a parser. */
struct sd_import_parser *sd_import_parser_new(const struct sd_import_options *opts);
void sd_import_parser_free(struct sd_import_parser *p);

/* Feeds bytes (any split: a record, a UTF-8 character or a CRLF may straddle two calls). */
enum sd_rc sd_import_parser_feed(struct sd_import_parser *p, const char *data,
                                 size_t len) SD_MUST_CHECK;
/* Marks the end of input (a last line without a newline is a record). */
void sd_import_parser_finish(struct sd_import_parser *p);

enum sd_import_next {
    SD_IMPORT_ROW,       /* *row is a valid record */
    SD_IMPORT_REJECT,    /* a bad record: *reject_line and reject_reason() tell which and why */
    SD_IMPORT_NEED_MORE, /* feed more bytes (or finish) */
    SD_IMPORT_END,       /* finished and drained */
    SD_IMPORT_FATAL      /* the input cannot be read at all (e.g. a CSV header lacks a required
                            column, or is not UTF-8): reject_reason() says why; stop */
};

/* The next record. */
enum sd_import_next sd_import_parser_next(struct sd_import_parser *p, struct sd_import_row *row,
                                          long *reject_line);
const char *sd_import_parser_reason(const struct sd_import_parser *p);
/* Records seen so far (valid + rejected). */
long sd_import_parser_records(const struct sd_import_parser *p);

/* Amounts as exports write them: "1 234,56", "1234.5", "1,234.56", "1.234,56", NBSP or narrow
 * NBSP as thousands separators → cents; ≥ 0, at most 2 decimals. */
bool sd_import_amount(const char *s, int64_t *cents);
/* "DD.MM.YYYY", "DD.MM.YYYY HH:MM", "DD.MM.YYYY HH:MM:SS" → "YYYY-MM-DD HH:MM:SS". */
bool sd_import_local_date(const char *s, char out[20]);

#endif
