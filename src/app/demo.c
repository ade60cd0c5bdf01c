/* The demo shop generator. Each customer gets a first purchase somewhere in the last two years,
 * a habit (mean gap between purchases) and a loyalty (the chance of coming back after each
 * purchase); purchases follow until they stop coming back or reach today. That yields the shape
 * real shops see: many one-time buyers, a core of regulars, and a large sleeping tail. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmentd/demo.h"
#include "segmentd/util.h"

#define DAY_US (86400 * INT64_C(1000000))

struct rng {
    uint64_t s;
};

static uint64_t next_u64(struct rng *r) /* xorshift64* */
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(2685821657736338717);
}

static double uniform(struct rng *r)
{
    return (double)(next_u64(r) >> 11) / 9007199254740992.0;
}

static double exponential(struct rng *r, double mean)
{
    return -mean * log(1.0 - uniform(r));
}

static double lognormal(struct rng *r, double median, double sigma)
{
    double u1 = uniform(r), u2 = uniform(r);
    double z = sqrt(-2.0 * log(u1 + 1e-12)) * cos(6.283185307179586 * u2);
    return median * exp(sigma * z);
}

static const char *const first_names[] = {
    "Ada",     "Alan", "Grace",    "Linus",   "Edsger", "Barbara", "Ken",  "Dennis",
    "Frances", "John", "Margaret", "Niklaus", "Radia",  "Tim",     "Vint", "Hedy"};
static const char *const last_names[] = {"Example",  "Sample", "Placeholder", "Testperson",
                                         "Fakename", "Demo",   "Mockup",      "Dummy"};
static const char *const company_words[] = {"Acme",  "Globex",   "Initech", "Umbrella",
                                            "Hooli", "Vandelay", "Stark",   "Wayne"};

struct out {
    sd_demo_write_fn write;
    void *ctx;
    char buf[64 * 1024];
    size_t len;
};

static enum sd_rc out_flush(struct out *o)
{
    enum sd_rc rc = o->len ? o->write(o->ctx, o->buf, o->len) : SD_OK;
    o->len = 0;
    return rc;
}

static enum sd_rc out_line(struct out *o, const char *line, size_t n)
{
    if (o->len + n > sizeof o->buf) {
        enum sd_rc rc = out_flush(o);
        if (rc != SD_OK)
            return rc;
    }
    memcpy(o->buf + o->len, line, n);
    o->len += n;
    return SD_OK;
}

struct persona {
    bool b2b;
    double gap_days; /* mean days between purchases */
    double loyalty;  /* chance of buying again */
    double basket;   /* median order value */
};

static void make_persona(struct rng *r, struct persona *p)
{
    p->b2b = uniform(r) < 0.15;
    double u = uniform(r);
    if (u < 0.45)
        p->loyalty = 0.25; /* one-time buyers, mostly */
    else if (u < 0.85)
        p->loyalty = 0.7;
    else
        p->loyalty = 0.93; /* the regulars */
    p->gap_days = p->b2b ? 20 + exponential(r, 60) : 10 + exponential(r, 40);
    p->basket = p->b2b ? lognormal(r, 900, 0.8) : lognormal(r, 45, 0.7);
}

static enum sd_rc customer_rows(struct out *o, struct rng *r, int64_t i, int64_t now,
                                struct sd_demo_stats *st)
{
    struct persona p;
    make_persona(r, &p);
    char name[96], phone[32], email[96], line[512];
    const char *first = first_names[next_u64(r) % 16], *last = last_names[next_u64(r) % 8];
    if (p.b2b)
        snprintf(name, sizeof name, "%s %s Ltd (demo)", company_words[next_u64(r) % 8], last);
    else
        snprintf(name, sizeof name, "%s %s", first, last);
    snprintf(phone, sizeof phone, "+1 555 01%02d %04lld", (int)(next_u64(r) % 100),
             (long long)(i % 10000));
    snprintf(email, sizeof email, "customer%06lld@%s", (long long)i,
             p.b2b ? "example.org" : "example.com");
    int64_t t = now - (int64_t)(uniform(r) * 730.0 * (double)DAY_US);
    enum sd_rc rc = SD_OK;
    for (int k = 1; rc == SD_OK && t <= now; k++) {
        char at[40];
        sd_time_format_us(t - t % 1000000, at, sizeof at);
        double amount = lognormal(r, p.basket, 0.4);
        int n = snprintf(line, sizeof line, "D%06lld-%03d,demo-%06lld,%.2f,%s,%s,%s,%s,%s\n",
                         (long long)i, k, (long long)i, amount, at, p.b2b ? "b2b" : "b2c", name,
                         phone, email);
        rc = out_line(o, line, (size_t)n);
        st->orders++;
        if (uniform(r) > p.loyalty)
            break;
        t += (int64_t)(exponential(r, p.gap_days) * (double)DAY_US) + DAY_US / 24;
    }
    return rc;
}

enum sd_rc sd_demo_generate(int64_t customers, uint64_t seed, int64_t now_us,
                            sd_demo_write_fn write, void *ctx, struct sd_demo_stats *stats)
{
    struct out *o = calloc(1, sizeof *o); /* a 64 KiB buffer: not on the stack */
    struct rng r = {seed ? seed : 0x5e9e17d};
    memset(stats, 0, sizeof *stats);
    if (o == NULL)
        return SD_ERR_NOMEM;
    o->write = write;
    o->ctx = ctx;
    static const char header[] = "order_id,customer_id,amount,purchased_at,kind,name,phone,email\n";
    enum sd_rc rc = out_line(o, header, sizeof header - 1);
    for (int64_t i = 1; rc == SD_OK && i <= customers; i++) {
        rc = customer_rows(o, &r, i, now_us, stats);
        stats->customers++;
    }
    if (rc == SD_OK)
        rc = out_flush(o);
    free(o);
    return rc;
}
