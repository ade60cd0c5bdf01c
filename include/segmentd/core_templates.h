/* Campaign templates and the campaign vocabulary (SPEC §2 "Campaigns and webhooks"): the
 * methodology's strategy for each cell of the default matrices of both kinds, ready to become a
 * campaign, and the names a campaign's channel, trigger and re-entry rule may take.
 * Pure data and lookups (src/core/templates.c): no I/O, no allocation. Every pointer returned
 * is borrowed from static storage and lives as long as the program. */
#ifndef SEGMENTD_CORE_TEMPLATES_H
#define SEGMENTD_CORE_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

#include "segmentd/core_matrix.h"
#include "segmentd/core_policy.h"

/* Longest template id ("b2c-promising-sleeping" and the like). */
#define SD_TEMPLATE_ID_MAX 48

/* One template: a default cell of one kind and what to do with the customers who enter it. */
struct sd_campaign_template {
    const char *id;       /* "<kind>-<frequency>-<recency>", e.g. "b2c-regular-asleep" */
    enum sd_kind kind;    /* the matrix the cell belongs to */
    const char *cell;     /* a cell key of the kind's preset matrix, "regular/asleep" */
    const char *name;     /* a campaign name, 1–200 characters */
    const char *strategy; /* engagement, development, retention, reactivation or vip_care */
    const char *channel;  /* one of the channels below */
    const char *action;   /* what the bot or the person does, 1–1000 characters */
};

/* Number of templates (9 cells × 2 kinds). */
size_t sd_templates_count(void);
/* The i-th template (i < sd_templates_count()), ordered by kind (b2c first), then frequency
 * band, then recency band of the preset; NULL when out of range. */
const struct sd_campaign_template *sd_template_at(size_t i);
/* The template with this id, or NULL (NULL id too). */
const struct sd_campaign_template *sd_template_find(const char *id);

/* ---- The campaign vocabulary ---- */

/* email, sms, messenger, call, chatbot, remarketing. */
bool sd_channel_valid(const char *channel);
/* "email, sms, messenger, call, chatbot or remarketing": for error messages. */
const char *sd_channel_list(void);

enum sd_trigger_type { SD_TRIGGER_ENTER, SD_TRIGGER_SCHEDULE, SD_TRIGGER_DATE };
/* "enter", "schedule", "date". */
const char *sd_trigger_name(enum sd_trigger_type t);
/* The reverse; false for anything else (NULL included). */
bool sd_trigger_parse(const char *s, enum sd_trigger_type *out);

/* "after_exit", "once", "always". */
const char *sd_reentry_name(enum sd_reentry r);
bool sd_reentry_parse(const char *s, enum sd_reentry *out);

/* "MM-DD" (exactly two digits each) that names a day of some year: 01-31, 02-29, 04-30 …;
 * false for "02-30", "13-01", "00-10", "1-05". */
bool sd_month_day_valid(const char *s);

#endif
