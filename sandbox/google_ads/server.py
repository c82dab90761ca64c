"""A faithful local Google Ads API (REST searchStream) and its OAuth token endpoint.

One base URL serves ``POST /{version}/customers/{id}/googleAds:searchStream`` and
``POST /token``; test-only endpoints live under ``/__sandbox/``. It reproduces what a client
must survive: access tokens that expire (401 UNAUTHENTICATED), a developer token that must
match, revoked refresh tokens (400 ``invalid_grant``), a request quota per time window (429
RESOURCE_EXHAUSTED with ``retryDelay``), failures in the middle of a stream, sunset versions
and inaccessible customers, with error bodies shaped like the real API's
(https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.google_ads.data import HISTORY_DAYS, AdsData
from sandbox.google_ads.gaql import GaqlError, parse
from sandbox.google_ads.wire import (
    ApiError,
    batches,
    failure,
    json_object,
    status_body,
    token_error,
    unauthenticated,
)
from sandbox.http_server import HttpSandbox

_STREAM_PATH = re.compile(
    r"^/(?P<version>v\d+)/customers/(?P<customer>[^/]+)/googleAds:searchStream$"
)


@dataclass
class Quota:
    """A request budget per fixed time window; beyond it, 429 with this ``retryDelay``."""

    requests: int
    window_s: float = 60.0
    retry_delay: str = "2s"
    rate_scope: str = "DEVELOPER"
    _window_start: float | None = field(default=None, repr=False)
    _used: int = field(default=0, repr=False)

    def spend(self, now: float) -> bool:
        """Count one request; False when the window's budget is already spent."""
        if self._window_start is None or now - self._window_start >= self.window_s:
            self._window_start, self._used = now, 0
        if self._used >= self.requests:
            return False
        self._used += 1
        return True


@dataclass(frozen=True)
class SeenRequest:
    """What the sandbox recorded of one searchStream call (never the credentials)."""

    customer_id: str
    login_customer_id: str | None
    query: str
    status: int


class GoogleAdsSandbox(HttpSandbox):
    """The Google Ads stand-in; credentials for tests are the class constants below."""

    name = "google_ads"
    # The sandbox's published test credentials (not secrets).
    DEVELOPER_TOKEN = "sandbox-developer-token"  # noqa: S105
    CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
    CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
    REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105
    UNKNOWN_CUSTOMER_ID = "9999999999"

    def __init__(
        self,
        seed: int,
        host: str = "127.0.0.1",
        port: int = 0,
        today: Callable[[], date] | None = None,
        *,
        batch_size: int = 10_000,
        token_lifetime_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        versions: tuple[str, ...] = ("v20", "v21", "v22"),
        manager_customer_id: str | None = None,
        unknown_customer_ids: tuple[str, ...] = (UNKNOWN_CUSTOMER_ID,),
        quota: Quota | None = None,
        ad_groups_per_campaign: int = 2,
    ) -> None:
        super().__init__(host, port, _handler(self), thread_name="sandbox-google-ads")
        self.data = AdsData(
            seed, today or (lambda: datetime.now(UTC).date()), ad_groups_per_campaign
        )
        self.batch_size = batch_size
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.versions = versions
        self.manager_customer_id = manager_customer_id
        self.unknown_customer_ids = unknown_customer_ids
        self.quota = quota
        self.developer_token_approved = True
        self.mid_stream_failures = 0  # how many coming streams fail ...
        self.mid_stream_after_batches = 1  # ... after this many batches
        self.token_requests = 0
        self.seen: list[SeenRequest] = []
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def restate(self) -> int:
        """Restate the last 30 days (conversions, value, a little cost); the new epoch."""
        return self.data.restate()

    def truth(self, customer_id: str, day: date) -> list[dict[str, Any]]:
        """The full rows of one customer and day, as the API serves them now."""
        return self.data.rows(customer_id, day, day, by_date=True)

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: the refresh-token grant of RFC 6749 section 6."""
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "refresh_token":
            return token_error(400, "unsupported_grant_type", "Invalid grant_type.")
        if (
            form.get("client_id") != self.CLIENT_ID
            or form.get("client_secret") != self.CLIENT_SECRET
        ):
            return token_error(401, "invalid_client", "The OAuth client was not found.")
        if form.get("refresh_token") != self.REFRESH_TOKEN:
            return token_error(400, "invalid_grant", "Token has been expired or revoked.")
        token = f"ya29.sandbox-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = self.clock() + self.token_lifetime_s
        return 200, {
            "access_token": token,
            "expires_in": int(self.token_lifetime_s),
            "scope": "https://www.googleapis.com/auth/adwords",
            "token_type": "Bearer",
        }

    def search_stream(
        self, version: str, customer_id: str, headers: dict[str, str], body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The stream's elements (batches, maybe an error after some); ApiError when refused."""
        login = headers.get("login-customer-id")
        try:
            elements = self._stream(version, customer_id, headers, body)
        except ApiError as error:
            self.seen.append(SeenRequest(customer_id, login, str(body.get("query")), error.http))
            raise
        self.seen.append(SeenRequest(customer_id, login, str(body.get("query")), 200))
        return elements

    def _stream(
        self, version: str, customer_id: str, headers: dict[str, str], body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if version not in self.versions:
            message = f"Version {version} is deprecated. Requests to this version are blocked."
            raise failure(version, "requestError", "UNSUPPORTED_VERSION", message)
        self._authenticate(version, headers)
        if not re.fullmatch(r"\d{10}", customer_id):
            message = f"Invalid customer ID '{customer_id}'."
            raise failure(version, "requestError", "INVALID_CUSTOMER_ID", message)
        with self._lock:
            exhausted = self.quota is not None and not self.quota.spend(self.clock())
        if self.quota is not None and exhausted:
            details = {
                "quotaErrorDetails": {
                    "rateScope": self.quota.rate_scope,
                    "rateName": "Number of operations for basic access",
                    "retryDelay": self.quota.retry_delay,
                }
            }
            raise failure(version, "quotaError", "RESOURCE_EXHAUSTED", details=details)
        login = headers.get("login-customer-id")
        manager = self.manager_customer_id
        if customer_id in self.unknown_customer_ids or (manager and login != manager):
            raise failure(version, "authorizationError", "USER_PERMISSION_DENIED")
        today = self.data.today()
        try:
            query = parse(str(body.get("query", "")), today)
        except GaqlError as error:
            raise failure(
                version, error.kind, error.code, error.message, trigger=error.trigger
            ) from error
        since = query.since or today - timedelta(HISTORY_DAYS)  # no range: the whole history
        rows = self.data.rows(customer_id, since, query.until or today, by_date=query.by_date)
        results = [query.project(row) for row in rows if query.keeps(row)][: query.limit]
        elements = batches(results, self.batch_size, query.field_mask())
        with self._lock:
            failing = self.mid_stream_failures > 0
            self.mid_stream_failures -= int(failing)
        if failing:  # some batches, then a google.rpc.Status as an element of the array
            cut = min(self.mid_stream_after_batches, len(elements))
            broken = failure(version, "internalError", "INTERNAL_ERROR")
            elements = [*elements[:cut], broken.body]
        return elements

    def _authenticate(self, version: str, headers: dict[str, str]) -> None:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            raise unauthenticated()
        with self._lock:
            expires_at = self._tokens.get(authorization.removeprefix("Bearer "))
        if expires_at is None:
            raise failure(version, "authenticationError", "OAUTH_TOKEN_INVALID")
        if self.clock() >= expires_at:
            raise failure(version, "authenticationError", "OAUTH_TOKEN_EXPIRED")
        developer_token = headers.get("developer-token")
        if developer_token is None:
            raise failure(version, "requestError", "DEVELOPER_TOKEN_PARAMETER_MISSING")
        if developer_token != self.DEVELOPER_TOKEN:
            raise failure(version, "authenticationError", "DEVELOPER_TOKEN_INVALID")
        if not self.developer_token_approved:
            raise failure(version, "authorizationError", "DEVELOPER_TOKEN_NOT_APPROVED")


def _handler(sandbox: GoogleAdsSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the stream is chunked, as the real one is
        disable_nagle_algorithm = True  # no 40 ms stalls between writes on keep-alive

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and the demo read outcomes, not access logs."""

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if path == "/token":
                form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                self._json(*sandbox.issue_token(form))
            elif path == "/__sandbox/restate":
                self._json(200, {"epoch": sandbox.restate()})
            elif match := _STREAM_PATH.match(path):
                self._search_stream(match["version"], match["customer"], raw)
            else:
                self._not_found()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/__sandbox/truth":
                try:
                    day = date.fromisoformat(query["date"])
                    self._json(200, sandbox.truth(query["customer_id"], day))
                except (KeyError, ValueError):
                    usage = "expected customer_id=<10 digits>&date=<YYYY-MM-DD>"
                    self._json(*status_body(400, "INVALID_ARGUMENT", usage))
            elif url.path == "/__sandbox/stats":
                self._json(
                    200,
                    {
                        "epoch": sandbox.data.epoch,
                        "token_requests": sandbox.token_requests,
                        "search_requests": len(sandbox.seen),
                    },
                )
            else:
                self._not_found()

        def _search_stream(self, version: str, customer: str, raw: bytes) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                body = json_object(raw)
                elements = sandbox.search_stream(version, customer, headers, body)
            except ApiError as error:
                self._json(error.http, error.body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for index, element in enumerate(elements):
                self._chunk(("[" if index == 0 else ",\r\n") + json.dumps(element))
            self._chunk("]")
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

        def _not_found(self) -> None:
            self._json(*status_body(404, "NOT_FOUND", f"{self.path} not found"))

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
