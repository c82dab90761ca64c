"""Kafka over TLS + SCRAM on the stack's SASL_SSL listener: round trip, refusals and ACLs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Message
from pydantic import SecretStr

from control.stack.tls import StackTls
from headwater.kafka.clients import check_reachable, make_admin, make_consumer, make_producer
from headwater.kafka.security import KafkaRefused
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import KafkaSettings, Settings
from tests.conftest import wait_for
from tests.support.services import headwater_with, kafka_env

SecureKafka = Callable[[str], KafkaSettings]


def _topic(secure_kafka: SecureKafka, name: str) -> str:
    ensure_topics(make_admin(secure_kafka("admin")), [TopicSpec(name, partitions=1)])
    return name


def _produce(kafka: KafkaSettings, topic: str, value: bytes) -> KafkaError | None:
    """Produce one record; the delivery error, or None when it was written."""
    outcome: list[KafkaError | None] = []
    producer = make_producer(kafka, **{"delivery.timeout.ms": 10_000})
    producer.produce(topic, value, on_delivery=lambda error, _message: outcome.append(error))
    producer.flush(15)
    assert outcome, f"no delivery report for {topic}"
    return outcome[0]


def _code(error: KafkaError | None) -> int | None:
    return error.code() if error is not None else None


def _consume(kafka: KafkaSettings, topic: str, group: str) -> Message:
    """The first message or error a consumer of ``topic`` in ``group`` gets."""
    consumer = make_consumer(kafka, group)
    consumer.subscribe([topic])
    try:
        return wait_for(lambda: consumer.poll(0.5), timeout_s=30, what=f"a message of {topic}")
    finally:
        consumer.close()


def test_round_trip_over_tls_and_scram(secure_kafka: SecureKafka, unique_name: str) -> None:
    kafka = secure_kafka("admin")
    assert kafka.security_protocol == "SASL_SSL"
    assert kafka.ssl_ca_location is not None
    assert check_reachable(kafka) == 1
    topic = _topic(secure_kafka, unique_name)
    assert _produce(kafka, topic, b"over tls") is None
    message = _consume(kafka, topic, unique_name)
    assert message.error() is None
    assert message.value() == b"over tls"


def _refusal(kafka: KafkaSettings) -> str:
    started = time.monotonic()
    with pytest.raises(KafkaRefused) as refused:
        check_reachable(kafka)
    assert time.monotonic() - started < 10
    return str(refused.value)


def test_wrong_password_is_refused_naming_the_user(secure_kafka: SecureKafka) -> None:
    wrong = secure_kafka("poller").model_copy(update={"sasl_password": SecretStr("not-it")})
    assert "authentication failed for user 'poller'" in _refusal(wrong)


def test_unknown_ca_is_refused_as_certificate_verify_failed(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    other = StackTls(tmp_path / "other-ca")
    other.ensure()
    wrong = secure_kafka("poller").model_copy(update={"ssl_ca_location": other.ca_cert})
    assert "certificate verify failed" in _refusal(wrong)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_no_tls_against_the_tls_listener_is_refused(
    secure_kafka: SecureKafka, protocol: str
) -> None:
    plain = secure_kafka("poller").model_copy(update={"security_protocol": protocol})
    assert "the broker closed the connection: TLS expected?" in _refusal(plain)


@pytest.fixture
def raw_and_norm(secure_kafka: SecureKafka, unique_name: str) -> tuple[str, str]:
    """A raw topic and a normalized one of this test, made by the admin."""
    return _topic(secure_kafka, f"raw.{unique_name}.s"), _topic(secure_kafka, f"norm.{unique_name}")


def _write_refused(kafka: KafkaSettings, topic: str) -> bool:
    return _code(_produce(kafka, topic, b"forged")) == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_poller_writes_raw_but_cannot_read_or_write_norm(
    secure_kafka: SecureKafka, raw_and_norm: tuple[str, str]
) -> None:
    poller = secure_kafka("poller")
    raw, norm = raw_and_norm
    assert _produce(poller, raw, b"raw record") is None
    assert _write_refused(poller, norm)
    read = _consume(poller, norm, f"headwater-poller-state-{uuid.uuid4().hex}")
    assert _code(read.error()) == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_processor_reads_raw_and_reads_and_writes_norm(
    secure_kafka: SecureKafka, raw_and_norm: tuple[str, str], unique_name: str
) -> None:
    processor = secure_kafka("processor")
    raw, norm = raw_and_norm
    assert _produce(secure_kafka("poller"), raw, b"raw record") is None
    assert _produce(processor, norm, b"normalized") is None
    group = f"headwater-processor-{unique_name}"
    assert _consume(processor, raw, group).value() == b"raw record"
    assert _consume(processor, norm, group).value() == b"normalized"
    assert _write_refused(processor, raw)


def test_sink_reads_norm_but_cannot_write_raw(
    secure_kafka: SecureKafka, raw_and_norm: tuple[str, str], unique_name: str
) -> None:
    sink = secure_kafka("sink")
    raw, norm = raw_and_norm
    assert _produce(secure_kafka("processor"), norm, b"normalized") is None
    assert _consume(sink, norm, f"headwater-sink-{unique_name}").value() == b"normalized"
    assert _write_refused(sink, raw)
    # and only in its own groups
    refused = _consume(sink, norm, f"headwater-processor-{unique_name}").error()
    assert _code(refused) == KafkaError.GROUP_AUTHORIZATION_FAILED


@pytest.mark.parametrize(
    ("command", "principal", "update", "expected"),
    [
        (["sink", "ad-performance"], "sink", {"sasl_password": SecretStr("not-it")},
         "authentication failed for user 'sink'"),
        (["process"], "processor", {"security_protocol": "PLAINTEXT"},
         "the broker closed the connection: TLS expected?"),
        (["poll", "facebook_ads", "--once"], "poller", {"ssl_ca_location": "OTHER_CA"},
         "certificate verify failed"),
    ],
)  # fmt: skip
def test_a_service_refused_at_start_says_why_and_stops(
    secure_kafka: SecureKafka,
    settings: Settings,
    tmp_path: Path,
    command: list[str],
    principal: str,
    update: dict[str, object],
    expected: str,
) -> None:
    other = StackTls(tmp_path / "other-ca")
    other.ensure()
    fixed = {key: other.ca_cert if value == "OTHER_CA" else value for key, value in update.items()}
    wrong = secure_kafka(principal).model_copy(update=fixed)
    assert settings.warehouse.dsn is not None
    env = kafka_env(wrong) | {
        "HEADWATER_WAREHOUSE__DSN": settings.warehouse.dsn.get_secret_value(),
        "HEADWATER_FACEBOOK__ACCESS_TOKEN": "token",
        "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": '["act_1"]',
        "HEADWATER_HTTP__PORT": "0",
    }
    started = time.monotonic()
    done = headwater_with(*command, env=env, timeout=60)
    assert done.returncode == 2, done.stderr  # misconfigured: not restarted
    assert expected in done.stderr
    assert time.monotonic() - started < 30


def test_connect_writes_its_topics_but_not_the_pipelines(
    secure_kafka: SecureKafka, raw_and_norm: tuple[str, str], unique_name: str
) -> None:
    connect = secure_kafka("connect")
    cdc = _topic(secure_kafka, f"test.{unique_name}.public.orders")
    assert _produce(connect, cdc, b"change") is None
    raw, norm = raw_and_norm
    assert _write_refused(connect, norm)
    assert _write_refused(connect, raw)
