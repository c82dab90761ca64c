"""The stack's CA signs a server certificate that a verifying TLS client accepts for its hosts."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from control.stack.tls import StackTls


def _handshake(tls: StackTls, server_name: str) -> str:
    """A TLS handshake over a socket pair: the server serves the stack's cert, the client
    verifies it against ca.pem for ``server_name``; returns the negotiated version."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tls.server_cert, tls.server_key)
    client_context = ssl.create_default_context(cafile=str(tls.ca_cert))
    left, right = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server_context.wrap_socket(right, server_side=True) as server:
                server.recv(1)
        except (ssl.SSLError, OSError) as error:
            errors.append(error)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_context.wrap_socket(left, server_hostname=server_name) as client:
            client.send(b"x")
            return str(client.version())
    finally:
        thread.join(timeout=10)


def test_the_server_certificate_verifies_for_localhost_and_the_loopback_address(
    tmp_path: Path,
) -> None:
    tls = StackTls(tmp_path / "tls")
    tls.ensure()
    assert _handshake(tls, "localhost").startswith("TLS")
    assert _handshake(tls, "127.0.0.1").startswith("TLS")
    assert oct(tls.server_key.stat().st_mode & 0o777) == "0o600"
    assert oct(tls.ca_key.stat().st_mode & 0o777) == "0o600"


def test_a_name_the_certificate_does_not_cover_is_refused(tmp_path: Path) -> None:
    tls = StackTls(tmp_path / "tls")
    tls.ensure()
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(tls, "db.example.com")


def test_ensure_keeps_what_exists_and_reissues_for_new_hosts(tmp_path: Path) -> None:
    tls = StackTls(tmp_path / "tls")
    tls.ensure()
    ca, server = tls.ca_cert.read_bytes(), tls.server_cert.read_bytes()
    tls.ensure()
    assert (tls.ca_cert.read_bytes(), tls.server_cert.read_bytes()) == (ca, server)
    tls.ensure(("localhost", "127.0.0.1", "127.0.0.2"))
    assert tls.ca_cert.read_bytes() == ca
    assert tls.server_cert.read_bytes() != server
    assert _handshake(tls, "127.0.0.2").startswith("TLS")
