#!/usr/bin/env python3
"""Deterministic order history for the import, matrix and read benchmarks (stdlib only).

    gen_orders.py --orders N --customers C [--seed S] [--now UNIX] > orders.csv

Writes the CSV header order_id,customer_id,amount,purchased_at and N orders of C customers (every
customer has at least one order), sorted by purchase time as an accounting export would be.
Timestamps are whole seconds before --now (default: the current time), up to two years back.

The same seed, N and C give the same customers, orders and amounts; only the timestamps move with
--now. Orders per customer follow a long-tailed law (many one-off buyers, some regulars), and no
customer's *last* purchase lies within GUARD seconds of a recency bound of the default matrix
(30 and 90 days): for any 'now' up to GUARD after --now, every customer is in the same recency band
whoever classifies them (segmentd uses its own clock, pandas_matrix.py the one it is given), so the
two matrices must be equal cell for cell.
"""
import argparse
import random
import sys
import time

DAY = 86400
GUARD = 3600  # one hour either side of each bound
BOUNDS = (30 * DAY, 90 * DAY)
SPAN = 730 * DAY


def counts_per_customer(rng, orders, customers):
    """Long-tailed orders per customer, at least 1 each, summing to `orders` exactly."""
    extra = orders - customers
    if extra < 0:
        sys.exit("gen_orders: --orders must be at least --customers")
    weights = [rng.paretovariate(1.2) for _ in range(customers)]
    total = sum(weights)
    counts = [1 + int(extra * w / total) for w in weights]
    short = orders - sum(counts)
    while short > 0:  # spread the rounding remainder over random customers
        counts[rng.randrange(customers)] += 1
        short -= 1
    return counts


def last_offset(rng):
    """Seconds before 'now' of a customer's last purchase, away from the recency bounds."""
    while True:
        off = rng.randint(60, SPAN)
        if all(abs(off - b) > GUARD for b in BOUNDS):
            return off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--now", type=int, default=None)
    ap.add_argument("--prefix", default="c")
    a = ap.parse_args()
    now = a.now if a.now is not None else int(time.time())
    rng = random.Random(a.seed)
    counts = counts_per_customer(rng, a.orders, a.customers)
    rows = []
    oid = 0
    width = len(str(a.customers))
    for c, n in enumerate(counts, 1):
        cust = f"{a.prefix}{c:0{width}d}"
        last = last_offset(rng)
        offs = [last] + [rng.randint(last, SPAN + 30 * DAY) for _ in range(n - 1)]
        for off in offs:
            oid += 1
            cents = int(rng.lognormvariate(8.0, 1.0)) + 100  # median ~ 30.00, long tail
            rows.append((now - off, oid, cust, cents))
    rows.sort()
    out = sys.stdout
    out.write("order_id,customer_id,amount,purchased_at\n")
    fmt = time.gmtime
    buf = []
    for at, oid, cust, cents in rows:
        t = fmt(at)
        buf.append(
            f"o{oid},{cust},{cents // 100}.{cents % 100:02d},"
            f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z\n"
        )
        if len(buf) >= 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
