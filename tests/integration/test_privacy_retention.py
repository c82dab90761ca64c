"""Raw topics holding personal data keep it only briefly: on the real broker, at creation and
on topics that existed before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

from headwater.kafka.clients import make_admin
from headwater.kafka.topics import TopicMismatch, TopicSpec, ensure_topics
from headwater.privacy.retention import api_raw_config
from headwater.raw import RAW_RETENTION_MS
from headwater.settings import Settings
from stream_processors.topics import processor_topics
from tests.conftest import wait_for

HOURS = 5


def _config(admin: AdminClient, topic: str, key: str) -> str:
    """The topic's setting, once the broker knows the topic (a new one may take a moment)."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    found: list[str] = []

    def described() -> bool:
        try:
            found.append(str(admin.describe_configs([resource])[resource].result()[key].value))
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            return False
        return True

    wait_for(described, timeout_s=30, what=f"the configuration of {topic}")
    return found[-1]


@pytest.fixture
def topics(settings: Settings) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    if names:
        make_admin(settings.kafka).delete_topics(names, operation_timeout=30)


def test_a_personal_raw_topic_gets_the_short_retention_and_an_old_one_is_shortened(
    settings: Settings, topics: list[str]
) -> None:
    own = settings.model_copy(
        update={
            "privacy": settings.privacy.model_copy(update={"raw_personal_retention_hours": HOURS})
        }
    )
    admin = make_admin(settings.kafka)
    tag = uuid.uuid4().hex[:8]
    fresh, old, impersonal = (f"test.privacy.{tag}.{n}" for n in ("fresh", "old", "ads"))
    topics.extend([fresh, old, impersonal])
    # a topic created before the policy, with the long retention every raw topic had
    long = {"cleanup.policy": "delete", "retention.ms": RAW_RETENTION_MS}
    assert ensure_topics(admin, [TopicSpec(old, 1, 1, long)]) == [old]
    assert _config(admin, old, "retention.ms") == RAW_RETENTION_MS

    personal = api_raw_config(own, "clevertap")
    created = ensure_topics(
        admin,
        [
            TopicSpec(fresh, 1, 1, personal),
            TopicSpec(old, 1, 1, personal),
            TopicSpec(impersonal, 1, 1, api_raw_config(own, "facebook_ads")),
        ],
    )
    assert sorted(created) == sorted([fresh, impersonal])
    short = str(HOURS * 3600 * 1000)
    assert _config(admin, fresh, "retention.ms") == short
    assert _config(admin, old, "retention.ms") == short  # shortened in place
    assert _config(admin, impersonal, "retention.ms") == RAW_RETENTION_MS
    # the cleanup policy is not ours to change on an existing topic: refused, as before
    with pytest.raises(TopicMismatch, match=r"cleanup\.policy=delete, compact wanted"):
        ensure_topics(admin, [TopicSpec(old, 1, 1, {"cleanup.policy": "compact"})])


def test_the_processor_creates_the_cdc_topic_of_a_personal_table_with_the_short_retention(
    settings: Settings, topics: list[str]
) -> None:
    schema = f"privacy_{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(
        update={
            "cdc": settings.cdc.model_copy(
                update={"tables": [f"{schema}.customers", f"{schema}.orders"]}
            ),
            "privacy": settings.privacy.model_copy(
                update={
                    "personal_tables": [f"{schema}.customers"],
                    "raw_personal_retention_hours": HOURS,
                }
            ),
        }
    )
    wanted = [spec for spec in processor_topics(own) if schema in spec.name]
    topics.extend(spec.name for spec in wanted)
    admin = make_admin(settings.kafka)
    ensure_topics(admin, wanted)
    customers, orders = own.cdc.topic(f"{schema}.customers"), own.cdc.topic(f"{schema}.orders")
    assert _config(admin, customers, "retention.ms") == str(HOURS * 3600 * 1000)
    assert _config(admin, orders, "retention.ms") != str(HOURS * 3600 * 1000)
