"""The CleverTap sandbox, served in-process on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from sandbox.clevertap import SANDBOX_ACCOUNT_ID, SANDBOX_PASSCODE, CleverTapSandbox

TODAY = date(2026, 11, 25)
HEADERS = {"X-CleverTap-Account-Id": SANDBOX_ACCOUNT_ID, "X-CleverTap-Passcode": SANDBOX_PASSCODE}


@pytest.fixture
def sandbox() -> Iterator[CleverTapSandbox]:
    """A started sandbox whose today is fixed."""
    with CleverTapSandbox(seed=7, today=lambda: TODAY) as server:
        yield server
