"""The sandboxes' ground truth of ad figures, and the same totals read from the warehouse."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg

from sandbox.apis import SandboxApis

Totals = dict[tuple[str, str, str], tuple[int, int, Decimal, Decimal]]


def truth_ad_totals(apis: SandboxApis, days: list[date]) -> Totals:
    """Per (platform, date, campaign): impressions, clicks, spend, conversions, as served."""
    totals: dict[tuple[str, str, str], list[Any]] = defaultdict(
        lambda: [0, 0, Decimal(0), Decimal(0)]
    )
    for day in days:
        for account in apis.facebook_accounts:
            for row in apis.facebook.truth(account, day):
                entry = totals[("facebook", day.isoformat(), row["campaign_id"])]
                entry[0] += int(row["impressions"])
                entry[1] += int(row["clicks"])
                entry[2] += Decimal(row["spend"])
                entry[3] += sum(
                    (
                        Decimal(a["value"])
                        for a in row.get("actions", [])
                        if a["action_type"] == "purchase"
                    ),
                    Decimal(0),
                )
        for customer in apis.google_customers:
            for row in apis.google_ads.truth(customer, day):
                metrics = row.get("metrics", {})
                entry = totals[("google_ads", day.isoformat(), row["campaign"]["id"])]
                entry[0] += int(metrics.get("impressions", 0))
                entry[1] += int(metrics.get("clicks", 0))
                entry[2] += Decimal(metrics.get("costMicros", 0)) / 1_000_000
                entry[3] += Decimal(str(metrics.get("conversions", 0)))
    return {k: (v[0], v[1], v[2].normalize(), v[3].normalize()) for k, v in totals.items()}


def warehouse_ad_totals(dsn: str, apis: SandboxApis, since: date) -> Totals:
    """The same totals from ad_performance_daily, for the sandboxes' accounts only."""
    accounts = [a.removeprefix("act_") for a in apis.facebook_accounts] + apis.google_customers
    with psycopg.connect(dsn) as warehouse:
        rows = warehouse.execute(
            "SELECT platform, date::text, campaign_id, sum(impressions), sum(clicks), "
            "sum(spend), sum(conversions) FROM ad_performance_daily "
            "WHERE account_id = ANY(%s) AND date >= %s GROUP BY 1, 2, 3",
            (accounts, since),
        ).fetchall()
    return {
        (p, d, c): (int(i), int(k), Decimal(s).normalize(), Decimal(v).normalize())
        for p, d, c, i, k, s, v in rows
    }
