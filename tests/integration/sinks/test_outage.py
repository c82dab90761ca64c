"""A warehouse outage is waited out in-process: the sink keeps its records, reports itself
unavailable meanwhile, and writes everything once the warehouse answers again.

The outage is real for the sink alone: its connection goes through a TCP proxy that the test
cuts (every connection closed, new ones refused) and restores. Real Kafka and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from headwater.kafka.clients import make_admin, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from sinks import ads
from sinks.runner import SinkRunner
from sinks.upsert import VersionedUpsertWriter
from tests.conftest import wait_for
from tests.support.norm_records import ad_value
from tests.support.running import Worker
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def topic(settings: Settings, unique_name: str) -> Iterator[str]:
    name = f"test.outage.{unique_name}"
    ensure_topics(make_admin(settings.kafka), [TopicSpec(name, 1, 1, {})])
    yield name
    make_admin(settings.kafka).delete_topics([name])


def _through(settings: Settings, proxy: TcpProxy) -> Settings:
    assert settings.warehouse.dsn is not None
    parts = urlsplit(settings.warehouse.dsn.get_secret_value())
    netloc = parts.netloc.rsplit("@", 1)
    address = f"127.0.0.1:{proxy.port}"
    proxied = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{address}" if len(netloc) == 2
                                        else address))  # fmt: skip
    warehouse = settings.warehouse.model_copy(update={"dsn": SecretStr(proxied)})
    return settings.model_copy(update={"warehouse": warehouse})


def _produce(settings: Settings, topic: str, ad_ids: range) -> None:
    producer = make_producer(settings.kafka)
    for n in ad_ids:
        producer.produce(topic, ad_value(n, f"{n}.50"), f"k{n}".encode())
    assert producer.flush(30) == 0


def test_a_warehouse_outage_is_waited_out(
    settings: Settings,
    topic: str,
    unique_name: str,
    record_property: Callable[[str, object], None],
) -> None:
    assert settings.warehouse.dsn is not None
    dsn = settings.warehouse.dsn.get_secret_value()
    target = urlsplit(dsn)
    group = f"{unique_name}-sink"
    spec = dataclasses.replace(ads.AD_PERFORMANCE_DAILY, schema=unique_name)

    def rows() -> int:
        with psycopg.connect(dsn) as connection:
            found = connection.execute(
                f'SELECT count(*) FROM "{unique_name}".ad_performance_daily'
            ).fetchone()
        return int(found[0]) if found else 0

    def metric(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"sink": group}) or 0.0

    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        runner = SinkRunner(
            _through(settings, proxy), VersionedUpsertWriter("ad-performance", spec), [topic], group
        )
        worker = Worker(runner)
        try:
            _produce(settings, topic, range(10))
            wait_for(lambda: rows() == 10, timeout_s=60, what="the first 10 rows")

            proxy.cut()
            _produce(settings, topic, range(10, 20))
            wait_for(lambda: metric("headwater_sink_retries_total") >= 3, timeout_s=60,
                     what="three tries against the cut warehouse")  # fmt: skip
            assert not runner.available.is_set()
            assert metric("headwater_sink_warehouse_up") == 0
            assert worker.thread.is_alive()
            assert worker.error is None
            assert rows() == 10

            restored = time.monotonic()
            proxy.restore()
            wait_for(lambda: rows() == 20, timeout_s=90, what="the rows held during the outage")
            recovered_s = time.monotonic() - restored
            record_property("recovered_s", round(recovered_s, 2))  # --junitxml shows it
            assert runner.available.is_set()
            assert metric("headwater_sink_warehouse_up") == 1
            assert recovered_s < 60, f"{recovered_s:.1f}s to write after the warehouse came back"
        finally:
            worker.close()
    with psycopg.connect(dsn) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{unique_name}" CASCADE')
