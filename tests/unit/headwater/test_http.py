import json
import platform
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from headwater.errors import ConfigurationError
from headwater.http import HealthServer


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_metrics_liveness_and_readiness() -> None:
    registry = CollectorRegistry()
    Counter("headwater_test_records", "records", registry=registry).inc(3)
    ready = {"kafka": True}
    with HealthServer("127.0.0.1", 0, {"kafka": lambda: ready["kafka"]}, registry) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, body = _get(f"{base}/metrics")
        assert status == 200
        assert b"headwater_test_records_total 3.0" in body
        assert _get(f"{base}/healthz")[0] == 200
        status, body = _get(f"{base}/readyz")
        assert (status, json.loads(body)["checks"]) == (200, {"kafka": True})
        ready["kafka"] = False
        status, body = _get(f"{base}/readyz")
        assert (status, json.loads(body)["ready"]) == (503, False)
        assert _get(f"{base}/nope")[0] == 404


def test_a_raising_check_means_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("warehouse unreachable")

    with HealthServer("127.0.0.1", 0, {"warehouse": broken}, CollectorRegistry()) as server:
        assert _get(f"http://127.0.0.1:{server.port}/readyz")[0] == 503


def test_port_in_use_names_the_setting() -> None:
    with (
        HealthServer("127.0.0.1", 0, registry=CollectorRegistry()) as server,
        pytest.raises(ConfigurationError, match="HEADWATER_HTTP__PORT"),
    ):
        HealthServer("127.0.0.1", server.port, registry=CollectorRegistry())


def test_every_service_exports_its_build() -> None:
    from prometheus_client import REGISTRY

    from headwater.http import build_version

    labels = {"version": build_version(), "python": platform.python_version()}
    assert REGISTRY.get_sample_value("headwater_build_info", labels) == 1.0
    assert build_version() != "unknown"  # the test run uses the installed distribution


def test_series_is_the_name_samples_carry_on_metrics() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from headwater.http import series

    registry = CollectorRegistry()
    counter = Counter("toy_records", "records", ["stage"], registry=registry)
    histogram = Histogram("toy_seconds", "seconds", registry=registry)
    counter.labels("a").inc()
    histogram.observe(0.1)
    exposed = generate_latest(registry).decode()
    assert series(counter) == "toy_records_total"
    assert f'{series(counter)}{{stage="a"}} 1.0' in exposed
    assert series(histogram) == "toy_seconds"
    assert f"{series(histogram)}_bucket" in exposed
