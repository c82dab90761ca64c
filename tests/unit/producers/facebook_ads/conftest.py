"""The Facebook sandbox in-process, a fake clock shared with the client, and a session that
records every exchange, so that tests see what went over the wire without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests

from producers.facebook_ads.client import InsightsClient, Pacing, ReportRunPolicy
from producers.retry import RetryPolicy
from sandbox.facebook_ads import FacebookSandbox

TODAY = date(2026, 11, 20)
TOKEN = "sandbox-token"
VERSION = "v23.0"


@dataclass
class FakeClock:
    """Time that passes only when someone sleeps; every sleep is recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass(frozen=True)
class Exchange:
    """One request and its answer."""

    method: str
    url: str
    status: int
    body: Any


class RecordingSession(requests.Session):
    """A requests session that keeps every exchange."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[Exchange] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        self.exchanges.append(
            Exchange(str(method), response.url, response.status_code, response.json())
        )
        return response


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def start_sandbox(clock: FakeClock) -> Iterator[Callable[..., FacebookSandbox]]:
    """Start a sandbox on a free port (seed 7, fixed today, the fake clock)."""
    started: list[FacebookSandbox] = []

    def start(**options: Any) -> FacebookSandbox:
        sandbox = FacebookSandbox(7, **{"today": lambda: TODAY, "clock": clock, **options})
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def fb(start_sandbox: Callable[..., FacebookSandbox]) -> FacebookSandbox:
    return start_sandbox()


@pytest.fixture
def make_client(clock: FakeClock, session: RecordingSession) -> Callable[..., InsightsClient]:
    """An InsightsClient on the sandbox that sleeps on the fake clock."""

    def make(sandbox: FacebookSandbox, **options: Any) -> InsightsClient:
        defaults: dict[str, Any] = {
            "session": session,
            "sleep": clock.sleep,
            "clock": clock,
            "retry": RetryPolicy(attempts=4, base_delay_s=1.0, max_delay_s=120.0),
            "report_runs": ReportRunPolicy(first_poll_s=1.0, max_poll_s=8.0, timeout_s=600.0),
        }
        token = options.pop("access_token", TOKEN)
        return InsightsClient(sandbox.url, VERSION, token, **{**defaults, **options})

    return make


NO_PACING = Pacing(slow_down_above_pct=1_000.0)
