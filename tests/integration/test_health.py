"""The shared health server answers for a service that depends on the real Kafka."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client import CollectorRegistry, Gauge

from headwater.errors import DependencyUnavailable
from headwater.http import HealthServer
from headwater.kafka.clients import check_reachable
from headwater.settings import KafkaSettings, Settings


def _get(url: str) -> tuple[int, dict[str, object] | str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            body = reply.read().decode()
            status = reply.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    return status, (json.loads(body) if body.startswith("{") else body)


def _reachable(kafka: KafkaSettings) -> bool:
    try:
        return check_reachable(kafka, timeout_s=3) > 0
    except DependencyUnavailable:
        return False


def test_health_server_reflects_kafka(settings: Settings) -> None:
    registry = CollectorRegistry()
    Gauge("headwater_test_up", "up", registry=registry).set(1)
    unreachable = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    checks = {
        "kafka": lambda: _reachable(settings.kafka),
        "other_kafka": lambda: _reachable(unreachable),
    }
    with HealthServer("127.0.0.1", 0, checks, registry) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert _get(f"{base}/healthz") == (200, {"status": "ok"})
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert body == {"ready": False, "checks": {"kafka": True, "other_kafka": False}}
        status, metrics = _get(f"{base}/metrics")
        assert status == 200
        assert "headwater_test_up 1.0" in str(metrics)
