"""Factories for confluent-kafka clients configured the way every Headwater service needs."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from headwater.errors import DependencyUnavailable
from headwater.kafka.client_log import LIBRDKAFKA_LOG
from headwater.kafka.security import (
    REFUSALS,
    KafkaRefused,
    RefusalWitness,
    security_config,
    warn_if_unencrypted,
)
from headwater.settings import KafkaSettings


def base_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection and security settings shared by producers, consumers and admin clients.

    The operator's ``client_config`` passthrough comes first, so nothing it says can undo
    the typed settings (the settings refuse its keys that would). librdkafka's own lines go
    through the project's logging (``headwater.kafka.client_log``), served by ``poll()``.
    """
    warn_if_unencrypted(settings)
    return (
        {key: value.get_secret_value() for key, value in settings.client_config.items()}
        | {
            "bootstrap.servers": settings.bootstrap_servers,
            "client.id": settings.client_id,
            "logger": LIBRDKAFKA_LOG,
        }
        | security_config(settings)
    )


def make_producer(settings: KafkaSettings, **overrides: Any) -> Producer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates on retry."""
    config = base_config(settings) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        "delivery.timeout.ms": 120_000,
    }
    return Producer(config | overrides)


#: librdkafka pre-fetches ahead of the application: by default up to 64 MiB queued plus
#: 50 MiB per fetch in flight (and more once decompressed), which a service draining a
#: backlog holds in memory. 8 MiB of each keeps it small and still fetches ahead.
BOUNDED_PREFETCH = {"queued.max.messages.kbytes": 2_048, "fetch.max.bytes": 4 * 1024 * 1024}


def make_consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> Consumer:
    """A consumer whose offsets move only when the caller commits them; pre-fetch bounded.

    The session timeout is short (librdkafka's default is 45 s): it is how long the group waits
    for a member that stopped answering, a killed service or one that lost its member id while
    the broker restarted, before its partitions go to the others or its next life.
    """
    session_ms = round(settings.session_timeout_s * 1000)
    config = (
        base_config(settings)
        | BOUNDED_PREFETCH
        | {
            "group.id": group_id,
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": session_ms // 5,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    return Consumer(config | overrides)


def make_admin(settings: KafkaSettings, **overrides: Any) -> AdminClient:
    """An admin client for topic management and metadata."""
    return AdminClient(base_config(settings) | overrides)


#: how long a service waits at start for Kafka to answer before it says why it did not (it
#: says so sooner when no broker accepts a connection)
START_CHECK_S = 6.0
#: how long one metadata request waits before the client's errors are looked at
_ATTEMPT_S = 1.0


def check_reachable(settings: KafkaSettings, timeout_s: float = 5.0) -> int:
    """Ask the cluster for metadata; returns the number of brokers, raises if none answer.

    The client's own errors (authentication, TLS verification, a protocol mismatch) are
    collected while it tries, so the refusal names the cause instead of a bare timeout. It
    gives up before ``timeout_s`` once every broker is down without having refused us (a
    refused connection, a name that does not resolve): Kafka is not there, and the caller
    (a service at start) exits "dependency unavailable" to be restarted, at once.
    """
    witness = RefusalWitness()
    admin = make_admin(settings, error_cb=witness.error_cb, logger=witness)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            metadata = admin.list_topics(
                timeout=max(0.1, min(_ATTEMPT_S, deadline - time.monotonic()))
            )
        except KafkaException as error:
            admin.poll(0)  # serves the error callbacks queued while it tried
            cause = witness.explain(settings) or str(error)
            refused = cause.startswith(REFUSALS)
            if time.monotonic() < deadline and (refused or not witness.all_brokers_down):
                continue  # a refusal may be a broker still starting: it has until the deadline
            if refused:
                raise KafkaRefused(
                    f"Kafka at {settings.bootstrap_servers} refused: {cause}"
                ) from error
            raise DependencyUnavailable(
                f"Kafka at {settings.bootstrap_servers} did not answer: {cause} "
                "(is it running? HEADWATER_KAFKA__BOOTSTRAP_SERVERS names its brokers)"
            ) from error
        return len(metadata.brokers)


def kafka_reachable(settings: KafkaSettings, timeout_s: float = 2.0) -> bool:
    """The readiness form of :func:`check_reachable`: whether a broker answered."""
    try:
        return check_reachable(settings, timeout_s) > 0
    except (DependencyUnavailable, KafkaRefused):
        return False


def message_headers(message: Message) -> tuple[tuple[str, bytes | None], ...]:
    """A consumed message's headers as (name, bytes) pairs, in order."""
    headers = message.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return tuple(
        (name, value.encode() if isinstance(value, str) else value) for name, value in pairs
    )
