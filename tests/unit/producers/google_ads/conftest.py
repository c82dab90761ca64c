"""The Google Ads sandbox in-process on port 0, a clock the tests move, and client settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from headwater.settings import GoogleAdsSettings
from producers.google_ads.client import GoogleAdsClient
from producers.retry import RetryPolicy
from sandbox.google_ads import GoogleAdsSandbox

TODAY = date(2026, 3, 31)
CUSTOMERS = ["123-456-7890", "2345678901", "345-678-9012"]


class FakeClock:
    """Monotonic seconds that move only when a test (or an injected sleep) says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """The sandbox's clock (token expiry, quota windows)."""
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> list[float]:
    """Delays the client slept; sleeping moves the sandbox's clock instead of waiting."""
    return []


@pytest.fixture
def sleep(clock: FakeClock, sleeps: list[float]) -> Callable[[float], None]:
    """An injected sleep: records the delay and advances the sandbox's clock by it."""

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    return fake_sleep


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[GoogleAdsSandbox]:
    """A started sandbox with small batches, stopped after the test."""
    with GoogleAdsSandbox(seed=11, today=lambda: TODAY, batch_size=4, clock=clock) as server:
        yield server


SettingsFor = Callable[..., GoogleAdsSettings]
ClientFor = Callable[..., GoogleAdsClient]


@pytest.fixture
def settings_for(sandbox: GoogleAdsSandbox) -> SettingsFor:
    """Settings that point at the sandbox with its credentials; keyword overrides win."""

    def make(**overrides: Any) -> GoogleAdsSettings:
        values: dict[str, Any] = {
            "api_url": sandbox.url,
            "token_url": f"{sandbox.url}/token",
            "developer_token": sandbox.DEVELOPER_TOKEN,
            "client_id": sandbox.CLIENT_ID,
            "client_secret": sandbox.CLIENT_SECRET,
            "refresh_token": sandbox.REFRESH_TOKEN,
            "customer_ids": CUSTOMERS,
        }
        values.update(overrides)
        return GoogleAdsSettings(**values)

    return make


@pytest.fixture
def client_for(settings_for: SettingsFor, sleep: Callable[[float], None]) -> ClientFor:
    """A client of the sandbox whose retries sleep through the injected ``sleep``."""

    def make(attempts: int = 4, **overrides: Any) -> GoogleAdsClient:
        settings = settings_for(**overrides)
        ceiling = max(60.0, settings.max_retry_delay_s)
        policy = RetryPolicy(attempts=attempts, max_delay_s=ceiling)
        return GoogleAdsClient(settings, retry=policy, sleep=sleep)

    return make
