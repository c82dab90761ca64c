"""A tiny HTTP server that answers what a test scripts: any status, headers and bytes, also
a body cut short mid-transfer, so that an API client meets the malformed answers a real API
(or a proxy in front of it) can send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http_server import HttpSandbox

JSON = (("Content-Type", "application/json; charset=UTF-8"),)
HTML = (("Content-Type", "text/html; charset=UTF-8"),)


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers and body; ``cut_at`` sends only that many bytes of a body
    whose full length the headers announce, then closes the connection."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = JSON
    cut_at: int | None = None


@dataclass(frozen=True)
class Request:
    """What the client sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = field(repr=False)


Script = Callable[[Request, str], Reply]


class ScriptedApi(HttpSandbox):
    """Serves ``script(request, base_url)`` on a free local port."""

    def __init__(self, script: Script) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Request(self.command, parts.path, query, dict(self.headers), body)
                reply = script(request, server.url)
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.cut_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply.body if reply.cut_at is None else reply.body[: reply.cut_at])
                if reply.cut_at is not None:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test says what went wrong

        super().__init__("127.0.0.1", 0, Handler, thread_name="scripted-api")
