"""The CDC layer as Prometheus metrics: connector and task states, replication slot lag.

A collector reads Kafka Connect's REST API and ``pg_replication_slots`` at every scrape,
as exporters do, so the figures are never older than the scrape. States are exported as
state sets (one series per possible state, 1 for the current one), which keeps alert
expressions simple (``{state="RUNNING"} == 0``) and the series count fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connectors.base import ConnectorError
from connectors.client import ConnectClient
from headwater.errors import ConfigurationError
from headwater.http import HealthServer
from headwater.lifecycle import stop_on_signals
from headwater.postgres import verified
from headwater.readiness import database_reachable
from headwater.settings import Settings

log = logging.getLogger(__name__)

#: Kafka Connect's connector and task states, and ours for a connector Connect does not know.
STATES = ("RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING", "UNASSIGNED", "NOT_FOUND")

#: The metrics the monitor exports (docs/observability.md).
CONNECTOR_STATE = "headwater_cdc_connector_state"
TASK_STATE = "headwater_cdc_task_state"
CONNECT_UP = "headwater_cdc_connect_up"
SLOT_LAG = "headwater_cdc_replication_slot_lag_bytes"
SLOT_CONFIRMED_LAG = "headwater_cdc_replication_slot_confirmed_lag_bytes"
SLOT_ACTIVE = "headwater_cdc_replication_slot_active"
SOURCE_UP = "headwater_cdc_source_up"

_SLOT_QUERY = """
SELECT active,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
  FROM pg_replication_slots
 WHERE slot_name = %s
"""


@dataclass(frozen=True)
class SlotReading:
    """One look at the replication slot (lags in bytes of WAL; None when unknown)."""

    active: bool
    retained_bytes: int | None
    confirmed_lag_bytes: int | None


def read_slot(dsn: str, slot: str, timeout_s: int = 2) -> SlotReading | None:
    """The slot's activity and lag, or None when the slot does not exist."""
    options = f"-c statement_timeout={timeout_s * 1000}"
    with psycopg.connect(verified(dsn), connect_timeout=timeout_s, options=options) as connection:
        row = connection.execute(_SLOT_QUERY, (slot,)).fetchone()
    if row is None:
        return None
    active, retained, confirmed = row
    return SlotReading(
        bool(active),
        None if retained is None else int(retained),
        None if confirmed is None else int(confirmed),
    )


class CdcCollector(Collector):
    """Collects the connector's and the slot's state at every scrape."""

    def __init__(self, connect: ConnectClient, connector: str, dsn: str, slot: str) -> None:
        self._connect = connect
        self._connector = connector
        self._dsn = dsn
        self._slot = slot

    def collect(self) -> Iterator[Metric]:
        yield from self._connector_metrics()
        yield from self._slot_metrics()

    def _connector_metrics(self) -> Iterator[Metric]:
        connector = GaugeMetricFamily(
            CONNECTOR_STATE,
            "1 for the Debezium connector's current state in Kafka Connect, else 0",
            labels=["connector", "state"],
        )
        tasks = GaugeMetricFamily(
            TASK_STATE,
            "1 for each connector task's current state, else 0",
            labels=["connector", "task", "state"],
        )
        up = GaugeMetricFamily(CONNECT_UP, "Kafka Connect's REST API answered this scrape")
        try:
            status = self._connect.status(self._connector)
        except ConnectorError as error:
            log.warning("kafka connect unreachable", extra={"error": str(error)})
            up.add_metric([], 0.0)
        else:
            up.add_metric([], 1.0)
            current = status.state if status is not None else "NOT_FOUND"
            for state in STATES:
                connector.add_metric([self._connector, state], float(state == current))
            for task in status.tasks if status is not None else ():
                for state in STATES:
                    tasks.add_metric(
                        [self._connector, str(task.id), state], float(state == task.state)
                    )
        yield connector
        yield tasks
        yield up

    def _slot_metrics(self) -> Iterator[Metric]:
        retained = GaugeMetricFamily(
            SLOT_LAG,
            "WAL the source database keeps for the slot (current LSN - restart_lsn)",
            labels=["slot"],
        )
        confirmed = GaugeMetricFamily(
            SLOT_CONFIRMED_LAG,
            "Current LSN - the slot's confirmed_flush_lsn",
            labels=["slot"],
        )
        active = GaugeMetricFamily(
            SLOT_ACTIVE,
            "1 when a connector streams from the slot (0 also when the slot does not exist)",
            labels=["slot"],
        )
        up = GaugeMetricFamily(SOURCE_UP, "The source database answered this scrape")
        try:
            reading = read_slot(self._dsn, self._slot)
        except psycopg.Error as error:
            log.warning("source database unreachable", extra={"error": str(error)})
            up.add_metric([], 0.0)
        else:
            up.add_metric([], 1.0)
            active.add_metric([self._slot], float(reading is not None and reading.active))
            if reading is not None and reading.retained_bytes is not None:
                retained.add_metric([self._slot], float(reading.retained_bytes))
            if reading is not None and reading.confirmed_lag_bytes is not None:
                confirmed.add_metric([self._slot], float(reading.confirmed_lag_bytes))
        yield retained
        yield confirmed
        yield active
        yield up


def connect_reachable(client: ConnectClient) -> bool:
    """Whether Kafka Connect's REST API answers."""
    try:
        client.connectors()
    except ConnectorError:
        return False
    return True


def serve(settings: Settings) -> None:
    """Export the CDC metrics on /metrics until SIGTERM (``headwater connectors monitor``)."""
    if settings.source.dsn is None:
        raise ConfigurationError(
            "HEADWATER_SOURCE__DSN", "is required: the replication slot's lag is read there"
        )
    dsn = settings.source.dsn.get_secret_value()
    # Both reads happen during a scrape: together they stay inside Prometheus' 5 s timeout,
    # so an unreachable dependency shows as *_up 0, not as a failed scrape.
    client = ConnectClient(settings.connect.url, timeout_s=2.0, busy_retries=0)
    collector = CdcCollector(client, settings.cdc.connector_name, dsn, settings.cdc.slot_name)
    REGISTRY.register(collector)
    checks = {
        "connect": lambda: connect_reachable(client),
        "source": lambda: database_reachable(dsn),
    }
    try:
        with (
            stop_on_signals() as stop,
            HealthServer(settings.http.host, settings.http.port, checks),
        ):
            log.info(
                "cdc monitor started",
                extra={"connector": settings.cdc.connector_name, "slot": settings.cdc.slot_name},
            )
            stop.wait()
    finally:
        REGISTRY.unregister(collector)
