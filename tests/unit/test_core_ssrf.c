/* Pure core: which webhook targets are public (SPEC §3), and which URL schemes we send to. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>

#include "segmentd/core_ssrf.h"

/* Every range: its first and last address, and the neighbours just outside. */
static const struct {
    const char *addr;
    bool pub;
} v4_table[] = {
    {"0.0.0.0", false},         {"0.255.255.255", false},   {"1.0.0.0", true},
    {"9.255.255.255", true},    {"10.0.0.0", false},        {"10.255.255.255", false},
    {"11.0.0.0", true},         {"100.63.255.255", true},   {"100.64.0.0", false},
    {"100.127.255.255", false}, {"100.128.0.0", true},      {"126.255.255.255", true},
    {"127.0.0.0", false},       {"127.0.0.1", false},       {"127.255.255.255", false},
    {"128.0.0.0", true},        {"169.253.255.255", true},  {"169.254.0.0", false},
    {"169.254.169.254", false}, {"169.254.255.255", false}, {"169.255.0.0", true},
    {"172.15.255.255", true},   {"172.16.0.0", false},      {"172.31.255.255", false},
    {"172.32.0.0", true},       {"191.255.255.255", true},  {"192.0.0.0", false},
    {"192.0.0.255", false},     {"192.0.1.0", true},        {"192.0.1.255", true},
    {"192.0.2.0", false},       {"192.0.2.255", false},     {"192.0.3.0", true},
    {"192.88.98.255", true},    {"192.88.99.0", false},     {"192.88.99.255", false},
    {"192.88.100.0", true},     {"192.167.255.255", true},  {"192.168.0.0", false},
    {"192.168.255.255", false}, {"192.169.0.0", true},      {"198.17.255.255", true},
    {"198.18.0.0", false},      {"198.19.255.255", false},  {"198.20.0.0", true},
    {"198.51.99.255", true},    {"198.51.100.0", false},    {"198.51.100.255", false},
    {"198.51.101.0", true},     {"203.0.112.255", true},    {"203.0.113.0", false},
    {"203.0.113.255", false},   {"203.0.114.0", true},      {"223.255.255.255", true},
    {"224.0.0.0", false},       {"239.255.255.255", false}, {"240.0.0.0", false},
    {"255.255.255.254", false}, {"255.255.255.255", false}, {"8.8.8.8", true},
    {"1.1.1.1", true},
};

static const struct {
    const char *addr;
    bool pub;
} v6_table[] = {
    /* ::, ::1 and the rest of ::/96 */
    {"::", false},
    {"::1", false},
    {"::2", false},
    {"::8.8.8.8", false},
    {"::ffff", false},
    /* ::ffff:0:0/96, judged by the IPv4 address it carries */
    {"::ffff:0.0.0.0", false},
    {"::ffff:8.8.8.8", true},
    {"::ffff:10.0.0.1", false},
    {"::ffff:127.0.0.1", false},
    {"::ffff:169.254.169.254", false},
    {"::ffff:255.255.255.255", false},
    {"::fffe:ffff:ffff", false}, /* outside, and outside 2000::/3 */
    {"::1:0:0:0", false},
    /* 64:ff9b::/96 (NAT64) */
    {"64:ff9b::", false},
    {"64:ff9b::8.8.8.8", true},
    {"64:ff9b::192.168.1.1", false},
    {"64:ff9b::ffff:ffff", false},
    {"64:ff9b::1:0:0", false},     /* outside the /96 */
    {"64:ff9b:1::8.8.8.8", false}, /* local-use NAT64 (RFC 8215) */
    {"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false},
    /* 100::/64 */
    {"100::", false},
    {"100::ffff:ffff:ffff:ffff", false},
    {"100:0:0:1::", false},
    /* 2001::/23 */
    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"2001::", false},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, /* Teredo */
    {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"2001:200::", true},
    /* 2001:db8::/32 */
    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"2001:db8::", false},
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"2001:db9::", true},
    /* 2002::/16 (6to4), judged by the IPv4 address it carries */
    {"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"2002::", false},
    {"2002:808:808::", true},
    {"2002:a00:1::", false},
    {"2002:7f00:1::1", false},
    {"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"2003::", true},
    /* 3fff::/20 (documentation) */
    {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"3fff::", false},
    {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"3fff:1000::", true},
    /* the edges of 2000::/3 */
    {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"2000::", true},
    {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"4000::", false},
    /* fc00::/7 */
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fc00::", false},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fe00::", false},
    /* fe80::/10 and fec0::/10 */
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fe80::", false},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fec0::", false},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    /* ff00::/8 */
    {"ff00::", false},
    {"ff02::1", false},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    /* ordinary public addresses */
    {"2606:4700:4700::1111", true},
    {"2a00:1450:4007:80c::200e", true},
};

START_TEST(test_v4_table)
{
    for (size_t i = 0; i < sizeof v4_table / sizeof v4_table[0]; i++) {
        unsigned char a[4];
        ck_assert_msg(inet_pton(AF_INET, v4_table[i].addr, a) == 1, "bad test address %s",
                      v4_table[i].addr);
        ck_assert_msg(sd_addr_is_public_v4(a) == v4_table[i].pub, "%s: want %s", v4_table[i].addr,
                      v4_table[i].pub ? "public" : "not public");
    }
}
END_TEST

START_TEST(test_v6_table)
{
    for (size_t i = 0; i < sizeof v6_table / sizeof v6_table[0]; i++) {
        unsigned char a[16];
        ck_assert_msg(inet_pton(AF_INET6, v6_table[i].addr, a) == 1, "bad test address %s",
                      v6_table[i].addr);
        ck_assert_msg(sd_addr_is_public_v6(a) == v6_table[i].pub, "%s: want %s", v6_table[i].addr,
                      v6_table[i].pub ? "public" : "not public");
    }
}
END_TEST

START_TEST(test_v4_mapped_agrees_with_v4)
{
    /* Every address of the v4 table gives the same answer through each IPv6 wrapper. */
    for (size_t i = 0; i < sizeof v4_table / sizeof v4_table[0]; i++) {
        unsigned char v4[4];
        ck_assert_int_eq(inet_pton(AF_INET, v4_table[i].addr, v4), 1);
        unsigned char mapped[16] = {[10] = 0xff, [11] = 0xff};
        unsigned char nat64[16] = {0x00, 0x64, 0xff, 0x9b};
        unsigned char sixtofour[16] = {0x20, 0x02};
        for (int b = 0; b < 4; b++) {
            mapped[12 + b] = nat64[12 + b] = v4[b];
            sixtofour[2 + b] = v4[b];
        }
        sixtofour[15] = 1;
        ck_assert_msg(sd_addr_is_public_v6(mapped) == v4_table[i].pub, "::ffff:%s",
                      v4_table[i].addr);
        ck_assert_msg(sd_addr_is_public_v6(nat64) == v4_table[i].pub, "64:ff9b::%s",
                      v4_table[i].addr);
        ck_assert_msg(sd_addr_is_public_v6(sixtofour) == v4_table[i].pub, "2002: %s",
                      v4_table[i].addr);
    }
}
END_TEST

static const struct {
    const char *url;
    bool ok;
} url_table[] = {
    {"http://example.org", true},
    {"https://example.org/hooks/segmentd", true},
    {"HTTPS://Example.org/", true},
    {"HtTp://example.org?x=1", true},
    {"https://example.org:8443/x", true},
    {"https://user:pass@example.org/x", true},
    {"http://127.0.0.1:8080/", true}, /* the scheme is fine; the address is judged elsewhere */
    {"http://[::1]:8080/", true},
    {"http://[2001:db8::1]", true},
    {"http://a", true},
    {"http://", false},
    {"https://", false},
    {"http:///path", false},
    {"http://?q", false},
    {"http://#f", false},
    {"http://:80/", false},
    {"http://user@/", false},
    {"http://user@:80", false},
    {"http://[]/", false},
    {"http://[::1/", false},
    {"http://[::1]x/", false},
    {"http:/example.org", false},
    {"http:example.org", false},
    {"ftp://example.org", false},
    {"file:///etc/passwd", false},
    {"gopher://example.org", false},
    {"httpx://example.org", false},
    {"//example.org", false},
    {"example.org", false},
    {"", false},
    {" http://example.org", false},
    {"http://exa mple.org", false},
    {"http://example.org/\r\nX: y", false},
    {"http://example.org\t", false},
};

START_TEST(test_url_scheme)
{
    for (size_t i = 0; i < sizeof url_table / sizeof url_table[0]; i++)
        ck_assert_msg(sd_url_scheme_allowed(url_table[i].url) == url_table[i].ok, "\"%s\": want %s",
                      url_table[i].url, url_table[i].ok ? "allowed" : "refused");
    ck_assert(!sd_url_scheme_allowed(NULL));
}
END_TEST

static Suite *core_ssrf_suite(void)
{
    Suite *s = suite_create("core_ssrf");
    TCase *tc = tcase_create("ssrf");
    tcase_add_test(tc, test_v4_table);
    tcase_add_test(tc, test_v6_table);
    tcase_add_test(tc, test_v4_mapped_agrees_with_v4);
    tcase_add_test(tc, test_url_scheme);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_ssrf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
