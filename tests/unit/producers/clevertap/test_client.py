"""The CleverTap client against the sandbox: paging, refusals as typed errors, retries."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests
from pydantic import SecretStr

from headwater.errors import ConfigurationError, Terminal, Transient
from headwater.settings import CleverTapSettings
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    RateLimited,
    SourceError,
)
from producers.clevertap.client import CleverTapClient, CursorExpired, classify
from producers.clevertap.models import ErrorBody
from producers.retry import RetryPolicy
from sandbox.clevertap import SANDBOX_PASSCODE, CleverTapSandbox, Fault
from tests.unit.producers.clevertap.conftest import FAST_RETRIES, OLD_DAY, TODAY

MakeClient = Callable[..., CleverTapClient]


def test_cursor_paging_returns_every_record_exactly_once(
    sandbox: CleverTapSandbox, make_client: MakeClient
) -> None:
    records = list(make_client(batch_size=25).export("App Launched", OLD_DAY, OLD_DAY))
    assert records == sandbox.truth("App Launched", OLD_DAY)
    calls = [(r.method, r.status) for r in sandbox.requests()]
    assert calls[0] == ("POST", 200)
    assert calls[1:] == [("GET", 200)] * (len(calls) - 1)
    assert len(calls) - 1 >= 10  # several pages, some shorter than the batch size


def test_a_range_of_days_is_one_export(sandbox: CleverTapSandbox, make_client: MakeClient) -> None:
    records = list(make_client().export("Sign Up", OLD_DAY, TODAY))
    days = [OLD_DAY.replace(day=day) for day in range(OLD_DAY.day, TODAY.day + 1)]
    assert records == [record for day in days for record in sandbox.truth("Sign Up", day)]


def test_a_fail_body_with_http_200_is_not_success(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    sandbox.inject(Fault(200, "Internal error", code=500))
    records = list(make_client(batch_size=5_000).export("Charged", OLD_DAY, OLD_DAY))
    assert records == sandbox.truth("Charged", OLD_DAY)
    assert len(sleeps) == 1
    calls = [(r.method, r.status) for r in sandbox.requests()]
    assert calls == [("POST", 200), ("POST", 200), ("GET", 200)]  # refused, retried, paged


def test_a_lasting_fail_body_with_http_200_raises(
    sandbox: CleverTapSandbox, make_client: MakeClient
) -> None:
    sandbox.inject(*[Fault(200, "Internal error", code=500)] * 4)
    with pytest.raises(ApiUnavailable, match="HTTP 200, code 500"):
        list(make_client().export("Charged", OLD_DAY, OLD_DAY))
    assert len(sandbox.requests()) == FAST_RETRIES.attempts


def test_a_fail_body_with_http_200_and_code_401_is_bad_credentials(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    sandbox.inject(Fault(200, "Invalid credentials", code=401))
    with pytest.raises(AuthenticationFailed):
        list(make_client().export("Charged", OLD_DAY, OLD_DAY))
    assert sleeps == []


def test_too_many_concurrent_requests_backs_off_then_succeeds(
    sandbox: CleverTapSandbox, make_client: MakeClient
) -> None:
    """Real concurrency: the sandbox's slots are full when the client first asks."""
    statuses: list[int] = []
    slept: list[float] = []
    others = [
        threading.Thread(target=lambda: statuses.append(_other_client_request(sandbox)))
        for _ in range(sandbox.max_concurrent)
    ]

    def back_off(delay: float) -> None:
        slept.append(delay)
        sandbox.release()  # the other clients' requests finish while we wait
        assert sandbox.wait_in_flight(0)

    sandbox.hold()
    try:
        for thread in others:
            thread.start()
        assert sandbox.wait_in_flight(sandbox.max_concurrent)
        records = list(make_client(sleep=back_off).export("Charged", OLD_DAY, OLD_DAY))
    finally:
        sandbox.release()
        for thread in others:
            thread.join(timeout=30)
    assert records == sandbox.truth("Charged", OLD_DAY)
    assert len(slept) == 1
    assert 0 <= slept[0] <= FAST_RETRIES.base_delay_s
    assert 429 in [r.status for r in sandbox.requests()]
    assert statuses == [200] * sandbox.max_concurrent


def _other_client_request(sandbox: CleverTapSandbox) -> int:
    headers = {
        "X-CleverTap-Account-Id": sandbox.account_id,
        "X-CleverTap-Passcode": SANDBOX_PASSCODE,
    }
    return requests.post(
        f"{sandbox.url}/1/events.json?batch_size=5",
        json={"event_name": "Sign Up", "from": 20261110, "to": 20261110},
        headers=headers,
        timeout=30,
    ).status_code


def test_retry_after_is_honoured_when_sent(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    sandbox.inject(Fault(429, "Too many concurrent requests", retry_after_s=0.04))
    list(make_client().export("Charged", OLD_DAY, OLD_DAY))
    assert sleeps == [0.04]


def test_server_errors_are_retried_then_succeed(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    sandbox.inject(Fault(502, "Bad Gateway"), Fault(503, "Service Unavailable"))
    records = list(make_client().export("Charged", OLD_DAY, OLD_DAY))
    assert records == sandbox.truth("Charged", OLD_DAY)
    assert len(sleeps) == 2
    assert [r.status for r in sandbox.requests()][:3] == [502, 503, 200]


def test_bad_passcode_fails_once_without_retries(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    client = make_client(passcode=SecretStr("NOT-THE-PASSCODE"))
    with pytest.raises(AuthenticationFailed) as raised:
        list(client.export("Charged", OLD_DAY, OLD_DAY))
    assert isinstance(raised.value, Terminal)
    assert "HEADWATER_CLEVERTAP__PASSCODE" in str(raised.value)
    assert "NOT-THE-PASSCODE" not in str(raised.value)
    assert sleeps == []
    assert [(r.method, r.status) for r in sandbox.requests()] == [("POST", 401)]


def test_an_unknown_event_is_an_invalid_request_not_retried(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    with pytest.raises(InvalidRequest, match="Event name is invalid"):
        list(make_client().export("Product Viewed", OLD_DAY, OLD_DAY))
    assert sleeps == []
    assert len(sandbox.requests()) == 1


def test_an_expired_cursor_is_not_retried_at_the_request_level(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    records = make_client(batch_size=20).export("App Launched", OLD_DAY, OLD_DAY)
    first = next(records)
    assert first == sandbox.truth("App Launched", OLD_DAY)[0]
    sandbox.expire_cursors()
    with pytest.raises(CursorExpired):
        list(records)
    assert sleeps == []
    assert [r.status for r in sandbox.requests()] == [200, 200, 400]


def test_an_unreachable_api_is_unavailable_after_bounded_retries(
    sandbox: CleverTapSandbox, make_client: MakeClient, sleeps: list[float]
) -> None:
    client = make_client()
    sandbox.stop()
    with pytest.raises(ApiUnavailable, match="ConnectionError"):
        list(client.export("Charged", OLD_DAY, OLD_DAY))
    assert len(sleeps) == FAST_RETRIES.attempts - 1


def test_a_body_that_is_not_json_is_unavailable(sleeps: list[float]) -> None:
    session = requests.Session()
    session.mount("http://html.invalid", _HtmlGateway())
    client = CleverTapClient(
        "http://html.invalid",
        "ACC",
        SecretStr("pass"),
        retry=RetryPolicy(attempts=2, base_delay_s=0.01),
        sleep=sleeps.append,
        session=session,
    )
    with pytest.raises(ApiUnavailable, match="HTTP 502 with a body that is not JSON"):
        client.start_export("Charged", OLD_DAY, OLD_DAY)
    assert len(sleeps) == 1


class _HtmlGateway(requests.adapters.BaseAdapter):
    """A load balancer's HTML error page."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        response = requests.Response()
        response.status_code = 502
        response._content = b"<html><body>502 Bad Gateway</body></html>"
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


def test_missing_credentials_name_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="HEADWATER_CLEVERTAP__ACCOUNT_ID"):
        CleverTapClient.from_settings(CleverTapSettings(passcode=SecretStr("x")))
    with pytest.raises(ConfigurationError, match="HEADWATER_CLEVERTAP__PASSCODE"):
        CleverTapClient.from_settings(CleverTapSettings(account_id="ACC"))


def test_the_credentials_and_content_type_headers_are_sent(
    sandbox: CleverTapSandbox, make_client: MakeClient
) -> None:
    seen: list[dict[str, str]] = []
    original = sandbox.handle

    def spy(method: str, target: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
        seen.append({"method": method, **headers})
        return original(method, target, headers, body)

    sandbox.handle = spy  # type: ignore[method-assign]
    list(make_client().export("Charged", OLD_DAY, OLD_DAY))
    post, get = seen[0], seen[1]
    assert post["x-clevertap-account-id"] == sandbox.account_id
    assert post["x-clevertap-passcode"] == SANDBOX_PASSCODE
    assert post["content-type"] == "application/json"
    assert get["x-clevertap-passcode"] == SANDBOX_PASSCODE
    assert "content-type" not in get


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            429,
            {"status": "fail", "error": "Too many concurrent requests", "code": 429},
            RateLimited,
        ),
        (200, {"status": "fail", "error": "Too many concurrent requests"}, RateLimited),
        (200, {"status": "fail", "error": "busy", "code": 429}, RateLimited),
        (
            401,
            {"status": "fail", "error": "Invalid credentials", "code": 401},
            AuthenticationFailed,
        ),
        (
            200,
            {"status": "fail", "error": "Invalid credentials", "code": 401},
            AuthenticationFailed,
        ),
        (
            403,
            {"status": "fail", "error": "Operation not allowed", "code": 403},
            AuthenticationFailed,
        ),
        (400, {"status": "fail", "error": "Invalid date range", "code": 400}, InvalidRequest),
        (404, {"status": "fail", "error": "Not found", "code": 404}, InvalidRequest),
        (400, {"status": "fail", "error": "Cursor expired or invalid", "code": 400}, CursorExpired),
        (500, {"status": "fail", "error": "Internal error", "code": 500}, ApiUnavailable),
        (503, {"status": "fail", "error": "Service Unavailable"}, ApiUnavailable),
        (200, {"status": "fail", "error": "Internal error", "code": 500}, ApiUnavailable),
        (200, {"status": "fail"}, ApiUnavailable),
        (408, {"status": "fail", "error": "Request timeout"}, ApiUnavailable),
    ],
)
def test_error_table(status: int, body: dict[str, object], expected: type[SourceError]) -> None:
    error = classify(status, ErrorBody.model_validate(body))
    assert type(error) is expected
    assert isinstance(error, Transient) == (expected in (RateLimited, ApiUnavailable))
    assert f"HTTP {status}" in str(error)
