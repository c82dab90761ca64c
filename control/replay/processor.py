"""Replaying the processor's normalizers: rewind its group, or normalize a window once."""

from __future__ import annotations

from datetime import datetime

from control.replay.plan import PartitionPlan, plan
from headwater import topology
from headwater.kafka.clients import make_admin
from headwater.kafka.topics import ensure_topics
from headwater.settings import Settings
from stream_processors.app import normalizer_stages
from stream_processors.base import Stage
from stream_processors.cdc import stage as cdc_stage
from stream_processors.topics import dead_letter_topics
from stream_processors.window import NormalizationReport, WindowNormalization


def normalizers(settings: Settings) -> list[Stage]:
    """The stages that normalize the CDC and API topics, as the processor runs them."""
    return [cdc_stage.stage(settings), *normalizer_stages(settings, topology.API_SOURCES)]


def input_topics(settings: Settings) -> list[str]:
    """The topics the normalizers read that exist on the cluster."""
    wanted = [topic for stage in normalizers(settings) for topic in stage.sources]
    existing = set(make_admin(settings.kafka).list_topics(timeout=10).topics)
    return [topic for topic in dict.fromkeys(wanted) if topic in existing]


def plan_processor(
    settings: Settings, since: datetime, until: datetime | None
) -> list[PartitionPlan]:
    """What a replay of the processor reads; the processor must be stopped. A rewind starts
    no later than where the group stands; a window normalized once starts at ``since``."""
    return plan(
        settings.kafka,
        settings.processor.app_id,
        input_topics(settings),
        since,
        until,
        stay_behind=until is None,
    )


def normalize_window(settings: Settings, plans: list[PartitionPlan]) -> NormalizationReport:
    """Normalize the planned window once, onto the normalized topics."""
    ensure_topics(make_admin(settings.kafka), dead_letter_topics(settings))
    job = WindowNormalization(settings, normalizers(settings))
    return job.run([p.window for p in plans], [p.after for p in plans])
