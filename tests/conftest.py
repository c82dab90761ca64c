"""Shared test helpers: waiting on conditions (never fixed sleeps) and unique names."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    timeout_s: float = 30.0,
    interval_s: float = 0.2,
    what: str = "",
) -> T:
    """Poll until condition returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what or condition}")
        time.sleep(interval_s)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test (or earlier run) uses, for topics, tables and groups."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:32]
    return f"t_{stem}_{uuid.uuid4().hex[:8]}"
