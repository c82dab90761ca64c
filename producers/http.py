"""One base for the API clients: a JSON call over ``requests``, retried, metered, redacted.

As ``singer_sdk/streams/rest.py`` gives every REST stream one base with hooks, :class:`JsonApi`
gives every client the same plumbing: the session and its timeout, bounded retries of
transient errors (:func:`producers.retry.with_retries`), request and backoff metrics
(:mod:`producers.metrics`), network errors as :class:`~producers.base.ApiUnavailable` with
secrets redacted, and a malformed base URL as a :class:`~headwater.errors.ConfigurationError`
naming its setting. A client states only what is its own: which answers are refusals and what
they mean (:meth:`JsonApi.settle`, with a table of :class:`ErrorRule`), how it paces itself
(:meth:`JsonApi.pace`) and which secret travels in its URLs (:meth:`JsonApi.redact`).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import requests
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema, SSLError

from headwater.errors import ConfigurationError
from producers import metrics
from producers.base import (
    ApiUnavailable,
    CertificateRefused,
    QuotaExhausted,
    RateLimited,
    SourceError,
)
from producers.retry import RetryPolicy, with_retries

Body = TypeVar("Body")
T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """An API's refusal, in the terms error tables match on.

    ``codes`` are the API's own error codes: Graph's ``code``, CleverTap's body ``code``,
    Google's error codes both as ``"kind"`` and as ``"kind.VALUE"``
    (``("authenticationError", "authenticationError.OAUTH_TOKEN_EXPIRED")``).
    ``status`` is the google.rpc canonical status (``"UNAUTHENTICATED"``), where there is one.
    """

    http: int
    codes: tuple[int | str, ...] = ()
    subcode: int | None = None
    status: str | None = None
    message: str = ""


@dataclass(frozen=True)
class ErrorRule:
    """One row of an error table: what a refusal looks like, and the error it becomes.

    Every condition the rule sets must hold; an unset one (None) matches anything. ``codes``
    holds when any of the refusal's codes is in it; ``message`` (lower case) when it is
    inside the refusal's message. ``setting`` names the setting a person fixes, if any.
    """

    error: type[SourceError]
    meaning: str
    http: Collection[int] | None = None
    codes: Collection[int | str] | None = None
    subcodes: Collection[int] | None = None
    status: str | None = None
    message: str | None = None
    setting: str | None = None

    def matches(self, refusal: Refusal) -> bool:
        """Whether this rule describes the refusal."""
        return (
            (self.http is None or refusal.http in self.http)
            and (self.codes is None or any(code in self.codes for code in refusal.codes))
            and (self.subcodes is None or refusal.subcode in self.subcodes)
            and (self.status is None or refusal.status == self.status)
            and (self.message is None or self.message in refusal.message.lower())
        )

    def error_for(self, message: str, retry_after_s: float | None = None) -> SourceError:
        """The rule's error, carrying the API's wait hint when the error is a throttle."""
        if issubclass(self.error, (RateLimited, QuotaExhausted)):
            return self.error(message, retry_after_s=retry_after_s)
        return self.error(message)


def json_of(response: requests.Response) -> Any:
    """The answer's JSON; ValueError for an answer that has none it can give: no JSON, bytes
    that are no UTF-8 (``response.json()`` would read them as U+FFFD, and a damaged name
    would pass for data), or nesting deeper than the parser's recursion goes."""
    try:
        return json.loads(response.content)  # JSON is UTF-8 (RFC 8259), whatever the headers say
    except RecursionError as error:  # "[[[[..." a hundred thousand deep
        raise ValueError(f"JSON nested too deep to read: {error}") from None


def certificate_refused(
    what: str, url: str, error: SSLError, redact: Callable[[str], str] = str
) -> CertificateRefused:
    """The error of a TLS handshake with ``url`` that failed, secrets redacted."""
    cause = error.args[0] if error.args else error
    seen = getattr(cause, "reason", cause)  # urllib3's MaxRetryError: what the handshake said
    return CertificateRefused(
        f"{what}: TLS with {redact(url)} failed: {redact(str(seen))} (the server's certificate "
        "must verify against HEADWATER_POLLER__CA_FILE, or the public CAs when that is not set)"
    )


def first_match(rules: Iterable[ErrorRule], refusal: Refusal) -> ErrorRule | None:
    """The first rule of a table that describes the refusal (tables are ordered: first wins)."""
    return next((rule for rule in rules if rule.matches(refusal)), None)


class JsonApi(ABC, Generic[Body]):
    """The base of every API client: one request, retried, metered, its answer settled.

    Subclasses set ``source`` (the metrics' ``source`` label), ``endpoints`` (every
    ``endpoint`` label they use) and ``url_setting`` (the setting that names the base URL),
    and implement :meth:`settle`.
    """

    source: ClassVar[str]
    endpoints: ClassVar[tuple[str, ...]]
    url_setting: ClassVar[str]

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 60.0,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._on_retry = on_retry
        metrics.declare_source(self.source, self.endpoints)

    def call(self, what: str, endpoint: str, method: str, url: str, **request: Any) -> Body:
        """One request, retried while it fails transiently; its settled answer."""
        return self.retried(lambda: self.once(what, endpoint, method, url, **request), what)

    def once(self, what: str, endpoint: str, method: str, url: str, **request: Any) -> Body:
        """One request, paced and metered: the settled answer, or the error it means."""
        self.pace()
        with metrics.api_request(self.source, endpoint):
            return self.settle(self._send(what, method, url, request), what)

    def retried(self, attempt: Callable[[], T], what: str) -> T:
        """``attempt`` retried by the client's policy; for attempts of several requests."""
        return with_retries(
            attempt,
            self.retry,
            f"{self.source} {what}",
            sleep=self._sleep,
            on_retry=self._on_retry,
            source=self.source,
        )

    def pace(self) -> None:
        """Hook: wait before a request if the API asks us to slow down (default: never)."""

    def redact(self, text: str) -> str:
        """Hook: ``text`` without the secrets this client puts in URLs (default: none)."""
        return text

    @abstractmethod
    def settle(self, response: requests.Response, what: str) -> Body:
        """Hook: the answer's body, or raise the SourceError its refusal means."""

    def close(self) -> None:
        """Release the session's connections."""
        self.session.close()

    def _send(self, what: str, method: str, url: str, request: dict[str, Any]) -> requests.Response:
        # Never chained: the original exception's text and cause hold the whole URL, which
        # may carry a secret (Graph's access_token); its type and redacted text are kept.
        try:
            return self.session.request(method, url, timeout=self.timeout_s, **request)
        except (InvalidURL, InvalidSchema, MissingSchema) as error:
            raise ConfigurationError(self.url_setting, self.redact(str(error))) from None
        except SSLError as error:
            raise certificate_refused(f"{self.source}: {what}", url, error, self.redact) from None
        except requests.RequestException as error:
            detail = f"{type(error).__name__}: {self.redact(str(error))}"
            raise ApiUnavailable(f"{self.source}: {what}: {detail}") from None
