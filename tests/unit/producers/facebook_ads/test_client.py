"""InsightsClient against the sandbox: paging, report runs, pacing, throttles and errors."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from producers.base import ApiUnavailable, AuthenticationFailed, InvalidRequest, Window
from producers.facebook_ads.client import InsightsClient, Pacing, ReportRunPolicy, halves
from producers.facebook_ads.errors import ReportRunTimedOut
from producers.facebook_ads.models import Usage
from sandbox.facebook_ads import FacebookSandbox
from tests.unit.producers.facebook_ads.conftest import (
    NO_PACING,
    TODAY,
    TOKEN,
    FakeClock,
    RecordingSession,
)

FIELDS = ("account_id", "ad_id", "impressions", "spend", "actions", "date_start", "date_stop")
OLD = Window(TODAY - timedelta(days=100), TODAY - timedelta(days=98))

MakeClient = Callable[..., InsightsClient]


def _truth(fb: FacebookSandbox, window: Window) -> list[dict[str, Any]]:
    return [
        {k: row[k] for k in FIELDS if k in row}
        for day in window.days()
        for row in fb.truth("act_101", day)
    ]


def _keys(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["ad_id"], row["date_start"]) for row in rows]


def test_paging_returns_every_row_exactly_once(
    fb: FacebookSandbox, make_client: MakeClient, session: RecordingSession
) -> None:
    client = make_client(fb, page_size=9)
    rows = list(client.insights("101", OLD, FIELDS))
    truth = _truth(fb, OLD)
    assert rows == truth
    assert len(set(_keys(rows))) == len(rows) > 9
    assert len(session.exchanges) == math.ceil(len(truth) / 9) == client.requests_sent
    assert all(TOKEN not in x.url or "access_token=" in x.url for x in session.exchanges)


def test_report_run_waits_past_100_percent_running_until_completed(
    fb: FacebookSandbox, make_client: MakeClient, session: RecordingSession, clock: FakeClock
) -> None:
    window = Window(TODAY - timedelta(days=80), TODAY - timedelta(days=61))
    rows = list(make_client(fb, page_size=100).insights_report("101", window, FIELDS))
    assert rows == _truth(fb, window)
    statuses = [x.body["async_status"] for x in session.exchanges if "async_status" in x.body]
    assert statuses == [
        "Job Not Started",
        "Job Started",
        "Job Running",
        "Job Running",
        "Job Completed",
    ]
    running_at_100 = [
        x.body for x in session.exchanges if x.body.get("async_percent_completion") == 100
    ]
    assert running_at_100[0]["async_status"] == "Job Running"
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0], "polls back off up to the policy's maximum"


def test_a_failed_report_run_is_split_in_halves(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    session: RecordingSession,
) -> None:
    fb = start_sandbox(max_async_days=10)
    window = Window(TODAY - timedelta(days=120), TODAY - timedelta(days=101))  # 20 days
    rows = list(make_client(fb, page_size=200).insights_report("101", window, FIELDS))
    assert rows == _truth(fb, window)
    assert len(set(_keys(rows))) == len(rows)
    runs = [x for x in session.exchanges if x.method == "POST"]
    assert len(runs) == 3, "one 20-day run that fails, then two 10-day runs"
    failed = [x.body for x in session.exchanges if x.body.get("async_status") == "Job Failed"]
    assert len(failed) == 1
    assert failed[0]["date_start"] == window.since.isoformat()


def test_a_single_day_report_run_that_fails_raises(
    start_sandbox: Callable[..., FacebookSandbox], make_client: MakeClient
) -> None:
    fb = start_sandbox(max_async_days=0)
    day = Window(OLD.since, OLD.since)
    with pytest.raises(ApiUnavailable, match="Job Failed"):
        list(make_client(fb).insights_report("101", day, FIELDS))


def test_halves_cover_the_window_without_overlap() -> None:
    first, second = halves(Window(date(2026, 1, 1), date(2026, 1, 5)))
    assert (first, second) == (
        Window(date(2026, 1, 1), date(2026, 1, 3)),
        Window(date(2026, 1, 4), date(2026, 1, 5)),
    )


def test_client_slows_down_as_usage_grows_and_is_never_throttled(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    session: RecordingSession,
    clock: FakeClock,
) -> None:
    fb = start_sandbox(call_budget=20, budget_window_s=60)
    client = make_client(fb, page_size=2, pacing=Pacing(slow_down_above_pct=75, max_pause_s=60))
    rows = list(client.insights("101", OLD, FIELDS))
    assert rows == _truth(fb, OLD)
    assert len(session.exchanges) > 20, "more calls than the budget allows in one window"
    assert {x.status for x in session.exchanges} == {200}, "never throttled"
    assert clock.sleeps, "it paused"
    assert clock.sleeps[:3] == [pytest.approx(12.0), pytest.approx(24.0), pytest.approx(36.0)]
    assert 0 < client.usage_pct <= 100
    assert client.paused_s == pytest.approx(sum(clock.sleeps))


def test_pacing_is_proportional_above_the_threshold() -> None:
    pacing = Pacing(slow_down_above_pct=75, max_pause_s=40)
    assert [pacing.pause_s(Usage(percent=p)) for p in (10, 74.9, 75, 87.5, 100, 130)] == [
        0.0,
        0.0,
        0.0,
        20.0,
        40.0,
        40.0,
    ]


def test_a_throttle_is_retried_after_the_announced_wait_and_succeeds(
    start_sandbox: Callable[..., FacebookSandbox],
    make_client: MakeClient,
    session: RecordingSession,
    clock: FakeClock,
) -> None:
    fb = start_sandbox(call_budget=3, budget_window_s=30)
    client = make_client(fb, page_size=10, pacing=NO_PACING)
    rows = list(client.insights("101", OLD, FIELDS))
    assert rows == _truth(fb, OLD)
    throttles = [x for x in session.exchanges if x.status == 400]
    assert throttles
    assert throttles[0].body["error"]["code"] == 80000
    assert 60.0 in clock.sleeps, "estimated_time_to_regain_access (1 min) was honoured"


def test_an_invalid_token_fails_at_once_without_retries(
    fb: FacebookSandbox, make_client: MakeClient, session: RecordingSession
) -> None:
    client = make_client(fb, access_token="not-the-token")
    with pytest.raises(AuthenticationFailed, match="HEADWATER_FACEBOOK__ACCESS_TOKEN") as caught:
        list(client.insights("101", OLD, FIELDS))
    assert len(session.exchanges) == 1 == client.requests_sent
    assert "not-the-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("account", "fields", "version", "message"),
    [
        ("101", ("spend", "bogus_field"), "v23.0", "bogus_field"),
        ("0", FIELDS, "v23.0", "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"),
        ("101", FIELDS, "v2.0", "HEADWATER_FACEBOOK__API_VERSION"),
    ],
)
def test_invalid_requests_are_terminal(
    fb: FacebookSandbox,
    session: RecordingSession,
    clock: FakeClock,
    account: str,
    fields: tuple[str, ...],
    version: str,
    message: str,
) -> None:
    client = InsightsClient(fb.url, version, TOKEN, session=session, sleep=clock.sleep)
    with pytest.raises(InvalidRequest, match=message):
        list(client.insights(account, OLD, fields))
    assert len(session.exchanges) == 1
    assert clock.sleeps == []


def test_the_token_never_reaches_errors_or_logs(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    secret = "EAAB-very-secret-token"
    client = InsightsClient("http://127.0.0.1:9", "v23.0", secret, sleep=clock.sleep, timeout_s=2.0)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiUnavailable) as caught:
        list(client.insights("101", OLD, FIELDS))
    assert len(clock.sleeps) == 5, "connection errors are transient and retried"
    assert "ConnectionError" in str(caught.value)
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None
    assert secret not in caplog.text


def test_a_report_run_that_outlives_the_timeout_raises(
    fb: FacebookSandbox, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(
        fb, report_runs=ReportRunPolicy(first_poll_s=1.0, max_poll_s=8.0, timeout_s=3.0)
    )
    with pytest.raises(ReportRunTimedOut, match="Job Running"):
        list(client.insights_report("101", OLD, FIELDS))
    assert clock.sleeps == [1.0, 2.0]
