"""Delay from an order committed in the source database to its revenue in campaign_kpis_daily.

    .venv/bin/headwater demo --duration 180 &      # the pipeline under the demo's load
    .venv/bin/python bench/order_to_kpi.py --probes 40 --warmup 60

While the pipeline runs, inserts one probe order a second into the demo's source schema,
attributed to a campaign id no other order uses (so its KPI row moves only with the probes),
and polls campaign_kpis_daily every 50 ms until the row's revenue includes the probe. Prints
p50 / p99 / max of the delay; baseline: the sink's batch interval, the least it can be.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from control.stack.launcher import Stack
from headwater.postgres import verified
from headwater.settings import load_settings

CAMPAIGN = "fb-99999999"  # attributed to Facebook campaign 99999999, which no workload uses


def _revenue(warehouse: psycopg.Connection, day: str) -> Decimal:
    row = warehouse.execute(
        "SELECT revenue FROM campaign_kpis_daily "
        "WHERE date = %s AND platform = 'facebook' AND campaign_id = '99999999'",
        (day,),
    ).fetchone()
    return Decimal(row[0]) if row else Decimal(0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the first probe")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    settings = load_settings()
    environment = Stack(settings.stack).environment()
    source_dsn, warehouse_dsn = (
        environment["HEADWATER_SOURCE__DSN"],
        environment["HEADWATER_WAREHOUSE__DSN"],
    )
    time.sleep(args.warmup)
    delays: list[float] = []
    with (
        psycopg.connect(verified(source_dsn), autocommit=True) as source,
        psycopg.connect(verified(warehouse_dsn), autocommit=True) as warehouse,
    ):
        customers = sql.Identifier(args.schema, "customers")
        orders = sql.Identifier(args.schema, "orders")
        customer = source.execute(sql.SQL("SELECT min(id) FROM {}").format(customers)).fetchone()
        if not customer or customer[0] is None:
            raise SystemExit("no customers: is the demo running?")
        for n in range(args.probes):
            day = datetime.now(UTC).date().isoformat()
            before = _revenue(warehouse, day)
            amount = Decimal("10.00") + n
            order_id = 9_000_000_000 + int(time.time() * 1000) % 1_000_000_000
            committed = time.monotonic()
            source.execute(
                sql.SQL(
                    "INSERT INTO {} (id, customer_id, status, amount, currency, item_count, "
                    "priority, line_items, campaign_id, utm_source, utm_campaign, created_at, "
                    "updated_at) VALUES (%s, %s, 'paid', %s, 'EUR', 1, 1, '[]', %s, 'facebook', "
                    "'probe', now(), now())"
                ).format(orders),
                (order_id, customer[0], amount, CAMPAIGN),
            )
            while _revenue(warehouse, day) < before + amount:
                if time.monotonic() - committed > args.timeout:
                    raise SystemExit(f"probe {n} did not arrive within {args.timeout}s")
                time.sleep(0.05)
            delays.append(time.monotonic() - committed)
            time.sleep(max(0.0, 1.0 - delays[-1]))
    delays.sort()
    p99 = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
    interval = settings.sink.batch_interval_s
    print("\norder committed -> revenue in campaign_kpis_daily\n")
    print(f"{'figure':<28}{'seconds':>10}{'baseline':>10}{'ratio':>8}")
    for name, value in (("p50", statistics.median(delays)), ("p99", p99), ("max", delays[-1])):
        print(f"{name:<28}{value:>10.2f}{interval:>10.2f}{value / interval:>8.2f}")
    print(f"{'probes':<28}{len(delays):>10}")


if __name__ == "__main__":
    main()
