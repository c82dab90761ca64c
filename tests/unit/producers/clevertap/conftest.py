"""The CleverTap sandbox in-process, and clients and sources pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from headwater.settings import CleverTapSettings
from producers.clevertap import CleverTapClient
from producers.retry import RetryPolicy
from sandbox.clevertap import SANDBOX_ACCOUNT_ID, SANDBOX_PASSCODE, CleverTapSandbox

TODAY = date(2026, 11, 25)
OLD_DAY = date(2026, 11, 10)
FAST_RETRIES = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def sandbox() -> Iterator[CleverTapSandbox]:
    """A started sandbox whose today is fixed."""
    with CleverTapSandbox(seed=11, today=lambda: TODAY) as server:
        yield server


def settings_for(sandbox: CleverTapSandbox, **overrides: Any) -> CleverTapSettings:
    """Settings that point at the sandbox, with its credentials."""
    values: dict[str, Any] = {
        "api_url": sandbox.url,
        "account_id": SANDBOX_ACCOUNT_ID,
        "passcode": SecretStr(SANDBOX_PASSCODE),
        "events": ["App Installed", "App Launched", "Sign Up", "Charged"],
        "batch_size": 50,
    }
    values.update(overrides)
    return CleverTapSettings(**values)


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client asked to sleep, instead of sleeping."""
    return []


@pytest.fixture
def make_client(
    sandbox: CleverTapSandbox, sleeps: list[float]
) -> Iterator[Callable[..., CleverTapClient]]:
    """Clients of the sandbox that record their sleeps; closed at the end."""
    clients: list[CleverTapClient] = []

    def make(**overrides: Any) -> CleverTapClient:
        options: dict[str, Any] = {"retry": FAST_RETRIES, "sleep": sleeps.append}
        settings_overrides = {k: overrides.pop(k) for k in list(overrides) if k in {"passcode"}}
        options.update(overrides)
        client = CleverTapClient.from_settings(
            settings_for(sandbox, **settings_overrides), **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
