"""The HTTP lifecycle the sandbox API stand-ins share: bind on start(), serve on a daemon thread."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

POLL_INTERVAL_S = 0.05  # how soon the serving thread notices stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request still in a handler does not keep the process alive
    allow_reuse_address = True  # a fixed port is free again as soon as stop() returns
    tls: ssl.SSLContext | None = None
    refused_handshakes = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the request's own thread, so a slow or refusing client
        # (one that does not trust our certificate) holds up no other.
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            secured = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused_handshakes += 1  # the client gave up (it does not trust us): its
            return  # error is the client's to report
        with secured:
            super().finish_request(secured, client_address)


def tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context serving the certificate chain ``cert_file`` with ``key_file``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class HttpSandbox:
    """A SandboxServer over http.server: start() binds and serves, stop() releases the port."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: type[BaseHTTPRequestHandler],
        *,
        thread_name: str,
        not_started: str = "the sandbox is not started: start() it first",
    ) -> None:
        self.host = host
        self.port = port
        self._handler = handler
        self._thread_name = thread_name
        self._not_started = not_started
        self._serving: tuple[_Server, threading.Thread] | None = None
        self._tls: ssl.SSLContext | None = None

    def serve_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS with this context from the next start() on."""
        self._tls = context

    @property
    def scheme(self) -> str:
        """``https`` when serving TLS, else ``http``."""
        return "http" if self._tls is None else "https"

    @property
    def bound_port(self) -> int | None:
        """The port being served; None before start() and after stop()."""
        return None if self._serving is None else self._serving[0].server_address[1]

    @property
    def refused_handshakes(self) -> int:
        """TLS handshakes that failed since start() (a client that refused the certificate)."""
        return 0 if self._serving is None else self._serving[0].refused_handshakes

    @property
    def url(self) -> str:
        """The base URL a client setting should point at; RuntimeError when not serving."""
        port = self.bound_port
        if port is None:
            raise RuntimeError(self._not_started)
        return f"{self.scheme}://{self.host}:{port}"

    def start(self) -> None:
        """Bind the port and serve in a background thread (no-op when serving)."""
        if self._serving is not None:
            return
        server = _Server((self.host, self.port), self._handler)
        server.tls = self._tls
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=self._thread_name,
            daemon=True,
        )
        thread.start()
        self._serving = server, thread

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._serving is None:
            return
        server, thread = self._serving
        server.shutdown()  # returns once serve_forever has ended
        server.server_close()
        thread.join(timeout=10)
        self._serving = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
