"""Factories for confluent-kafka clients configured the way every Headwater service needs."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from headwater.errors import DependencyUnavailable
from headwater.kafka.librdkafka_log import librdkafka_logger
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
    the typed settings (the settings refuse its keys that would).
    """
    warn_if_unencrypted(settings)
    return (
        {key: value.get_secret_value() for key, value in settings.client_config.items()}
        | {"bootstrap.servers": settings.bootstrap_servers, "client.id": settings.client_id}
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
    return Producer(config | {"logger": librdkafka_logger()} | overrides)


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
    return Consumer(config | {"logger": librdkafka_logger()} | overrides)


def make_admin(settings: KafkaSettings, **overrides: Any) -> AdminClient:
    """An admin client for topic management and metadata."""
    return AdminClient(base_config(settings) | {"logger": librdkafka_logger()} | overrides)


#: how long a service waits at start for Kafka to answer before it says why it did not
START_CHECK_S = 6.0
#: how long every broker must have refused connections before a start check gives up early
ALL_DOWN_AFTER_S = 2.0


def check_reachable(settings: KafkaSettings, timeout_s: float = 5.0) -> int:
    """Ask the cluster for metadata; returns the number of brokers, raises if none answer.

    The client's own errors (authentication, TLS verification, a protocol mismatch) are
    collected while it tries, so the refusal names the cause instead of a bare timeout.
    """
    witness = RefusalWitness()
    admin = make_admin(settings, error_cb=witness.error_cb, logger=witness)
    start = time.monotonic()
    while True:
        try:
            return len(admin.list_topics(timeout=min(1.0, timeout_s)).brokers)
        except KafkaException as error:
            admin.poll(0)  # serves the error callbacks queued while it tried
            waited = time.monotonic() - start
            cause = witness.explain(settings) or str(error)
            if cause.startswith(REFUSALS):
                raise KafkaRefused(
                    f"Kafka at {settings.bootstrap_servers} refused: {cause}"
                ) from error
            # every broker refused the connection for a while: no point waiting it out
            if waited < timeout_s and not (witness.all_down and waited >= ALL_DOWN_AFTER_S):
                continue
            raise DependencyUnavailable(
                f"Kafka at {settings.bootstrap_servers} did not answer in {waited:.0f} s "
                f"(check HEADWATER_KAFKA__BOOTSTRAP_SERVERS and that the brokers run): {cause}"
            ) from error


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
