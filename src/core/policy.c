/* Contact policy and campaign decisions (SPEC §2): who may be sent what, and when. */
#include "segmentd/core_policy.h"

#define MS_PER_MINUTE INT64_C(60000)
#define MS_PER_DAY (1440 * MS_PER_MINUTE)
#define MINUTES_PER_DAY 1440

bool sd_limit_allows(const struct sd_limit *l, const int64_t *sent_at_ms, size_t nsent,
                     int64_t now_ms)
{
    if (l->count <= 0)
        return true;
    if (l->per_ms <= 0)
        return true; /* an empty window holds nothing */
    size_t in_window = 0;
    for (size_t i = 0; i < nsent; i++) {
        int64_t t = sent_at_ms[i];
        /* t <= now, so the unsigned difference is exact even where the signed one overflows. */
        if (t <= now_ms && (uint64_t)now_ms - (uint64_t)t < (uint64_t)l->per_ms)
            in_window++;
    }
    return in_window < (size_t)l->count;
}

static bool minute_valid(int m)
{
    return m >= 0 && m < MINUTES_PER_DAY;
}

int64_t sd_quiet_hours_release(const struct sd_quiet_hours *q, int64_t now_ms, int utc_offset_s)
{
    if (!q->enabled || q->from_min == q->to_min || !minute_valid(q->from_min) ||
        !minute_valid(q->to_min))
        return 0;
    int64_t offset_ms = (int64_t)utc_offset_s * 1000;
    int64_t local = now_ms + offset_ms;
    int64_t tod = local % MS_PER_DAY; /* ms since local midnight */
    if (tod < 0)
        tod += MS_PER_DAY;
    int64_t from = q->from_min * MS_PER_MINUTE;
    int64_t to = q->to_min * MS_PER_MINUTE;
    int64_t midnight = local - tod;
    int64_t end_local;
    if (from < to) {
        if (tod < from || tod >= to)
            return 0;
        end_local = midnight + to;
    } else if (tod >= from) {
        end_local = midnight + MS_PER_DAY + to; /* the evening part: ends tomorrow */
    } else if (tod < to) {
        end_local = midnight + to; /* the morning part: ends today */
    } else {
        return 0;
    }
    return end_local - offset_ms;
}

bool sd_parse_hhmm(const char *s, int *minutes)
{
    for (int i = 0; i < 5; i++) {
        bool ok = i == 2 ? s[i] == ':' : s[i] >= '0' && s[i] <= '9';
        if (!ok)
            return false;
    }
    if (s[5] != '\0')
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *minutes = h * 60 + m;
    return true;
}

bool sd_campaign_is_entry(bool from_in_campaign_cells, bool to_in_campaign_cells)
{
    return !from_in_campaign_cells && to_in_campaign_cells;
}

bool sd_reentry_allows(enum sd_reentry r, bool ever_sent, bool left_cells_since_last_send)
{
    switch (r) {
    case SD_REENTRY_AFTER_EXIT:
        return !ever_sent || left_cells_since_last_send;
    case SD_REENTRY_ONCE:
        return !ever_sent;
    case SD_REENTRY_ALWAYS:
        return true;
    }
    return false;
}

static enum sd_send_decision decide(const struct sd_send_inputs *in, int64_t *at)
{
    *at = 0;
    if (in->opted_out)
        return SD_SUPPRESS_OPTED_OUT;
    if (!in->still_in_campaign_cells)
        return SD_SUPPRESS_LEFT_CELLS;
    if (!sd_limit_allows(&in->campaign_limit, in->campaign_sent_at_ms, in->campaign_nsent,
                         in->now_ms) ||
        !sd_limit_allows(&in->workspace_limit, in->workspace_sent_at_ms, in->workspace_nsent,
                         in->now_ms))
        return SD_SUPPRESS_MAX_MESSAGES;
    int64_t release = sd_quiet_hours_release(&in->quiet, in->now_ms, in->utc_offset_s);
    if (release != 0) {
        *at = release;
        return SD_SEND_LATER;
    }
    *at = in->now_ms;
    return SD_SEND_NOW;
}

enum sd_send_decision sd_decide_send(const struct sd_send_inputs *in, int64_t *send_at_ms)
{
    int64_t at;
    enum sd_send_decision d = decide(in, &at);
    if (send_at_ms != NULL)
        *send_at_ms = at;
    return d;
}
