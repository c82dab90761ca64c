"""The pollers' request metrics: outcome per request, throttles, time slept, usage."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from producers import metrics
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
)


def sample(name: str, **labels: str) -> float:
    """A sample's current value; 0 when the series does not exist yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_total(source: str, endpoint: str, outcome: str) -> float:
    return sample(
        "headwater_poller_api_requests_total", source=source, endpoint=endpoint, outcome=outcome
    )


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (RateLimited("slow down", retry_after_s=3), "throttled"),
        (QuotaExhausted("for hours"), "throttled"),
        (AuthenticationFailed("bad token"), "auth_failed"),
        (InvalidRequest("bad field"), "invalid_request"),
        (ApiUnavailable("503"), "unavailable"),
        (ConnectionResetError("reset"), "unavailable"),
    ],
)
def test_a_failed_request_counts_under_its_outcome(error: Exception, outcome: str) -> None:
    before = requests_total("test_source", "thing", outcome)
    throttled_before = sample("headwater_poller_api_throttled_total", source="test_source")
    with pytest.raises(type(error)), metrics.api_request("test_source", "thing"):
        raise error
    assert requests_total("test_source", "thing", outcome) == before + 1
    throttled = sample("headwater_poller_api_throttled_total", source="test_source")
    assert throttled == throttled_before + (1 if outcome == "throttled" else 0)


def test_declared_sources_export_every_outcome_at_zero() -> None:
    metrics.declare_source("declared_source", ("a", "b"))
    for endpoint in ("a", "b"):
        for outcome in metrics.OUTCOMES:
            assert (
                REGISTRY.get_sample_value(
                    "headwater_poller_api_requests_total",
                    {"source": "declared_source", "endpoint": endpoint, "outcome": outcome},
                )
                == 0.0
            )
