"""Kafka: idempotent round trip and idempotent topic administration on the real broker."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, Message
from confluent_kafka.admin import ConfigResource

from headwater.kafka.clients import check_reachable, make_admin, make_consumer, make_producer
from headwater.kafka.topics import TopicMismatch, TopicSpec, ensure_topics
from headwater.settings import Settings
from tests.conftest import wait_for


def test_idempotent_producer_round_trip(settings: Settings, unique_name: str) -> None:
    admin = make_admin(settings.kafka)
    assert ensure_topics(admin, [TopicSpec(unique_name, partitions=3)]) == [unique_name]
    producer = make_producer(settings.kafka)
    assert producer.list_topics(timeout=10).brokers
    delivered: list[Message] = []
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(200)}
    for key, value in sent.items():
        producer.produce(
            unique_name, key=key, value=value, headers=[("source", b"test")],
            on_delivery=lambda error, message: delivered.append(message) if error is None else None,
        )  # fmt: skip
    assert producer.flush(30) == 0
    assert len(delivered) == len(sent)

    consumer = make_consumer(settings.kafka, group_id=unique_name)
    consumer.subscribe([unique_name])
    received: dict[bytes, bytes] = {}

    def all_received() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received[message.key()] = message.value()
            assert dict(message.headers() or [])["source"] == b"test"
            consumer.store_offsets(message)
        return len(received) == len(sent)

    wait_for(all_received, timeout_s=60, interval_s=0, what="all 200 records")
    consumer.commit(asynchronous=False)
    committed = consumer.committed(consumer.assignment(), timeout=10)
    consumer.close()
    assert received == sent
    assert sum(partition.offset for partition in committed) == len(sent)


def test_compacted_topic_creation_is_idempotent(settings: Settings, unique_name: str) -> None:
    admin = make_admin(settings.kafka)
    spec = TopicSpec.compacted(unique_name, partitions=2)
    assert ensure_topics(admin, [spec]) == [unique_name]
    assert ensure_topics(admin, [spec]) == []  # second time: nothing to create, all checked
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, unique_name)])
    config = next(iter(described.values())).result()
    assert config["cleanup.policy"].value == "compact"
    assert len(admin.list_topics(unique_name, timeout=10).topics[unique_name].partitions) == 2


def test_existing_topic_with_another_policy_is_refused(
    settings: Settings, unique_name: str
) -> None:
    admin = make_admin(settings.kafka)
    ensure_topics(admin, [TopicSpec(unique_name, partitions=1)])
    with pytest.raises(TopicMismatch, match=r"cleanup\.policy"):
        ensure_topics(admin, [TopicSpec.compacted(unique_name, partitions=1)])
    with pytest.raises(TopicMismatch, match="partitions"):
        ensure_topics(admin, [TopicSpec(unique_name, partitions=4)])


def test_kafka_answers_metadata(settings: Settings) -> None:
    assert check_reachable(settings.kafka) == 1


def test_unknown_topic_is_reported_by_the_broker(settings: Settings, unique_name: str) -> None:
    consumer = make_consumer(
        settings.kafka, group_id=unique_name, **{"topic.metadata.refresh.interval.ms": 500}
    )
    consumer.subscribe([unique_name])

    def reported() -> bool:
        message = consumer.poll(0.5)
        return (
            message is not None
            and message.error() is not None
            and (message.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART)
        )

    wait_for(
        reported, timeout_s=30, interval_s=0, what="UNKNOWN_TOPIC_OR_PART (auto-create is off)"
    )
    consumer.close()
