"""An independent reference for campaign_kpis_daily: the KPIs computed in SQL over the
warehouse base tables (ad_performance_daily, app_events and the orders mirror), to the cent.

Events erased by ``headwater forget`` still count: the KPIs are aggregates and keep them, and
the erasure left their tally (day, campaign, event name, count; no person) in
``headwater.privacy_erased_events``, which the reference adds to app_events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from headwater.settings import KpiSettings

KPI_COLUMNS = (
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "installs",
    "signups",
    "purchases",
    "orders",
    "revenue",
)


def _reference_sql(orders_mirror: str, kpis: KpiSettings, erased: bool) -> str:
    rates = ", ".join(f"('{code}', {Decimal(rate)})" for code, rate in kpis.rates.items())
    platforms = " ".join(
        f"WHEN '{prefix}' THEN '{platform}'" for prefix, platform in kpis.campaign_prefixes.items()
    )
    attributed = f"CASE split_part(campaign_id, '-', 1) {platforms} END"
    uncounted = ", ".join(f"'{status}'" for status in kpis.uncounted_statuses)
    events = "SELECT occurred_at, campaign_id, event_name, 1 AS n FROM app_events"
    if erased:
        events += (
            " UNION ALL SELECT date::timestamp AT TIME ZONE 'UTC', campaign_id, event_name, events "
            "FROM headwater.privacy_erased_events"
        )
    return f"""
    WITH rates(currency, rate) AS (VALUES {rates}),
    ads AS (
        SELECT date, platform, campaign_id, sum(impressions) AS impressions,
               sum(clicks) AS clicks, sum(spend * r.rate) AS spend, sum(conversions) AS conversions
        FROM ad_performance_daily a JOIN rates r USING (currency) GROUP BY 1, 2, 3),
    events AS (
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS date, {attributed} AS platform,
               substr(campaign_id, strpos(campaign_id, '-') + 1) AS campaign_id,
               coalesce(sum(n) FILTER (WHERE event_name = '{kpis.install_event}'), 0) AS installs,
               coalesce(sum(n) FILTER (WHERE event_name = '{kpis.signup_event}'), 0) AS signups,
               coalesce(sum(n) FILTER (WHERE event_name = '{kpis.purchase_event}'), 0)
                 AS purchases
        FROM ({events}) AS e WHERE {attributed} IS NOT NULL GROUP BY 1, 2, 3),
    orders AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS date, {attributed} AS platform,
               substr(campaign_id, strpos(campaign_id, '-') + 1) AS campaign_id,
               count(*) FILTER (WHERE status NOT IN ({uncounted})) AS orders,
               coalesce(sum(amount * r.rate) FILTER (WHERE status NOT IN ({uncounted})), 0)
                 AS revenue
        FROM {orders_mirror} o JOIN rates r USING (currency)
        WHERE {attributed} IS NOT NULL GROUP BY 1, 2, 3)
    SELECT date::text, platform, campaign_id,
           coalesce(ads.impressions, 0), coalesce(ads.clicks, 0),
           round(coalesce(ads.spend, 0), 2), coalesce(ads.conversions, 0),
           coalesce(events.installs, 0), coalesce(events.signups, 0),
           coalesce(events.purchases, 0), coalesce(orders.orders, 0),
           round(coalesce(orders.revenue, 0), 2)
    FROM ads FULL JOIN events USING (date, platform, campaign_id)
             FULL JOIN orders USING (date, platform, campaign_id)
    """


def _rows(dsn: str, sql: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    with psycopg.connect(dsn) as warehouse:
        return {
            (row[0], row[1], row[2]): tuple(Decimal(v) for v in row[3:])
            for row in warehouse.execute(sql).fetchall()  # type: ignore[arg-type]
        }


def _kpis(dsn: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    return _rows(
        dsn,
        "SELECT date::text, platform, campaign_id, impressions, clicks, round(spend, 2), "
        "conversions, installs, signups, purchases, orders, round(revenue, 2) "
        "FROM campaign_kpis_daily",
    )


def kpi_differences(
    warehouse_dsn: str,
    orders_mirror: str,
    campaigns: set[str] | None = None,
    with_erased: bool = True,
) -> list[str]:
    """Every KPI row that differs from the reference, and every one the reference lacks
    (of ``campaigns`` only, when given; ``with_erased=False``: as if nothing was erased)."""
    with psycopg.connect(warehouse_dsn) as warehouse:
        row = warehouse.execute("SELECT to_regclass('headwater.privacy_erased_events')").fetchone()
    erased = with_erased and row is not None and row[0] is not None
    reference = _rows(warehouse_dsn, _reference_sql(orders_mirror, KpiSettings(), erased))
    actual = _kpis(warehouse_dsn)
    if campaigns is not None:
        reference = {k: v for k, v in reference.items() if k[2] in campaigns}
        actual = {k: v for k, v in actual.items() if k[2] in campaigns}
    zero = tuple(Decimal(0) for _ in KPI_COLUMNS)
    problems = [
        f"{key}: kpis {actual.get(key)} != reference {expected}"
        for key, expected in reference.items()
        if actual.get(key, zero) != expected
    ]
    problems += [
        f"{key}: kpis {values} has no reference"
        for key, values in actual.items()
        if key not in reference and values != zero
    ]
    return problems
