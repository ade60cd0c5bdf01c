#!/usr/bin/python3
"""The lifecycle matrix of an order CSV, the idiomatic pandas way (the import benchmark's yardstick).

    pandas_matrix.py FILE [--now UNIX] [--json OUT]

Default b2c matrix (SPEC §1): frequency bounds [1, 3] (new = 1, promising = 2-3, regular = 4+),
recency bounds [30d, 90d) from 'now' (active < 30 days, sleeping 30-89 days, asleep >= 90 days).
Prints the 3x3 crosstab of customers (and revenue) and, with --json, writes
{"cells": {"new/active": {"customers": N, "revenue_cents": R}, ...}, "customers": N, "seconds": S}.
Run with Debian's python3-pandas (/usr/bin/python3).
"""
import argparse
import json
import time

T0 = time.monotonic()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FREQ = ["new", "promising", "regular"]
REC = ["active", "sleeping", "asleep"]
DAY = pd.Timedelta(days=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--now", type=int, help="reference time, Unix seconds (default: now)")
    ap.add_argument("--json", help="write the cells here")
    a = ap.parse_args()
    now = pd.Timestamp(a.now if a.now is not None else time.time(), unit="s", tz="UTC")

    orders = pd.read_csv(a.file, parse_dates=["purchased_at"])
    customers = orders.groupby("customer_id").agg(
        purchases=("order_id", "size"),
        revenue=("amount", "sum"),
        last_purchase_at=("purchased_at", "max"),
    )
    customers["frequency"] = pd.cut(customers["purchases"], bins=[0, 1, 3, np.inf], labels=FREQ)
    customers["recency"] = pd.cut(
        now - customers["last_purchase_at"],
        bins=[pd.Timedelta.min, 30 * DAY, 90 * DAY, pd.Timedelta.max],
        labels=REC,
        right=False,
    )
    matrix = pd.crosstab(customers["frequency"], customers["recency"])
    revenue = pd.crosstab(
        customers["frequency"], customers["recency"], values=customers["revenue"], aggfunc="sum"
    )
    seconds = time.monotonic() - T0

    print(matrix.to_string())
    print(f"{len(customers)} customers, {len(orders)} orders, {seconds:.2f} s")
    if a.json:
        cells = {}
        for f in FREQ:
            for r in REC:
                n = int(matrix.at[f, r]) if f in matrix.index and r in matrix.columns else 0
                rev = revenue.at[f, r] if n else 0.0
                cells[f"{f}/{r}"] = {"customers": n, "revenue_cents": int(round(rev * 100))}
        with open(a.json, "w") as out:
            json.dump({"cells": cells, "customers": len(customers), "seconds": seconds}, out)


if __name__ == "__main__":
    main()
