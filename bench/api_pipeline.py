"""API pollers, normalization and warehouse landing: rows per second, on the local stack.

    make stack-up && .venv/bin/python bench/api_pipeline.py [--days 30]

For each sandbox API (3 accounts x --days days x 200 ads per ad platform; ~3,500 CleverTap
events a day): the rate of the bare client (fetching only: the baseline), then the rate of
the poller (fetch + envelope + Kafka acknowledgement) and its ratio to the baseline. Then
`headwater process` and the two table sinks start on the raw topics, and the rate at which
rows land in the warehouse is measured, with its ratio to the pollers' combined rate, and
the peak resident memory of the processor and the two sinks.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.services import BenchService
from control.stack.launcher import Stack
from headwater.postgres import verified
from headwater.settings import Settings, load_settings
from headwater.topology import API_SOURCES
from producers.base import Window
from producers.poller import Poller
from producers.registry import build_source
from sandbox.apis import SandboxApis, sandbox_apis

DAILY_EVENTS = {"App Installed": 800, "App Launched": 1800, "Sign Up": 500, "Charged": 420}


def _settings(environment: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.update(environment)
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _count(dsn: str, sql: str, parameter: object) -> int:
    with psycopg.connect(verified(dsn)) as warehouse:
        row = warehouse.execute(sql, (parameter,)).fetchone()
    return int(row[0]) if row else 0


def run_apis(base: Settings, tag: str, digit: str, clevertap: str) -> SandboxApis:
    """The sandbox APIs with accounts of this run only (3 per source; 200 ads per ad platform
    account), on free ports; ``digit`` and ``clevertap`` keep benchmarks' accounts apart."""
    number = int(tag, 16) % 10**8
    return sandbox_apis(
        base.sandbox.model_copy(
            update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
        ),
        ads_per_adset=10,
        adsets_per_campaign=4,
        ad_groups_per_campaign=40,
        daily_events=DAILY_EVENTS,
        facebook_accounts=[f"act_{digit}{number:08d}{n}" for n in range(3)],
        google_customers=[f"{digit}{number:08d}{n}" for n in range(3)],
        clevertap_account=f"{clevertap}-{tag[:3]}-{tag[3:7]}".upper(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    base = load_settings()
    stack_env = Stack(base.stack).environment()
    apis = run_apis(base, tag, digit="9", clevertap="BEN")
    today = datetime.now(UTC).date()
    window = Window(today - timedelta(days=args.days - 1), today)
    results: list[tuple[str, int, float, float]] = []
    with apis:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env |= (
            stack_env
            | apis.environment()
            | {
                "HEADWATER_POLLER__STATE_TOPIC": f"bench.poller_state.{tag}",
                "HEADWATER_CLEVERTAP__EVENTS": json.dumps(list(DAILY_EVENTS)),
                "HEADWATER_PROCESSOR__APP_ID": f"bench-api-processor-{tag}",
                "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": secrets.token_hex(16),
            }
        )
        settings = _settings(env)
        total_rows = 0
        started_all = time.monotonic()
        for entry in API_SOURCES:
            name = entry.name
            source = build_source(entry, settings)
            started = time.monotonic()
            fetched = sum(1 for account in source.accounts() for _ in source.fetch(account, window))
            client_rate = fetched / (time.monotonic() - started)
            poller = Poller(build_source(entry, settings), settings, today=lambda: today)
            poller.prepare()
            started = time.monotonic()
            report = poller.run_once(window)
            published = sum(report.published.values())
            results.append((name, published, published / (time.monotonic() - started), client_rate))
            total_rows += published
        pull_rate = total_rows / (time.monotonic() - started_all)

        logs = Path(tempfile.mkdtemp(prefix="headwater-bench-api-"))
        warehouse = stack_env["HEADWATER_WAREHOUSE__DSN"]
        ads_accounts = [a.removeprefix("act_") for a in apis.facebook_accounts]
        ads_accounts += apis.google_customers
        services = [
            BenchService("processor", ["process"], env, logs),
            BenchService(
                "ads", ["sink", "ad-performance", "--group-id", f"bench-ads-{tag}"], env, logs
            ),
            BenchService(
                "events", ["sink", "app-events", "--group-id", f"bench-ev-{tag}"], env, logs
            ),
        ]
        started = time.monotonic()
        for service in services:
            service.start()
        try:
            while True:
                landed = _count(
                    warehouse,
                    "SELECT count(*) FROM ad_performance_daily WHERE account_id = ANY(%s)",
                    ads_accounts,
                ) + _count(
                    warehouse,
                    "SELECT count(*) FROM app_events WHERE account_id = %s",
                    apis.clevertap.account_id,
                )
                if landed >= total_rows or time.monotonic() - started > 1800:
                    break
                time.sleep(1)
            land_seconds = time.monotonic() - started
        finally:
            peaks = {service.name: service.peak_memory() for service in services}
            for service in services:
                service.stop()
            with psycopg.connect(verified(warehouse), autocommit=True) as connection:
                connection.execute(
                    "DELETE FROM ad_performance_daily WHERE account_id = ANY(%s)", (ads_accounts,)
                )
                connection.execute(
                    "DELETE FROM app_events WHERE account_id = %s", (apis.clevertap.account_id,)
                )
    print(f"\nAPI pipeline benchmark ({args.days} days; 3 accounts x 200 ads per ad platform)\n")
    print(f"{'stage':<44}{'rows':>10}{'rows/s':>12}{'baseline':>12}{'ratio':>8}")
    for name, rows, rate, client_rate in results:
        print(
            f"{'poll ' + name + ' (vs bare client)':<44}{rows:>10}{rate:>12.0f}"
            f"{client_rate:>12.0f}{rate / client_rate:>8.2f}"
        )
    land_rate = landed / land_seconds
    print(
        f"{'normalize + land in the warehouse (vs pull)':<44}{landed:>10}{land_rate:>12.0f}"
        f"{pull_rate:>12.0f}{land_rate / pull_rate:>8.2f}"
    )
    for name, peak in peaks.items():  # deploy/kubernetes/README.md: the memory requests
        print(f"{'peak RSS (VmHWM) of ' + name:<44}{peak / 2**20:>10.1f} MiB")


if __name__ == "__main__":
    main()
