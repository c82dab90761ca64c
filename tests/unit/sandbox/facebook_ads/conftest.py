"""The Facebook sandbox, started in-process on a free port, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from sandbox.facebook_ads import FacebookSandbox

TODAY = date(2026, 11, 20)
TOKEN = "sandbox-token"


@dataclass
class ManualClock:
    """A monotonic clock that only moves when the test says so."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def start_sandbox(clock: ManualClock) -> Iterator[Callable[..., FacebookSandbox]]:
    """Start a sandbox (seed 7, today fixed, the test's clock); all are stopped afterwards."""
    started: list[FacebookSandbox] = []

    def start(**options: Any) -> FacebookSandbox:
        options = {"today": lambda: TODAY, "clock": clock, **options}
        sandbox = FacebookSandbox(7, **options)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def fb(start_sandbox: Callable[..., FacebookSandbox]) -> FacebookSandbox:
    return start_sandbox()
