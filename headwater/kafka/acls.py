"""Least privilege on Kafka: what each service principal may do, derived from the topology.

One declaration per principal, read by ``headwater kafka acls`` (which prints or applies
them) and by the native stack (which applies them for its SCRAM users). The principals are
the services: the pollers write ``raw.*`` (and their cursors), the processor reads raw and
CDC topics and writes ``norm.*``, ``metrics.*`` and its dead letters, the sinks read
``norm.*`` and ``metrics.*`` and write ``dlq.sink``, and Kafka Connect keeps its own topics
and writes Debezium's ``cdc.*``. Everything not granted is refused (the broker runs with
``allow.everyone.if.no.acl.found=false``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from headwater.dlq import DLQ_PREFIX, dlq_topic
from headwater.errors import DependencyUnavailable
from headwater.raw import RAW_PREFIX
from headwater.settings import Settings
from headwater.topology import KPIS_DAILY, NORM_ADS

#: the principals of the services (SCRAM user names on the stack)
POLLER: Final = "poller"
PROCESSOR: Final = "processor"
SINK: Final = "sink"
CONNECT: Final = "connect"
SERVICE_PRINCIPALS: Final = (POLLER, PROCESSOR, SINK, CONNECT)

#: the consumer group of Kafka Connect's workers, and the prefix of its topics
CONNECT_GROUP: Final = "headwater-connect"
#: the sinks' consumer groups start with this (``headwater run``'s default group prefix)
SINK_GROUP_PREFIX: Final = "headwater-sink"
#: the poller's cursor reader takes a fresh group with this prefix each time
POLLER_STATE_GROUP_PREFIX: Final = "headwater-poller-state-"
#: the processor restores its state with a fresh group with this prefix each time
RESTORE_GROUP_PREFIX: Final = "restore-"
#: Debezium's heartbeat topics
HEARTBEAT_PREFIX: Final = "__debezium-heartbeat"

Resource = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]

READ: Final = ("READ", "DESCRIBE")
#: who creates a topic keeps its policy (a raw topic's retention) as the settings say
_OWN: Final = ("DESCRIBE", "CREATE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")
#: a service that may create the topics it reads (so it can start before their writer)
READ_CREATE: Final = ("READ", *_OWN)
WRITE: Final = ("WRITE", *_OWN)
READ_WRITE: Final = ("READ", "WRITE", *_OWN)
GROUP: Final = ("READ", "DESCRIBE")

_RESOURCE_TYPES: Final = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_PATTERNS: Final = {
    "literal": ResourcePatternType.LITERAL,
    "prefixed": ResourcePatternType.PREFIXED,
}


@dataclass(frozen=True)
class Grant:
    """Operations a principal may do on the topics or groups a name (or prefix) names."""

    resource: Resource
    name: str
    pattern: Pattern
    operations: tuple[str, ...]
    #: DENY wins over any ALLOW
    permission: Literal["ALLOW", "DENY"] = "ALLOW"

    def describe(self) -> str:
        """One line for ``headwater kafka acls``."""
        star = "*" if self.pattern == "prefixed" else ""
        return f"{self.permission} {self.resource} {self.name}{star}: {', '.join(self.operations)}"


def _family(topic: str) -> str:
    """The prefix of a topic's family: ``norm.app.events`` -> ``norm.``."""
    return topic.split(".", 1)[0] + "."


def _topics(prefix: str, operations: tuple[str, ...]) -> Grant:
    return Grant("topic", prefix, "prefixed", operations)


def _groups(prefix: str) -> Grant:
    return Grant("group", prefix, "prefixed", GROUP)


def service_grants(settings: Settings) -> dict[str, tuple[Grant, ...]]:
    """What each service principal may do, by principal name."""
    app_id = settings.processor.app_id  # its group, its worker's group and topics, changelogs
    cdc = f"{settings.cdc.topic_prefix}."
    return {
        POLLER: (
            _topics(f"{RAW_PREFIX}.", WRITE),
            Grant("topic", settings.poller.state_topic, "literal", READ_WRITE),
            _groups(POLLER_STATE_GROUP_PREFIX),
        ),
        PROCESSOR: (
            _topics(f"{RAW_PREFIX}.", READ_CREATE),
            _topics(cdc, READ_CREATE),
            _topics(_family(NORM_ADS), READ_WRITE),
            _topics(_family(KPIS_DAILY), READ_WRITE),
            _topics(f"{DLQ_PREFIX}.", WRITE),
            _topics(app_id, READ_WRITE),
            _groups(app_id),
            _groups(RESTORE_GROUP_PREFIX),
        ),
        SINK: (
            _topics(_family(NORM_ADS), READ),
            _topics(_family(KPIS_DAILY), READ),
            Grant("topic", dlq_topic("sink"), "literal", WRITE),
            _groups(SINK_GROUP_PREFIX),
        ),
        CONNECT: (
            _topics(CONNECT_GROUP, READ_WRITE),
            _topics(cdc, READ_WRITE),
            _topics(HEARTBEAT_PREFIX, READ_WRITE),
            _groups(CONNECT_GROUP),
        ),
    }


def pipeline_families(settings: Settings) -> tuple[Grant, ...]:
    """DENY read and write on the pipeline's own topics, for a principal allowed more widely."""
    families = (f"{RAW_PREFIX}.", _family(NORM_ADS), _family(KPIS_DAILY), f"{DLQ_PREFIX}.")
    return (
        *(Grant("topic", family, "prefixed", ("READ", "WRITE"), "DENY") for family in families),
        Grant("topic", settings.poller.state_topic, "literal", ("READ", "WRITE"), "DENY"),
        Grant("topic", settings.processor.app_id, "prefixed", ("READ", "WRITE"), "DENY"),
    )


def acl_bindings(principal: str, grants: Iterable[Grant], host: str = "*") -> list[AclBinding]:
    """The bindings of one principal's grants (``User:<principal>``)."""
    return [
        AclBinding(
            _RESOURCE_TYPES[grant.resource],
            grant.name,
            _PATTERNS[grant.pattern],
            f"User:{principal}",
            host,
            AclOperation[operation],
            AclPermissionType[grant.permission],
        )
        for grant in grants
        for operation in grant.operations
    ]


def apply_grants(
    admin: AdminClient, grants: Mapping[str, Iterable[Grant]], timeout_s: float = 30.0
) -> int:
    """Create every binding (creating one that exists is a no-op); returns how many."""
    bindings = [
        binding for principal, own in grants.items() for binding in acl_bindings(principal, own)
    ]
    if not bindings:
        return 0
    for binding, future in admin.create_acls(bindings, request_timeout=timeout_s).items():
        try:
            future.result()
        except KafkaException as error:
            raise DependencyUnavailable(f"creating the ACL {binding} failed: {error}") from error
    return len(bindings)
