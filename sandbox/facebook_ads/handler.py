"""The HTTP side of the Facebook sandbox: query and form parameters in, JSON out."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sandbox.facebook_ads.errors import GraphApiError, trace_id

log = logging.getLogger(__name__)

Reply = tuple[int, Any, dict[str, str]]


class Api(Protocol):
    """What answers the requests."""

    def handle(
        self, method: str, path: str, params: dict[str, str], token: str | None = None
    ) -> Reply:
        """Status, JSON body and headers of one request."""
        ...


def handler_for(api: Api) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving ``api``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            params = _single(parse_qs(split.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                form = self.rfile.read(length).decode()
                params.update(_single(parse_qs(form, keep_blank_values=True)))
            token = _bearer(self.headers.get("Authorization"))
            try:
                status, body, headers = api.handle(method, split.path, params, token)
            except Exception as error:  # a sandbox bug: answer like the API's own 500s
                log.exception("facebook sandbox failed on a request")
                status, headers = 500, {}
                body = GraphApiError(1, f"An unknown error occurred: {error}", status=500).body()
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-fb-trace-id", trace_id())
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("facebook sandbox: " + format, *args)

    return Handler


def _single(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[-1] for key, items in values.items()}


def _bearer(header: str | None) -> str | None:
    if header and header.split(" ", 1)[0].lower() in ("oauth", "bearer"):
        return header.split(" ", 1)[1].strip()
    return None
