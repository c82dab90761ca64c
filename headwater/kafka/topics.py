"""Topic administration: create topics with their partitions and policies, idempotently.

An existing topic must have the partitions and the config we need, except for the settings in
:data:`ALTERABLE` (retention), which are ours to change: they are set to what is wanted (a
shorter retention for personal data applies to topics created before it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from headwater.errors import DependencyUnavailable, Terminal

#: Topic settings ensure_topics changes on an existing topic instead of refusing it.
ALTERABLE = frozenset({"retention.ms"})


class TopicMismatch(Terminal):
    """A topic exists with a layout that differs from the one we need."""


@dataclass(frozen=True)
class TopicSpec:
    """What a topic must look like: partitions, replication and configuration."""

    name: str
    partitions: int = 3
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def compacted(cls, name: str, partitions: int = 3, replication_factor: int = 1) -> TopicSpec:
        """A topic whose truth is the latest value per key (tombstones delete)."""
        return cls(name, partitions, replication_factor, {"cleanup.policy": "compact"})


def ensure_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], timeout_s: float = 30.0
) -> list[str]:
    """Create the topics that are missing; check the ones that exist. Returns those created."""
    wanted = {spec.name: spec for spec in specs}
    if not wanted:
        return []
    futures = admin.create_topics(
        [
            NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config))
            for s in wanted.values()
        ],
        operation_timeout=timeout_s,
        request_timeout=timeout_s,
    )
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as error:
            code = error.args[0].code()
            if code != KafkaError.TOPIC_ALREADY_EXISTS:
                raise DependencyUnavailable(f"creating topic {name} failed: {error}") from error
    existing = [name for name in wanted if name not in created]
    _check_existing(admin, [wanted[name] for name in existing], timeout_s)
    return created


def _partitions(admin: AdminClient, name: str, timeout_s: float) -> int:
    """Partitions of a topic; waits while a just-created topic's metadata propagates."""
    deadline = time.monotonic() + timeout_s
    while True:
        topic = admin.list_topics(name, timeout=timeout_s).topics.get(name)
        count = len(topic.partitions) if topic is not None and topic.error is None else 0
        if count or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def _check_existing(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> None:
    if not specs:
        return
    for spec in specs:
        partitions = _partitions(admin, spec.name, timeout_s)
        if partitions != spec.partitions:
            raise TopicMismatch(
                f"topic {spec.name} has {partitions} partitions, {spec.partitions} wanted"
            )
    resources = [ConfigResource(ConfigResource.Type.TOPIC, spec.name) for spec in specs]
    described = admin.describe_configs(resources, request_timeout=timeout_s)
    for spec, resource in zip(specs, resources, strict=True):
        actual = described[resource].result()
        alter: dict[str, str] = {}
        for key, value in spec.config.items():
            have = actual[key].value if key in actual else None
            if have != value and key in ALTERABLE:
                alter[key] = value
            elif have != value:
                raise TopicMismatch(f"topic {spec.name} has {key}={have}, {value} wanted")
        if alter:
            _alter(admin, spec.name, alter, timeout_s)


def _alter(admin: AdminClient, name: str, config: dict[str, str], timeout_s: float) -> None:
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        name,
        incremental_configs=[
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
            for key, value in config.items()
        ],
    )
    future = admin.incremental_alter_configs([resource], request_timeout=timeout_s)[resource]
    try:
        future.result()
    except KafkaException as error:
        raise DependencyUnavailable(f"altering {config} of topic {name} failed: {error}") from error
