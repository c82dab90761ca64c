"""The one client base: error rules, the first matching rule, and JsonApi's call.

JsonApi is driven through a ``requests.Session`` whose transport is a scripted adapter, so
each test decides what the wire answers (or how it fails) without a server or a sleep.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from prometheus_client import REGISTRY

from headwater.errors import ConfigurationError, Terminal
from producers.base import (
    ApiUnavailable,
    AuthenticationFailed,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
)
from producers.http import ErrorRule, JsonApi, Refusal, first_match
from producers.retry import RetryPolicy

SECRET = "tok-3f9a-very-secret"
BASE = "http://api.invalid"

RULES = (
    ErrorRule(RateLimited, "throttled", http={400}, codes={4, 17}),
    ErrorRule(AuthenticationFailed, "token expired", codes={190}, subcodes={463}),
    ErrorRule(InvalidRequest, "unknown field", codes={"queryError.BAD_FIELD"}, setting="FIELDS"),
    ErrorRule(ApiUnavailable, "busy", status="UNAVAILABLE", message="try again"),
    ErrorRule(ApiUnavailable, "server error", http=range(500, 600)),
)


@pytest.mark.parametrize(
    ("refusal", "meaning"),
    [
        (Refusal(http=400, codes=(17,)), "throttled"),
        (Refusal(http=400, codes=(99, 4)), "throttled"),  # any of the codes
        (Refusal(http=429, codes=(4,)), None),  # every set condition must hold
        (Refusal(http=400, codes=(190,), subcode=463), "token expired"),
        (Refusal(http=400, codes=(190,)), None),  # the subcode is a condition
        (
            Refusal(http=400, codes=("queryError", "queryError.BAD_FIELD")),
            "unknown field",
        ),
        (Refusal(http=400, codes=("queryError",)), None),
        (Refusal(http=503, status="UNAVAILABLE", message="Please TRY AGAIN later"), "busy"),
        (Refusal(http=503, status="UNAVAILABLE", message="down"), "server error"),
        (Refusal(http=404), None),
    ],
)
def test_the_first_rule_whose_conditions_all_hold_wins(
    refusal: Refusal, meaning: str | None
) -> None:
    rule = first_match(RULES, refusal)
    assert (rule.meaning if rule else None) == meaning


def test_a_rule_without_conditions_matches_every_refusal() -> None:
    anything = ErrorRule(ApiUnavailable, "anything")
    assert anything.matches(Refusal(http=200))
    assert anything.matches(Refusal(http=400, codes=(1, "x"), subcode=2, status="S", message="m"))


def test_a_throttle_rule_carries_the_wait_and_others_only_the_message() -> None:
    limited = ErrorRule(RateLimited, "slow down").error_for("m", retry_after_s=30.0)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after_s == 30.0
    quota = ErrorRule(QuotaExhausted, "for hours").error_for("m", retry_after_s=7200.0)
    assert isinstance(quota, QuotaExhausted)
    assert quota.retry_after_s == 7200.0
    denied = ErrorRule(AuthenticationFailed, "no").error_for("token refused", retry_after_s=5.0)
    assert type(denied) is AuthenticationFailed
    assert str(denied) == "token refused"


class ScriptedTransport(requests.adapters.BaseAdapter):
    """Answers each request with the next scripted step: a (status, body) or an exception."""

    def __init__(self, *steps: tuple[int, Any] | Exception) -> None:
        super().__init__()
        self.steps = list(steps)
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.urls.append(str(request.url))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body = step
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


class TokenApi(JsonApi[dict[str, Any]]):
    """A minimal client: the token rides in the URL, refusals go through ``RULES``."""

    source = "test_http_api"
    endpoints = ("thing",)
    url_setting = "HEADWATER_TEST__API_URL"

    def __init__(self, base: str = BASE, **options: Any) -> None:
        super().__init__(**options)
        self.base = base
        self.paced = 0

    def fetch(self) -> dict[str, Any]:
        return self.call("fetch thing", "thing", "GET", f"{self.base}/thing?token={SECRET}")

    def pace(self) -> None:
        self.paced += 1

    def redact(self, text: str) -> str:
        return text.replace(SECRET, "***")

    def settle(self, response: requests.Response, what: str) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        if response.ok:
            return body
        refusal = Refusal(http=response.status_code, codes=tuple(body.get("codes", [])))
        rule = first_match(RULES, refusal) or ErrorRule(InvalidRequest, "unknown refusal")
        raise rule.error_for(f"{what}: {rule.meaning}")


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that escapes the scripted transport fails loudly instead of leaving the box."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a request reached the real network")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def api_on(transport: ScriptedTransport, sleeps: list[float], **options: Any) -> TokenApi:
    session = requests.Session()
    session.mount(BASE, transport)
    policy = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.05)
    return TokenApi(session=session, retry=policy, sleep=sleeps.append, **options)


def requests_total(outcome: str) -> float:
    labels = {"source": "test_http_api", "endpoint": "thing", "outcome": outcome}
    return REGISTRY.get_sample_value("headwater_poller_api_requests_total", labels) or 0.0


def test_a_transient_refusal_is_retried_then_succeeds(sleeps: list[float]) -> None:
    transport = ScriptedTransport((503, {}), (400, {"codes": [4]}), (200, {"ok": True}))
    retried: list[tuple[str, float]] = []
    api = api_on(
        transport, sleeps, on_retry=lambda error, delay: retried.append((str(error), delay))
    )
    before = {outcome: requests_total(outcome) for outcome in ("ok", "unavailable", "throttled")}

    assert api.fetch() == {"ok": True}

    assert len(transport.urls) == 3
    assert [message for message, _ in retried] == [
        "fetch thing: server error",
        "fetch thing: throttled",
    ]
    assert sleeps == [delay for _, delay in retried]
    assert api.paced == 3  # paced before every attempt
    counted = {outcome: requests_total(outcome) - before[outcome] for outcome in before}
    assert counted == {"ok": 1, "unavailable": 1, "throttled": 1}


def test_a_terminal_refusal_is_raised_at_once(sleeps: list[float]) -> None:
    transport = ScriptedTransport((400, {"codes": [190]}), (200, {"ok": True}))
    with pytest.raises(InvalidRequest, match="unknown refusal"):
        api_on(transport, sleeps).fetch()
    assert len(transport.urls) == 1
    assert sleeps == []


def test_a_network_error_is_unavailable_with_the_secret_redacted(sleeps: list[float]) -> None:
    refused = requests.ConnectionError(f"cannot reach {BASE}/thing?token={SECRET}")
    transport = ScriptedTransport(refused, refused, refused)

    with pytest.raises(ApiUnavailable) as raised:
        api_on(transport, sleeps).fetch()

    message = str(raised.value)
    assert message.startswith("test_http_api: fetch thing: ConnectionError: cannot reach")
    assert "token=***" in message
    assert SECRET not in message
    assert raised.value.__cause__ is None  # the original holds the URL, secret included
    assert raised.value.__suppress_context__
    assert len(transport.urls) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("base", ["api.invalid", "ftp://api.invalid", "http://"])
def test_a_malformed_base_url_is_a_configuration_error_naming_its_setting(
    base: str, sleeps: list[float]
) -> None:
    api = TokenApi(base, retry=RetryPolicy(attempts=3), sleep=sleeps.append)

    with pytest.raises(ConfigurationError) as raised:
        api.fetch()

    assert raised.value.setting == "HEADWATER_TEST__API_URL"
    assert isinstance(raised.value, Terminal)
    assert SECRET not in str(raised.value)
    assert sleeps == []  # terminal: never retried


def test_retried_runs_a_multi_request_attempt_again(sleeps: list[float]) -> None:
    attempts: list[int] = []

    def attempt() -> str:
        attempts.append(len(attempts))
        if len(attempts) < 2:
            raise ApiUnavailable("first try fails")
        return "done"

    api = api_on(ScriptedTransport(), sleeps)
    assert api.retried(attempt, "two steps") == "done"
    assert attempts == [0, 1]
    assert len(sleeps) == 1


def test_close_releases_the_session() -> None:
    closed: list[bool] = []

    class Session(requests.Session):
        def close(self) -> None:
            closed.append(True)
            super().close()

    TokenApi(session=Session()).close()
    assert closed == [True]
