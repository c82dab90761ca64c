"""A fourth API source, added as its own package plus one topology entry, runs through the
pipeline: toy API -> poller -> raw topic -> its normalizer in the processor's runner ->
norm.app.events -> the app-events sink -> ``app_events``, every event once and to the cent.

The toy (``tests/support/toy_source``) is known to no module of the product; the same
functions that ``headwater run``, ``headwater poll`` and ``headwater process`` call take it
from its entry. Real Kafka and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from pydantic import SecretStr

from control.pipeline import pipeline_children
from headwater.kafka.clients import make_admin
from headwater.kafka.topics import ensure_topics
from headwater.settings import PollerSettings, Settings
from headwater.topology import API_SOURCES, port_offsets
from producers.poller import Poller
from producers.registry import build_source
from sinks.registry import writer_and_topics
from sinks.runner import SinkRunner
from stream_processors.app import normalizer_stages, processor_stages
from stream_processors.runner import BatchRunner
from stream_processors.topics import processor_topics
from tests.conftest import wait_for
from tests.support.running import Worker
from tests.support.sink_positions import start_at_end
from tests.support.toy_source import TOY_EVENTS
from tests.support.toy_source.api import TOY_API

WITH_TOY = (*API_SOURCES, TOY_EVENTS)
LAST_DAY = date(2026, 11, 27)
KEY = "toy-pseudonymization-key-of-32-bytes"


@pytest.fixture
def toy_settings(settings: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "processor": settings.processor.model_copy(
                update={
                    "app_id": f"test-toy-processor-{tag}",
                    "pseudonymization_key": SecretStr(KEY),
                }
            ),
            "poller": PollerSettings(backfill_days=2, state_topic=f"test.toy_state.{tag}"),
        }
    )


def _toy_events(account: str) -> list[dict[str, object]]:
    """Three days of events; purchases carry an amount, one event has no user."""
    events: list[dict[str, object]] = []
    for offset in range(3):
        day = datetime.combine(LAST_DAY - timedelta(days=offset), datetime.min.time(), UTC)
        for n in range(5):
            event: dict[str, object] = {
                "id": f"{offset}-{n}",
                "name": "purchase" if n % 2 else "open",
                "at": (day + timedelta(hours=n, minutes=7)).isoformat(),
                "user": None if (offset, n) == (1, 0) else f"user-{n}@example.com",
            }
            if n % 2:
                event |= {"amount": f"{offset * 10 + n}.{n}5", "currency": "EUR"}
            events.append(event)
    return events


def test_the_entry_is_all_the_services_need(toy_settings: Settings) -> None:
    children = {child.name: child for child in pipeline_children(toy_settings, sources=WITH_TOY)}
    poller = children["poll-toy_events"]
    assert poller.argv[-2:] == ("poll", "toy_events")
    assert poller.port == 9400 + port_offsets(WITH_TOY)["poll-toy_events"]
    assert len({child.port for child in children.values()}) == len(children)
    topics = {spec.name for spec in processor_topics(toy_settings, WITH_TOY)}
    assert "raw.toy_events.events" in topics
    stages = {stage.name: stage for stage in processor_stages(toy_settings, WITH_TOY)}
    assert stages["normalize_toy_events"].sources == ("raw.toy_events.events",)
    assert "normalize_toy_events" not in {s.name for s in processor_stages(toy_settings)}


def test_a_fourth_source_lands_in_the_warehouse(toy_settings: Settings) -> None:
    account = f"toy-{uuid.uuid4().hex[:8]}"
    events = _toy_events(account)
    TOY_API.add(account, events)

    report = Poller(
        build_source(TOY_EVENTS, toy_settings), toy_settings, today=lambda: LAST_DAY
    ).run_once()
    assert report.ok, report.failures
    assert report.published[account] == len(events)

    # As `headwater process` does before its worker starts (a new cluster has none of them).
    ensure_topics(make_admin(toy_settings.kafka), processor_topics(toy_settings, WITH_TOY))
    writer, topics = writer_and_topics(TOY_EVENTS.sink, toy_settings)
    group = f"test-toy-sink-{account}"
    start_at_end(toy_settings, group, TOY_EVENTS.normalized)
    processor = Worker(BatchRunner(toy_settings, normalizer_stages(toy_settings, [TOY_EVENTS])))
    sink = Worker(SinkRunner(toy_settings, writer, topics, group))
    assert toy_settings.warehouse.dsn is not None
    dsn = toy_settings.warehouse.dsn.get_secret_value()

    def landed() -> list[tuple[object, ...]] | None:
        with psycopg.connect(dsn) as connection:
            rows = connection.execute(
                "SELECT event_id, event_name, occurred_at, user_key, amount, currency "
                "FROM app_events WHERE account_id = %s ORDER BY occurred_at, event_name",
                (account,),
            ).fetchall()
        return rows if len(rows) >= len(events) else None

    try:  # the sink creates app_events (on a new warehouse) before it takes its partitions
        wait_for(sink.runner.assigned.is_set, timeout_s=60, what="the sink's partitions")
        rows = wait_for(landed, timeout_s=120, interval_s=0.5, what="the toy events in app_events")
    finally:
        processor.close()
        sink.close()

    def expected(event: dict[str, object]) -> tuple[object, ...]:
        user = event["user"]
        return (
            hashlib.sha256(f"toy|{account}|{event['id']}".encode()).hexdigest()[:32],
            event["name"],
            datetime.fromisoformat(str(event["at"])),
            "k1:" + hmac.new(KEY.encode(), str(user).encode(), hashlib.sha256).hexdigest()
            if user
            else None,
            Decimal(str(event["amount"])) if "amount" in event else None,
            event.get("currency"),
        )

    assert rows == sorted((expected(e) for e in events), key=lambda r: (r[2], r[1]))
    spent = sum((r[4] for r in rows if r[4] is not None), Decimal(0))
    assert spent == Decimal("73.50")  # two purchases a day: 1.15 + 3.35, 11.15 + 13.35, ...
    with psycopg.connect(dsn) as connection:
        connection.execute("DELETE FROM app_events WHERE account_id = %s", (account,))
