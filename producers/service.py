"""Running a poller as a long-lived service: signals, health, metrics."""

from __future__ import annotations

from headwater.http import HealthServer
from headwater.kafka.clients import kafka_reachable
from headwater.lifecycle import stop_on_signals
from headwater.settings import Settings
from headwater.topology import ApiSource
from producers.poller import Poller
from producers.registry import build_source


def serve(settings: Settings, source: ApiSource) -> None:
    """Poll on the schedule until SIGTERM or SIGINT; ready once topics and cursors are."""
    poller = Poller(build_source(source, settings), settings)
    checks = {"kafka": lambda: kafka_reachable(settings.kafka), "prepared": lambda: poller.prepared}
    with stop_on_signals() as stop, HealthServer(settings.http.host, settings.http.port, checks):
        poller.prepare()
        poller.run_forever(stop)
