"""The services' ACLs follow the topology and the settings' names."""

from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from headwater.kafka.acls import (
    CONNECT,
    POLLER,
    PROCESSOR,
    SERVICE_PRINCIPALS,
    SINK,
    Grant,
    acl_bindings,
    service_grants,
)
from headwater.settings import PollerSettings, ProcessorSettings, Settings


def _topic_ops(grants: tuple[Grant, ...], topic: str) -> set[str]:
    """The operations the grants allow on one topic name."""
    return {
        operation
        for grant in grants
        if grant.resource == "topic"
        and (topic == grant.name if grant.pattern == "literal" else topic.startswith(grant.name))
        for operation in grant.operations
    }


def test_every_service_principal_has_grants() -> None:
    assert set(service_grants(Settings())) == set(SERVICE_PRINCIPALS)


def test_pollers_write_raw_and_their_state_only() -> None:
    poller = service_grants(Settings())[POLLER]
    assert "WRITE" in _topic_ops(poller, "raw.facebook_ads.insights")
    assert "READ" not in _topic_ops(poller, "raw.facebook_ads.insights")
    assert {"READ", "WRITE"} <= _topic_ops(poller, "headwater.poller_state")
    for other in ("norm.app.events", "metrics.campaigns.kpis_daily", "cdc.app.public.orders"):
        assert not _topic_ops(poller, other)


def test_processor_reads_raw_and_cdc_and_writes_norm_metrics_dlq() -> None:
    processor = service_grants(Settings())[PROCESSOR]
    for read in ("raw.clevertap.events", "cdc.app.public.orders"):
        assert "READ" in _topic_ops(processor, read)
        assert "WRITE" not in _topic_ops(processor, read)
    for written in ("norm.ads.performance_daily", "metrics.campaigns.kpis_daily", "dlq.kpis"):
        assert "WRITE" in _topic_ops(processor, written)
    assert "WRITE" in _topic_ops(processor, "headwater-processor-window-changelog")


def test_sinks_read_norm_and_metrics_and_write_only_their_dlq() -> None:
    sink = service_grants(Settings())[SINK]
    assert "READ" in _topic_ops(sink, "norm.cdc.public.orders")
    assert "READ" in _topic_ops(sink, "metrics.campaigns.kpis_daily")
    assert "WRITE" in _topic_ops(sink, "dlq.sink")
    assert not _topic_ops(sink, "raw.clevertap.events")
    assert not _topic_ops(sink, "dlq.normalize")


def test_connect_writes_cdc_and_its_own_topics() -> None:
    connect = service_grants(Settings())[CONNECT]
    assert "WRITE" in _topic_ops(connect, "cdc.app.public.customers")
    assert "WRITE" in _topic_ops(connect, "headwater-connect-offsets")
    assert not _topic_ops(connect, "norm.app.events")


def test_names_come_from_the_settings() -> None:
    settings = Settings(
        poller=PollerSettings(state_topic="ops.cursors"),
        processor=ProcessorSettings(app_id="proc-b"),
    )
    grants = service_grants(settings)
    assert "WRITE" in _topic_ops(grants[POLLER], "ops.cursors")
    assert "WRITE" in _topic_ops(grants[PROCESSOR], "proc-b-worker-__assignor-__leader")


def test_bindings_are_allow_rules_for_the_user() -> None:
    bindings = acl_bindings("poller", (Grant("topic", "raw.", "prefixed", ("WRITE", "READ")),))
    assert [b.operation for b in bindings] == [AclOperation.WRITE, AclOperation.READ]
    assert {b.principal for b in bindings} == {"User:poller"}
    assert {b.restype for b in bindings} == {ResourceType.TOPIC}
    assert {b.resource_pattern_type for b in bindings} == {ResourcePatternType.PREFIXED}
