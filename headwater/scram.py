"""PostgreSQL SCRAM-SHA-256 password verifiers, so a role's password never travels in SQL.

``CREATE/ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`` stores a verifier computed here;
PostgreSQL accepts it as is (RFC 5802/7677, the format of ``pg_authid.rolpassword``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def verifier(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier of an ASCII password (non-ASCII needs SASLprep: not here)."""
    if not password.isascii():
        raise ValueError("only ASCII passwords get a client-side verifier")
    salt = salt if salt is not None else os.urandom(16)
    stored_key, server_key = _keys(password, salt, iterations)
    encode = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{encode(salt).decode()}"
        f"${encode(stored_key).decode()}:{encode(server_key).decode()}"
    )


def matches(stored: str, password: str) -> bool:
    """Whether a stored SCRAM-SHA-256 verifier is the one of ``password``."""
    try:
        method, rest = stored.split("$", 1)
        params, keys = rest.split("$", 1)
        iterations, salt = params.split(":", 1)
        stored_key, server_key = keys.split(":", 1)
        if method != "SCRAM-SHA-256" or not password.isascii():
            return False
        want = _keys(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(want[0], base64.b64decode(stored_key)) and hmac.compare_digest(
        want[1], base64.b64decode(server_key)
    )
