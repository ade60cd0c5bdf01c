/* Campaign templates: the methodology's strategy for every cell of the default matrices. Private
 * persons (b2c) are reached by e-mail, messengers and remarketing, and called only when a good
 * customer is slipping away; businesses (b2b) are worked by their account manager, by call and
 * e-mail, never by SMS blasts. */
#include <string.h>

#include "segmentd/core_templates.h"

static const struct sd_campaign_template templates[] = {
    /* ---- b2c ---- */
    {"b2c-new-active", SD_KIND_B2C, "new/active", "Welcome new customers", "engagement", "email",
     "Welcome e-mail right after the first purchase: help with the product (how to use it, "
     "care tips), how to reach support, and an invitation to start the relationship: subscribe, "
     "follow the shop, leave a review."},
    {"b2c-new-sleeping", SD_KIND_B2C, "new/sleeping", "Second purchase for new customers",
     "engagement", "email",
     "E-mail asking how the first purchase went, with products that go with it and a small "
     "discount on the second order, valid for two weeks."},
    {"b2c-new-asleep", SD_KIND_B2C, "new/asleep", "Remind one-time buyers", "reactivation",
     "remarketing",
     "Low-cost reminder: add to the remarketing audience with bestsellers and new arrivals; one "
     "last e-mail asking what stopped them from buying again."},
    {"b2c-promising-active", SD_KIND_B2C, "promising/active", "Grow promising customers",
     "development", "email",
     "Cross-sell: recommendations built from their purchases, and an invitation to the loyalty "
     "programme with points for the next order."},
    {"b2c-promising-sleeping", SD_KIND_B2C, "promising/sleeping",
     "Keep promising customers from falling asleep", "retention", "email",
     "Personal e-mail with recommendations, a reminder of their loyalty programme points and a "
     "time-limited offer."},
    {"b2c-promising-asleep", SD_KIND_B2C, "promising/asleep", "Bring back promising customers",
     "reactivation", "messenger",
     "Personal message with what is new since their last order and a time-limited win-back "
     "offer; ask for feedback if they do not come back."},
    {"b2c-regular-active", SD_KIND_B2C, "regular/active", "VIP care for regulars", "vip_care",
     "email",
     "VIP care: personal thanks, a higher loyalty tier, early access to new collections and "
     "priority support."},
    {"b2c-regular-sleeping", SD_KIND_B2C, "regular/sleeping", "Hold on to regulars", "retention",
     "messenger",
     "Personal message from the shop: new products picked for them and a loyalty bonus that "
     "expires soon."},
    {"b2c-regular-asleep", SD_KIND_B2C, "regular/asleep", "Win back lost regulars", "reactivation",
     "call",
     "A call from the shop: find out why they stopped buying, solve the problem, and make a "
     "personal win-back offer."},

    /* ---- b2b ---- */
    {"b2b-new-active", SD_KIND_B2B, "new/active", "Onboard new business customers", "engagement",
     "call",
     "Account manager call after the first order: help with ordering, documents and delivery, "
     "learn the customer's needs and agree on the next order."},
    {"b2b-new-sleeping", SD_KIND_B2B, "new/sleeping", "Second order from new business customers",
     "engagement", "email",
     "E-mail from the account manager: the catalogue for their line of business and the terms "
     "for repeat orders (prices, payment delay, delivery)."},
    {"b2b-new-asleep", SD_KIND_B2B, "new/asleep", "Revive one-order business customers",
     "reactivation", "call",
     "Account manager call: feedback on the first order, what went wrong, and trial terms for a "
     "new order."},
    {"b2b-promising-active", SD_KIND_B2B, "promising/active", "Develop promising accounts",
     "development", "call",
     "Account manager: cross-sell related product lines, offer a volume discount and a supply "
     "contract."},
    {"b2b-promising-sleeping", SD_KIND_B2B, "promising/sleeping", "Retain promising accounts",
     "retention", "email",
     "Personal commercial offer from the account manager, tailored to past orders, with a "
     "time-limited volume discount."},
    {"b2b-promising-asleep", SD_KIND_B2B, "promising/asleep", "Win back promising accounts",
     "reactivation", "call",
     "Account manager call: find out whether they changed supplier and why, and make a win-back "
     "commercial proposal."},
    {"b2b-regular-active", SD_KIND_B2B, "regular/active", "Key account care", "vip_care", "call",
     "Key account care: a dedicated manager, priority service, regular business reviews and an "
     "annual agreement with better terms."},
    {"b2b-regular-sleeping", SD_KIND_B2B, "regular/sleeping", "Keep key accounts ordering",
     "retention", "call",
     "Account manager call: check stock and upcoming needs, remind them of the contract terms, "
     "and offer a reorder with a bonus."},
    {"b2b-regular-asleep", SD_KIND_B2B, "regular/asleep", "Win back lost key accounts",
     "reactivation", "call",
     "Call and meeting with a senior manager: find out why they left, fix the cause, and make a "
     "win-back commercial proposal."},
};

#define TEMPLATE_COUNT (sizeof templates / sizeof templates[0])

size_t sd_templates_count(void)
{
    return TEMPLATE_COUNT;
}

const struct sd_campaign_template *sd_template_at(size_t i)
{
    return i < TEMPLATE_COUNT ? &templates[i] : NULL;
}

const struct sd_campaign_template *sd_template_find(const char *id)
{
    for (size_t i = 0; id != NULL && i < TEMPLATE_COUNT; i++) {
        if (strcmp(templates[i].id, id) == 0)
            return &templates[i];
    }
    return NULL;
}

/* ---- vocabulary ---- */

static const char *const channels[] = {"email", "sms",     "messenger",
                                       "call",  "chatbot", "remarketing"};

bool sd_channel_valid(const char *channel)
{
    for (size_t i = 0; channel != NULL && i < sizeof channels / sizeof channels[0]; i++) {
        if (strcmp(channel, channels[i]) == 0)
            return true;
    }
    return false;
}

const char *sd_channel_list(void)
{
    return "email, sms, messenger, call, chatbot or remarketing";
}

static const char *const trigger_names[] = {"enter", "schedule", "date"};

const char *sd_trigger_name(enum sd_trigger_type t)
{
    return (unsigned)t < sizeof trigger_names / sizeof trigger_names[0] ? trigger_names[t]
                                                                        : "enter";
}

bool sd_trigger_parse(const char *s, enum sd_trigger_type *out)
{
    for (size_t i = 0; s != NULL && i < sizeof trigger_names / sizeof trigger_names[0]; i++) {
        if (strcmp(s, trigger_names[i]) == 0) {
            *out = (enum sd_trigger_type)i;
            return true;
        }
    }
    return false;
}

/* In enum sd_reentry's order. */
static const char *const reentry_names[] = {"after_exit", "once", "always"};

const char *sd_reentry_name(enum sd_reentry r)
{
    return (unsigned)r < sizeof reentry_names / sizeof reentry_names[0] ? reentry_names[r]
                                                                        : "after_exit";
}

bool sd_reentry_parse(const char *s, enum sd_reentry *out)
{
    for (size_t i = 0; s != NULL && i < sizeof reentry_names / sizeof reentry_names[0]; i++) {
        if (strcmp(s, reentry_names[i]) == 0) {
            *out = (enum sd_reentry)i;
            return true;
        }
    }
    return false;
}

static bool two_digits(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

bool sd_month_day_valid(const char *s)
{
    /* February has 29 days: a birthday or an occasion on 29 February exists in leap years. */
    static const int days_in_month[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int month, day;
    if (s == NULL || strlen(s) != 5 || s[2] != '-' || !two_digits(s, &month) ||
        !two_digits(s + 3, &day))
        return false;
    return month >= 1 && month <= 12 && day >= 1 && day <= days_in_month[month - 1];
}
