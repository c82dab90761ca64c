"""Factories for confluent-kafka clients configured the way every Headwater service needs."""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from headwater.errors import DependencyUnavailable
from headwater.kafka.security import (
    REFUSALS,
    KafkaRefused,
    RefusalWitness,
    security_config,
    warn_if_unencrypted,
)
from headwater.logs import RepeatFilter
from headwater.settings import KafkaSettings

#: librdkafka's own lines, as structured log lines (a client retrying an unreachable broker
#: repeats itself twice a second: the repeats are counted, not printed)
LIBRDKAFKA_LOG = logging.getLogger("headwater.kafka.librdkafka")
LIBRDKAFKA_LOG.addFilter(RepeatFilter())


def base_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection and security settings shared by producers, consumers and admin clients.

    The operator's ``client_config`` passthrough comes first, so nothing it says can undo
    the typed settings (the settings refuse its keys that would). librdkafka logs through
    :data:`LIBRDKAFKA_LOG` (a caller's ``logger`` override wins).
    """
    warn_if_unencrypted(settings)
    return (
        {key: value.get_secret_value() for key, value in settings.client_config.items()}
        | {"bootstrap.servers": settings.bootstrap_servers, "client.id": settings.client_id}
        | security_config(settings)
        | {"logger": LIBRDKAFKA_LOG}
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


#: how long a service waits at start for Kafka to answer before it says why it did not
START_CHECK_S = 8.0
#: how long every broker may refuse connections before a start check gives up early: a
#: broker that is restarting comes back within it, a wrong address never does
REFUSED_FOR_S = 3.0
#: the error librdkafka reports once no broker can be reached (connection refused, no route)
_ALL_DOWN = "brokers are down"


def check_reachable(settings: KafkaSettings, timeout_s: float = 5.0) -> int:
    """Ask the cluster for metadata; returns the number of brokers, raises if none answer.

    The client's own errors (authentication, TLS verification, a protocol mismatch) are
    collected while it tries, so the refusal names the cause instead of a bare timeout.
    When every broker has refused connections for :data:`REFUSED_FOR_S`, it stops asking
    before ``timeout_s``.
    """
    witness = RefusalWitness()
    admin = make_admin(settings, error_cb=witness.error_cb, logger=witness)
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        try:
            metadata = admin.list_topics(timeout=min(1.0, max(timeout_s - elapsed, 0.1)))
            return len(metadata.brokers)
        except KafkaException as error:
            admin.poll(0)  # serves the error callbacks queued while it tried
            elapsed = time.monotonic() - started
            all_down = any(_ALL_DOWN in line for line in witness.lines)
            if elapsed < timeout_s and not (all_down and elapsed >= REFUSED_FOR_S):
                continue
            cause = witness.explain(settings) or str(error)
            if cause.startswith(REFUSALS):
                raise KafkaRefused(
                    f"Kafka at {settings.bootstrap_servers} refused: {cause}"
                ) from error
            raise DependencyUnavailable(
                f"Kafka at {settings.bootstrap_servers} did not answer within {elapsed:.0f}s "
                f"(check HEADWATER_KAFKA__BOOTSTRAP_SERVERS): {cause}"
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
