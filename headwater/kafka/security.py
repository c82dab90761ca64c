"""How a Kafka client proves who it is and verifies the broker, from :class:`KafkaSettings`.

One place turns the settings into librdkafka's security settings (the confluent-kafka
clients, Connect's clients take the same shape) and into the TLS context of the Faust app
(aiokafka), and explains a refusal: a wrong password, an unknown CA or a protocol mismatch
is named instead of surfacing as a bare timeout.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError

from headwater.errors import Terminal
from headwater.settings import KafkaSettings

log = logging.getLogger(__name__)


def security_config(settings: KafkaSettings) -> dict[str, Any]:
    """librdkafka's ``security.protocol``, ``sasl.*`` and ``ssl.*`` settings.

    Endpoint identification stays librdkafka's default (``https``): the broker's certificate
    must name the host the client connects to.
    """
    config: dict[str, Any] = {"security.protocol": settings.security_protocol}
    if settings.security_protocol.startswith("SASL_"):
        config["sasl.mechanism"] = settings.sasl_mechanism
        config["sasl.username"] = settings.sasl_username
        if settings.sasl_password is not None:
            config["sasl.password"] = settings.sasl_password.get_secret_value()
    if settings.encrypted:
        files = {
            "ssl.ca.location": settings.ssl_ca_location,
            "ssl.certificate.location": settings.ssl_certificate_location,
            "ssl.key.location": settings.ssl_key_location,
        }
        config |= {key: str(path) for key, path in files.items() if path is not None}
        if settings.ssl_key_password is not None:
            config["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    return config


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    """The TLS context of a Python (aiokafka) client: verifies the broker and its host name."""
    context = ssl.create_default_context(
        cafile=str(settings.ssl_ca_location) if settings.ssl_ca_location else None
    )
    if settings.ssl_certificate_location is not None:
        password = settings.ssl_key_password
        context.load_cert_chain(
            settings.ssl_certificate_location,
            settings.ssl_key_location,
            password.get_secret_value() if password is not None else None,
        )
    return context


def warn_if_unencrypted(settings: KafkaSettings) -> None:
    """Log once per process (and brokers) when Kafka traffic goes unencrypted."""
    if not settings.encrypted:
        _warn_once(settings.bootstrap_servers, settings.security_protocol)


@functools.cache
def _warn_once(bootstrap_servers: str, security_protocol: str) -> None:
    log.warning(
        "Kafka traffic is not encrypted (HEADWATER_KAFKA__SECURITY_PROTOCOL=%s): "
        "for local development only",
        security_protocol,
        extra={"bootstrap_servers": bootstrap_servers},
    )


class KafkaRefused(Terminal):
    """The brokers answered but refused us: credentials, certificates or the protocol are
    wrong, and trying again with the same settings cannot help."""


class RefusalWitness:
    """Collects what a librdkafka client says while it fails: its errors and its FAIL logs.

    Pass it as ``error_cb`` and ``logger``; librdkafka reports a refused login or handshake
    there, and a bare timeout otherwise.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []

    def error_cb(self, error: KafkaError) -> None:
        """librdkafka's error callback."""
        self.lines.append(error.str())

    def log(self, _level: int, message: str, *args: object) -> None:
        """librdkafka's logger (the interface of :class:`logging.Logger`)."""
        if args and args[0] == "FAIL":
            self.lines.append(str(args[-1]))
        elif not args:
            self.lines.append(message)

    @property
    def all_down(self) -> bool:
        """Whether librdkafka said that every broker is down (none accepts connections)."""
        return any("brokers are down" in line for line in self.lines)

    def explain(self, settings: KafkaSettings) -> str | None:
        """What went wrong, in words a person can act on (None: nothing seen)."""
        return explain_refusal(settings, self.lines)


#: how each named refusal starts (a refusal, not an outage)
REFUSALS = (
    "authentication failed",
    "certificate verify failed",
    "the broker closed the connection",
    "the broker does not speak TLS",
)


def explain_refusal(settings: KafkaSettings, lines: Iterable[str]) -> str | None:
    """Name the cause of a refusal from a client's error and log lines."""
    distinct: dict[str, str] = {}  # one of each line, whatever numbers it carries
    for line in lines:
        text = line.split("]: ", 1)[-1]
        distinct.setdefault(re.sub(r"\d+ms|\d+ identical", "#", text), text)
    joined = "; ".join(distinct.values())
    lowered = joined.lower()
    if "authentication failed" in lowered or "sasl authentication error" in lowered:
        return (
            f"authentication failed for user {settings.sasl_username!r} "
            f"(HEADWATER_KAFKA__SASL_USERNAME / HEADWATER_KAFKA__SASL_PASSWORD): {joined}"
        )
    if "certificate verify failed" in lowered:
        ca = settings.ssl_ca_location or "the system's CAs"
        return (
            f"certificate verify failed: the broker's certificate is not signed by {ca} "
            f"(HEADWATER_KAFKA__SSL_CA_LOCATION) or does not name the host: {joined}"
        )
    if not settings.encrypted and "closed by peer" in lowered:
        return (
            "the broker closed the connection: TLS expected? "
            f"(HEADWATER_KAFKA__SECURITY_PROTOCOL={settings.security_protocol}): {joined}"
        )
    if settings.encrypted and ("wrong version number" in lowered or "packet length" in lowered):
        return (
            "the broker does not speak TLS on this port: a PLAINTEXT listener? "
            f"(HEADWATER_KAFKA__SECURITY_PROTOCOL={settings.security_protocol}): {joined}"
        )
    return joined or None
