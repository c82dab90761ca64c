"""CleverTap requests are counted per step, and a fail body with HTTP 200 is not an ok."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY

from producers.clevertap.client import CleverTapClient
from sandbox.clevertap import CleverTapSandbox, Fault
from tests.unit.producers.clevertap.conftest import OLD_DAY

MakeClient = Callable[..., CleverTapClient]


def requests_total(endpoint: str, outcome: str) -> float:
    labels = {"source": "clevertap", "endpoint": endpoint, "outcome": outcome}
    return REGISTRY.get_sample_value("headwater_poller_api_requests_total", labels) or 0.0


def test_each_step_of_an_export_is_counted_with_its_outcome(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    keys = [(e, o) for e in ("events_export", "events_page") for o in ("ok", "unavailable")]
    before = {key: requests_total(*key) for key in keys}
    sandbox.inject(Fault(200, "Internal error", code=500))
    list(make_client(batch_size=5_000).export("Charged", OLD_DAY, OLD_DAY))
    calls = [(r.method, r.status) for r in sandbox.requests()]
    assert calls == [("POST", 200), ("POST", 200), ("GET", 200)]
    assert {key: requests_total(*key) - before[key] for key in keys} == {
        ("events_export", "ok"): 1,
        ("events_export", "unavailable"): 1,  # the fail body, though HTTP said 200
        ("events_page", "ok"): 1,
        ("events_page", "unavailable"): 0,
    }
    retry = {"source": "clevertap", "reason": "retry"}
    assert (REGISTRY.get_sample_value("headwater_poller_backoff_seconds_total", retry) or 0) >= sum(
        sleeps
    )
