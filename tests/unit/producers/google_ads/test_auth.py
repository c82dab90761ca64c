"""RefreshTokenCredentials: the refresh-token grant, the cache, and the token endpoint's errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pydantic import SecretStr

from headwater.errors import is_transient
from producers.base import ApiUnavailable, AuthenticationFailed, InvalidRequest, RateLimited
from producers.google_ads.auth import RefreshTokenCredentials
from sandbox.google_ads import GoogleAdsSandbox


class MovableClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def credentials_for(
    sandbox: GoogleAdsSandbox, clock: MovableClock, refresh_token: str | None = None
) -> RefreshTokenCredentials:
    return RefreshTokenCredentials(
        f"{sandbox.url}/token",
        sandbox.CLIENT_ID,
        SecretStr(sandbox.CLIENT_SECRET),
        SecretStr(refresh_token or sandbox.REFRESH_TOKEN),
        clock=clock,
    )


def test_the_token_is_cached_until_shortly_before_it_expires(sandbox) -> None:
    sandbox.token_lifetime_s = 100
    clock = MovableClock()
    credentials = credentials_for(sandbox, clock)

    first = credentials.access_token()
    clock.now = 89.0  # inside expires_in minus the margin (a tenth of 100 s)
    assert credentials.access_token() == first
    assert sandbox.token_requests == 1

    clock.now = 90.0
    second = credentials.access_token()
    assert second != first
    assert sandbox.token_requests == 2
    assert credentials.refreshes == 2


def test_invalidate_forgets_only_the_rejected_token(sandbox) -> None:
    credentials = credentials_for(sandbox, MovableClock())
    token = credentials.access_token()

    credentials.invalidate("some-older-token")
    assert credentials.access_token() == token

    credentials.invalidate(token)
    assert credentials.access_token() != token
    assert sandbox.token_requests == 2


def test_a_revoked_refresh_token_is_authentication_failed(sandbox) -> None:
    credentials = credentials_for(sandbox, MovableClock(), refresh_token="revoked-one-456")

    with pytest.raises(AuthenticationFailed, match="invalid_grant") as raised:
        credentials.access_token()
    assert "revoked-one-456" not in str(raised.value)
    assert not is_transient(raised.value)


class ScriptedSession(requests.Session):
    """Answers every POST with one canned response (the token endpoint misbehaving)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.status, self.body = status, body

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        return response


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, b"<html>unavailable</html>", ApiUnavailable),
        (429, b"", RateLimited),
        (400, b'{"error": "unsupported_grant_type"}', InvalidRequest),
        (400, b"not json", InvalidRequest),
        (200, b'{"token_type": "Bearer"}', ApiUnavailable),
    ],
)
def test_token_endpoint_errors_are_typed(status: int, body: bytes, error: type) -> None:
    credentials = RefreshTokenCredentials(
        "http://127.0.0.1:9/token",
        "id",
        SecretStr("secret"),
        SecretStr("refresh"),
        session=ScriptedSession(status, body),
    )
    with pytest.raises(error):
        credentials.access_token()
