"""Campaign KPIs end to end: the whole pipeline against the sandbox APIs and the workload.

Every campaign_kpis_daily row is checked against KPIs computed independently here, in SQL
over the warehouse base tables (ad_performance_daily, app_events, the orders mirror; the
first two are checked against the sandboxes' ground truth by test_api_pipeline), equal to
the cent: after the first run; after the Faust worker was killed and restarted; and after a
restatement, late CleverTap events, an order cancelled and one deleted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from headwater.settings import Settings
from sandbox.apis import SandboxApis, sandbox_apis
from sandbox.workload import run_workload
from stream_processors.kpis.contributions import contributions_topic
from tests.conftest import wait_for
from tests.support.cdc import Pipeline, cdc_pipeline
from tests.support.kpi_reference import kpi_differences
from tests.support.progress import group_caught_up, sink_caught_up
from tests.support.services import Service, headwater
from tests.support.truth import truth_ad_totals, warehouse_ad_totals

BACKFILL_DAYS = 6


class KpiPipeline:
    """The CDC pipeline plus the sandbox APIs, pollers, processor and every sink."""

    def __init__(self, cdc: Pipeline, apis: SandboxApis, logs: Path) -> None:
        self.cdc = cdc
        self.apis = apis
        self.orders_mirror = f'"{cdc.schema}".src_orders'
        tag = uuid.uuid4().hex[:8]
        self.env = (
            cdc.env
            | apis.environment()
            | {
                "HEADWATER_KPIS__ORDERS_TABLE": f"{cdc.schema}.orders",
                "HEADWATER_POLLER__BACKFILL_DAYS": str(BACKFILL_DAYS),
                "HEADWATER_POLLER__STATE_TOPIC": f"e2e.poller_state.{tag}",
                "HEADWATER_CLEVERTAP__EVENTS": json.dumps(["App Installed", "Sign Up", "Charged"]),
            }
        )
        cdc.processor.env |= self.env
        cdc.sink.env |= self.env
        self.sinks = [
            Service(name, ["sink", name, "--group-id", f"e2e-{name}-{tag}"], self.env, logs)
            for name in ("ad-performance", "app-events", "kpis")
        ]

    def poll_all(self) -> None:
        for source in ("facebook_ads", "google_ads", "clevertap"):
            done = headwater("poll", source, "--once", env=self.env, timeout=600)
            assert done.returncode == 0, f"poll {source}:\n{done.stdout}\n{done.stderr}"

    def settled(self) -> bool:
        """Every consumer has caught up: the source changes, the pulls and the contributions
        are all in the warehouse and in the KPI stage, so a comparison means something."""
        kafka, schema = self.cdc.settings.kafka, self.cdc.schema
        with psycopg.connect(self.cdc.source_dsn) as source:
            row = source.execute(f'SELECT count(*) FROM "{schema}".orders').fetchone()
        try:
            with psycopg.connect(self.cdc.warehouse_dsn) as warehouse:
                mirrored = warehouse.execute(
                    f"SELECT count(*) FROM {self.orders_mirror}"
                ).fetchone()
        except psycopg.errors.UndefinedTable:
            return False
        if row != mirrored:
            return False
        raw = ["raw.facebook_ads.insights", "raw.google_ads.ad_group_daily", "raw.clevertap.events"]
        norm_orders = f"norm.cdc.{schema}.orders"
        processor = [
            *raw,
            f"cdc.app.{schema}.orders",
            "norm.ads.performance_daily",
            "norm.app.events",
            norm_orders,
            contributions_topic(self.cdc.env["HEADWATER_PROCESSOR__APP_ID"]),
        ]
        if not group_caught_up(kafka, self.cdc.env["HEADWATER_PROCESSOR__APP_ID"], processor):
            return False
        sinks = {
            self.cdc.sink_group: [norm_orders],
            self.sinks[0].args[-1]: ["norm.ads.performance_daily"],
            self.sinks[1].args[-1]: ["norm.app.events"],
            self.sinks[2].args[-1]: ["metrics.campaigns.kpis_daily"],
        }
        dsn = self.cdc.warehouse_dsn
        return all(sink_caught_up(kafka, dsn, group, topics) for group, topics in sinks.items())

    def converged(self) -> bool:
        try:
            return not kpi_differences(self.cdc.warehouse_dsn, self.orders_mirror)
        except psycopg.errors.UndefinedTable:
            return False  # the sinks have not created their tables yet

    def ads_equal_truth(self) -> bool:
        """The reference's ad inputs equal the sandboxes' ground truth (to the cent)."""
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=n) for n in range(BACKFILL_DAYS + 1)]
        truth = truth_ad_totals(self.apis, days)
        return bool(truth) and truth == warehouse_ad_totals(
            self.cdc.warehouse_dsn, self.apis, days[-1]
        )


@pytest.fixture
def pipeline(settings: Settings, tmp_path: Path) -> Iterator[KpiPipeline]:
    apis = sandbox_apis(
        settings.sandbox.model_copy(
            update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
        ),
        daily_events={"App Installed": 120, "App Launched": 50, "Sign Up": 60, "Charged": 50},
        facebook_accounts=["act_7100001"],
        google_customers=["7100000001"],
        clevertap_account="KPI-E2E-0001",
    )
    with apis, cdc_pipeline(settings, tmp_path, customers=200, orders=600) as cdc:
        line = KpiPipeline(cdc, apis, tmp_path)
        try:
            yield line
        finally:
            for service in line.sinks:
                service.stop()


def _attributed_order(dsn: str, schema: str, status: str) -> int:
    with psycopg.connect(dsn) as source:
        row = source.execute(
            f'SELECT id FROM "{schema}".orders WHERE campaign_id ~ %s AND status = %s '
            "ORDER BY id LIMIT 1",
            (r"^(fb|gads)-", status),
        ).fetchone()
    assert row is not None, f"no attributed {status} order"
    return int(row[0])


def test_kpis_equal_an_independent_sql_reference_through_faults_and_changes(
    pipeline: KpiPipeline,
) -> None:
    line, cdc = pipeline, pipeline.cdc
    cdc.run("source", "setup")
    cdc.processor.start()
    cdc.sink.start()
    for sink in line.sinks:
        sink.start()
    cdc.run("connectors", "apply")
    line.poll_all()
    run_workload(cdc.source_dsn, rate=300, changes=1_500, seed=31, schema=cdc.schema)

    def what() -> str:
        differences = kpi_differences(cdc.warehouse_dsn, line.orders_mirror)
        return "\n".join(differences[:10]) + "\n" + cdc.processor.log_tail()

    # Not before everything landed: empty tables would agree with an empty reference.
    wait_for(line.settled, timeout_s=900, interval_s=5, what="pipeline caught up", on_timeout=what)
    wait_for(line.converged, timeout_s=300, interval_s=5, what="KPIs = reference", on_timeout=what)
    assert line.ads_equal_truth()

    # Kill -9 the Faust worker with work in flight; its state comes back from the changelog.
    workload = run_workload(cdc.source_dsn, rate=None, changes=300, seed=37, schema=cdc.schema)
    assert workload.changes >= 300
    cdc.processor.kill()
    cdc.processor.start()

    # Restatement, late events, an order cancelled and one deleted.
    line.apis.restate()
    line.poll_all()
    cancelled = _attributed_order(cdc.source_dsn, cdc.schema, "paid")
    deleted = _attributed_order(cdc.source_dsn, cdc.schema, "pending")
    with psycopg.connect(cdc.source_dsn, autocommit=True) as source:
        source.execute(
            f"UPDATE \"{cdc.schema}\".orders SET status = 'cancelled', updated_at = now() "
            "WHERE id = %s",
            (cancelled,),
        )
        source.execute(f'DELETE FROM "{cdc.schema}".orders WHERE id = %s', (deleted,))
    wait_for(line.settled, timeout_s=600, interval_s=5, what="changes landed", on_timeout=what)
    wait_for(line.converged, timeout_s=300, interval_s=5, what="after changes", on_timeout=what)
    assert line.ads_equal_truth()  # the restated truth, this time
    with psycopg.connect(cdc.warehouse_dsn) as warehouse:
        statuses = warehouse.execute(
            f"SELECT id, status FROM {line.orders_mirror} WHERE id = ANY(%s)",
            ([cancelled, deleted],),
        ).fetchall()
    assert statuses == [(cancelled, "cancelled")]  # the deleted order is gone from the mirror
