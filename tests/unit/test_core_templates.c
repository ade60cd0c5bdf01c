/* Pure core: the campaign templates cover every default cell of both kinds exactly once, and the
 * campaign vocabulary (channels, triggers, re-entry, month-days). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/core_templates.h"

/* Characters, not bytes (the texts are UTF-8). */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

START_TEST(test_every_default_cell_once)
{
    ck_assert_int_eq(sd_templates_count(), 18);
    for (int k = 0; k < SD_KIND_COUNT; k++) {
        struct sd_matrix m;
        sd_matrix_preset((enum sd_kind)k, &m);
        for (int f = 0; f < m.frequency.nbands; f++) {
            for (int r = 0; r < m.recency.nbands; r++) {
                char key[SD_CELL_KEY_MAX + 1];
                sd_matrix_cell_key(&m, f, r, key);
                int found = 0;
                for (size_t i = 0; i < sd_templates_count(); i++) {
                    const struct sd_campaign_template *t = sd_template_at(i);
                    found += t->kind == (enum sd_kind)k && strcmp(t->cell, key) == 0;
                }
                ck_assert_msg(found == 1, "%s %s: %d templates", sd_kind_name((enum sd_kind)k), key,
                              found);
            }
        }
    }
    ck_assert_ptr_null(sd_template_at(sd_templates_count()));
}
END_TEST

START_TEST(test_ids_unique_and_well_formed)
{
    for (size_t i = 0; i < sd_templates_count(); i++) {
        const struct sd_campaign_template *t = sd_template_at(i);
        /* "<kind>-<frequency>-<recency>" */
        char expect[SD_TEMPLATE_ID_MAX + 1];
        size_t n = strlen(sd_kind_name(t->kind));
        memcpy(expect, sd_kind_name(t->kind), n);
        expect[n++] = '-';
        for (const char *p = t->cell; *p; p++)
            expect[n++] = *p == '/' ? '-' : *p;
        expect[n] = '\0';
        ck_assert_str_eq(t->id, expect);
        ck_assert_int_le(strlen(t->id), SD_TEMPLATE_ID_MAX);
        ck_assert_ptr_eq(sd_template_find(t->id), t);
        for (size_t j = i + 1; j < sd_templates_count(); j++)
            ck_assert_str_ne(t->id, sd_template_at(j)->id);
    }
    ck_assert_ptr_null(sd_template_find("b2c-regular-nowhere"));
    ck_assert_ptr_null(sd_template_find(""));
    ck_assert_ptr_null(sd_template_find(NULL));
}
END_TEST

START_TEST(test_fields_fit_a_campaign)
{
    for (size_t i = 0; i < sd_templates_count(); i++) {
        const struct sd_campaign_template *t = sd_template_at(i);
        ck_assert_msg(sd_channel_valid(t->channel), "%s: channel %s", t->id, t->channel);
        ck_assert(chars(t->name) >= 1 && chars(t->name) <= 200);
        ck_assert(chars(t->strategy) >= 1 && chars(t->strategy) <= 1000);
        ck_assert(chars(t->action) >= 1 && chars(t->action) <= 1000);
        /* businesses are not sent SMS blasts */
        if (t->kind == SD_KIND_B2B)
            ck_assert_str_ne(t->channel, "sms");
    }
    /* the methodology's headline strategies */
    ck_assert_str_eq(sd_template_find("b2c-new-active")->strategy, "engagement");
    ck_assert_str_eq(sd_template_find("b2c-promising-sleeping")->strategy, "retention");
    ck_assert_str_eq(sd_template_find("b2c-regular-asleep")->strategy, "reactivation");
    ck_assert_str_eq(sd_template_find("b2c-regular-asleep")->channel, "call");
    ck_assert_str_eq(sd_template_find("b2b-regular-asleep")->channel, "call");
}
END_TEST

START_TEST(test_vocabulary)
{
    const char *channels[] = {"email", "sms", "messenger", "call", "chatbot", "remarketing"};
    for (size_t i = 0; i < 6; i++)
        ck_assert(sd_channel_valid(channels[i]));
    ck_assert(!sd_channel_valid("fax"));
    ck_assert(!sd_channel_valid("Email"));
    ck_assert(!sd_channel_valid(""));
    ck_assert(!sd_channel_valid(NULL));

    enum sd_trigger_type t;
    for (int i = SD_TRIGGER_ENTER; i <= SD_TRIGGER_DATE; i++) {
        ck_assert(sd_trigger_parse(sd_trigger_name((enum sd_trigger_type)i), &t));
        ck_assert_int_eq(t, i);
    }
    ck_assert(!sd_trigger_parse("leave", &t));
    ck_assert(!sd_trigger_parse(NULL, &t));

    enum sd_reentry r;
    ck_assert_str_eq(sd_reentry_name(SD_REENTRY_AFTER_EXIT), "after_exit");
    ck_assert(sd_reentry_parse("once", &r) && r == SD_REENTRY_ONCE);
    ck_assert(sd_reentry_parse("always", &r) && r == SD_REENTRY_ALWAYS);
    ck_assert(!sd_reentry_parse("never", &r));
}
END_TEST

START_TEST(test_month_day)
{
    const char *ok[] = {"01-01", "02-29", "03-08", "04-30", "12-31"};
    const char *bad[] = {"02-30", "04-31", "13-01",  "00-10", "01-00", "1-05",
                         "01-5",  "01/05", "01-05x", "",      "ab-cd"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ck_assert_msg(sd_month_day_valid(ok[i]), "%s", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!sd_month_day_valid(bad[i]), "%s", bad[i]);
    ck_assert(!sd_month_day_valid(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_templates");
    TCase *tc = tcase_create("templates");
    tcase_add_test(tc, test_every_default_cell_once);
    tcase_add_test(tc, test_ids_unique_and_well_formed);
    tcase_add_test(tc, test_fields_fit_a_campaign);
    tcase_add_test(tc, test_vocabulary);
    tcase_add_test(tc, test_month_day);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
