"""``headwater dlq`` on the real broker: list and show what a stage refused, replay it to
where it came from after a fix, and purge what is done with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import TopicPartition

from headwater.dlq import dlq_headers, dlq_topic
from headwater.kafka.clients import make_admin, make_consumer, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from tests.support.services import headwater_with, kafka_env


@pytest.fixture
def stage(settings: Settings) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:8]}"
    topics = [TopicSpec(dlq_topic(name), 1, 1, {}), TopicSpec(f"test.{name}.raw", 1, 1, {})]
    ensure_topics(make_admin(settings.kafka), topics)
    yield name
    make_admin(settings.kafka).delete_topics([dlq_topic(name), f"test.{name}.raw"])


def _dead_letters(settings: Settings, stage: str) -> None:
    producer = make_producer(settings.kafka)
    source = f"test.{stage}.raw"
    for n in range(5):
        reason = "spend is not a number: 'lots'" if n % 2 else "date is not YYYY-MM-DD: '20/11'"
        producer.produce(
            dlq_topic(stage),
            key=f"k{n}".encode(),
            value=f'{{"n": {n}}}'.encode(),
            headers=[*dlq_headers(stage, reason, source, 0, 100 + n), ("trace", f"t{n}".encode())],
        )
    assert producer.flush(30) == 0


def _on(settings: Settings, topic: str) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    consumer = make_consumer(settings.kafka, f"read-{uuid.uuid4().hex}")
    _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])
    found: list[tuple[bytes, bytes, dict[str, bytes]]] = []
    while len(found) < end:
        for message in consumer.consume(100, 2.0):
            found.append((message.key(), message.value(), dict(message.headers() or [])))
    consumer.close()
    return found


def test_list_show_replay_and_purge(settings: Settings, stage: str) -> None:
    _dead_letters(settings, stage)
    env = kafka_env(settings.kafka)

    listed = headwater_with("dlq", "list", "--stage", stage, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert f"dlq.{stage}: 5 records" in listed.stdout
    assert "2  reason: spend is not a number" in listed.stdout
    assert "3  reason: date is not YYYY-MM-DD" in listed.stdout
    assert f"5  from: test.{stage}.raw" in listed.stdout

    shown = headwater_with("dlq", "show", "--stage", stage, "--reason", "not a number",
                           env=env, timeout=120)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("reason: spend is not a number") == 2
    assert f"from test.{stage}.raw[0]@101" in shown.stdout
    assert 'value:  {"n": 3}' in shown.stdout

    dry = headwater_with("dlq", "replay", "--stage", stage, "--reason", "not a number",
                         "--dry-run", env=env, timeout=120)  # fmt: skip
    assert f"would replay 2 records of dlq.{stage} to test.{stage}.raw" in dry.stdout
    assert _on(settings, f"test.{stage}.raw") == []

    replayed = headwater_with("dlq", "replay", "--stage", stage, "--reason", "not a number",
                              env=env, timeout=120)  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed 2 records to test.{stage}.raw" in replayed.stdout
    back = _on(settings, f"test.{stage}.raw")
    assert [(key, value) for key, value, _ in back] == [(b"k1", b'{"n": 1}'), (b"k3", b'{"n": 3}')]
    assert [h["trace"] for _, _, h in back] == [b"t1", b"t3"]
    assert [h["dlq.replayed-from"] for _, _, h in back] == [
        f"dlq.{stage}:0:1".encode(),
        f"dlq.{stage}:0:3".encode(),
    ]
    assert all("dlq.reason" not in h for _, _, h in back)

    asked = headwater_with("dlq", "purge", "--stage", stage, "--before", "0s", env=env,
                           timeout=120)  # fmt: skip
    assert asked.returncode == 1
    assert f"would delete 5 records of dlq.{stage}" in asked.stdout
    purged = headwater_with("dlq", "purge", "--stage", stage, "--before", "0s", "--yes",
                            env=env, timeout=120)  # fmt: skip
    assert purged.returncode == 0, purged.stderr
    assert f"deleted 5 records of dlq.{stage}" in purged.stdout
    after = headwater_with("dlq", "list", "--stage", stage, env=env, timeout=120)
    assert "no dead letters" in after.stdout


def test_an_unknown_stage_is_named(settings: Settings) -> None:
    env = kafka_env(settings.kafka)
    result = headwater_with("dlq", "list", "--stage", "nosuch", env=env, timeout=120)
    assert result.returncode == 2
    assert "--stage: no topic dlq.nosuch" in result.stderr
