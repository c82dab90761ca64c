"""The Facebook client's request, throttle, backoff and usage metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from producers.base import Window
from producers.facebook_ads.client import InsightsClient, Pacing
from sandbox.facebook_ads import FacebookSandbox
from tests.unit.producers.facebook_ads.conftest import (
    NO_PACING,
    TODAY,
    FakeClock,
    RecordingSession,
)

OLD = Window(TODAY - timedelta(days=100), TODAY - timedelta(days=98))
FIELDS = ("account_id", "ad_id", "impressions", "spend", "date_start", "date_stop")
MakeClient = Callable[..., InsightsClient]


def sample(name: str, **labels: str) -> float:
    """A sample's current value; 0 when the series does not exist yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_total(endpoint: str, outcome: str) -> float:
    return sample(
        "headwater_poller_api_requests_total",
        source="facebook_ads",
        endpoint=endpoint,
        outcome=outcome,
    )


def test_facebook_requests_throttles_and_backoff_are_counted(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    session: RecordingSession,
    clock: FakeClock,
) -> None:
    fb = start_sandbox(call_budget=3, budget_window_s=30)
    client = make_client(fb, page_size=10, pacing=NO_PACING)
    ok, throttled = (requests_total("insights", o) for o in ("ok", "throttled"))
    retry_s = sample(
        "headwater_poller_backoff_seconds_total", source="facebook_ads", reason="retry"
    )
    list(client.insights("101", OLD, FIELDS))
    statuses = [x.status for x in session.exchanges]
    assert requests_total("insights", "ok") - ok == statuses.count(200)
    assert requests_total("insights", "throttled") - throttled == statuses.count(400)
    slept = sample("headwater_poller_backoff_seconds_total", source="facebook_ads", reason="retry")
    assert slept - retry_s == pytest.approx(sum(clock.sleeps))
    assert sample("headwater_poller_api_usage_percent", source="facebook_ads") == client.usage_pct


def test_facebook_pacing_counts_as_pacing(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    clock: FakeClock,
) -> None:
    fb = start_sandbox(call_budget=20, budget_window_s=60)
    client = make_client(fb, page_size=2, pacing=Pacing(slow_down_above_pct=75, max_pause_s=60))
    before = sample(
        "headwater_poller_backoff_seconds_total", source="facebook_ads", reason="pacing"
    )
    list(client.insights("101", OLD, FIELDS))
    after = sample("headwater_poller_backoff_seconds_total", source="facebook_ads", reason="pacing")
    assert after - before == pytest.approx(client.paused_s)
    assert client.paused_s > 0
