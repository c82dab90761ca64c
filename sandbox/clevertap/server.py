"""A local stand-in for the CleverTap Server API's events export, served in a thread.

Besides the API (see :mod:`sandbox.clevertap.api`) it enforces CleverTap's only published
limit, on concurrency: more than ``max_concurrent`` requests in flight get HTTP 429 "Too many
concurrent requests" (https://developer.clevertap.com/docs/api-request-limit; there are no
time-window limits, https://developer.clevertap.com/docs/faqs). Test-only endpoints live under
``/__sandbox/`` (see :mod:`sandbox.clevertap.control`); the same controls are methods here.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sandbox.clevertap.api import EventsApi, Reply, fail
from sandbox.clevertap.control import CONTROL_PREFIX, Fault, control
from sandbox.clevertap.data import EventHistory, Lateness
from sandbox.clevertap.exports import ExportStore
from sandbox.http_server import HttpSandbox

log = logging.getLogger(__name__)

SANDBOX_ACCOUNT_ID: Final = "W8R-Z44-5K6Z"
SANDBOX_PASSCODE: Final = "SBX-HDW-PASS"
HELD_REQUEST_TIMEOUT_S: Final = 30.0
# The account's timezone: ``ts`` and the export's days are in it (HEADWATER_CLEVERTAP__TIMEZONE).
ACCOUNT_ZONE: Final = ZoneInfo("Asia/Kolkata")
REQUEST_LOG_SIZE: Final = 100_000  # bounded, for a sandbox served for days


@dataclass(frozen=True)
class LoggedRequest:
    """One request the sandbox answered."""

    method: str
    path: str
    status: int


class CleverTapSandbox(HttpSandbox):
    """The CleverTap events export of one seeded account, on a loopback port."""

    name = "clevertap"

    def __init__(
        self,
        seed: int,
        host: str = "127.0.0.1",
        port: int = 0,
        today: Callable[[], date] | None = None,
        max_concurrent: int = 3,
        *,
        account_id: str = SANDBOX_ACCOUNT_ID,
        passcode: str = SANDBOX_PASSCODE,
        zone: tzinfo = ACCOUNT_ZONE,
        daily_volume: Mapping[str, int] | None = None,
        users: int = 2_000,
        lateness: Lateness | None = None,
        latency_s: float = 0.0,
        cursor_ttl_s: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            host,
            port,
            _handler_for(self),
            thread_name="clevertap-sandbox",
            not_started="the CleverTap sandbox is not started",
        )
        self.max_concurrent = max_concurrent
        self.account_id = account_id
        self.timezone = zone
        self.today: Callable[[], date] = today or (lambda: datetime.now(self.timezone).date())
        self.latency_s = latency_s
        self.history = EventHistory(seed, daily_volume, users, lateness)
        self.exports = ExportStore(cursor_ttl_s, clock)
        self._api = EventsApi(
            self.history, self.exports, account_id, passcode, lambda: self.epoch, self.today
        )
        self._epoch = 0
        self._faults: deque[Fault] = deque()
        self._log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._in_flight = 0
        self._state = threading.Condition()
        self._open_gate = threading.Event()
        self._open_gate.set()

    # -- SandboxServer ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving, release held requests and the port."""
        self.release()
        super().stop()

    # -- ground truth and test controls ----------------------------------------------------

    @property
    def epoch(self) -> int:
        """The arrival epoch: late events of recent days with an arrival at or before it show."""
        with self._state:
            return self._epoch

    def advance(self) -> int:
        """Let the next wave of late events arrive; the new epoch."""
        with self._state:
            self._epoch += 1
            return self._epoch

    def truth(self, event_name: str, day: date) -> list[dict[str, Any]]:
        """The records an export of that event and day returns now (copies)."""
        return copy.deepcopy(self.history.visible(event_name, day, self.epoch, self.today()))

    def inject(self, *faults: Fault) -> None:
        """Answer the next API requests with these refusals, in order."""
        with self._state:
            self._faults.extend(faults)

    def expire_cursors(self) -> int:
        """Invalidate every open cursor; how many there were."""
        return self.exports.expire_all()

    def hold(self) -> None:
        """Keep API requests in flight (counted against the limit) until :meth:`release`."""
        self._open_gate.clear()

    def release(self) -> None:
        """Let held requests proceed."""
        self._open_gate.set()

    @property
    def in_flight(self) -> int:
        """API requests being served now."""
        with self._state:
            return self._in_flight

    def wait_in_flight(self, count: int, timeout_s: float = 10.0) -> bool:
        """Wait until exactly ``count`` API requests are in flight; whether that happened."""
        with self._state:
            return self._state.wait_for(lambda: self._in_flight == count, timeout=timeout_s)

    def requests(self) -> list[LoggedRequest]:
        """The requests answered so far (the last 100,000), oldest first."""
        with self._state:
            return list(self._log)

    # -- serving ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request; ``headers`` have lower-case names."""
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        if parts.path.startswith(CONTROL_PREFIX):
            action = parts.path.removeprefix(CONTROL_PREFIX)
            reply = control(self, method, action, query, body)
        else:
            reply = self._within_limit(
                lambda: self._api.handle(method, parts.path, query, headers, body)
            )
        with self._state:
            self._log.append(LoggedRequest(method, parts.path, reply.status))
        return reply

    def _within_limit(self, answer: Callable[[], Reply]) -> Reply:
        """``answer()`` within the concurrency limit, after any hold, latency or injected fault."""
        with self._state:
            if self._in_flight >= self.max_concurrent:
                return fail(429, "Too many concurrent requests")
            self._in_flight += 1
            self._state.notify_all()
        try:
            self._open_gate.wait(timeout=HELD_REQUEST_TIMEOUT_S)
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            with self._state:
                fault = self._faults.popleft() if self._faults else None
            if fault is not None:
                return fault.reply()
            return answer()
        finally:
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms
    # for a delayed ACK between them on every request.
    disable_nagle_algorithm = True
    sandbox: ClassVar[CleverTapSandbox]

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            reply = self.sandbox.handle(method, self.path, headers, body)
        except Exception:
            log.exception("clevertap sandbox failed to answer", extra={"path": self.path})
            reply = fail(500, "Internal error")
        payload = json.dumps(reply.body, ensure_ascii=False).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("clevertap sandbox: " + format, *args)


def _handler_for(owner: CleverTapSandbox) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving ``owner``."""

    class Handler(_Handler):
        sandbox = owner

    return Handler
