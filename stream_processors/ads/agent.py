"""The stage that normalizes both ad platforms into norm.ads.performance_daily."""

from __future__ import annotations

from headwater.errors import RejectedRecord
from headwater.raw import raw_topic, read_envelope
from headwater.settings import Settings
from stream_processors.ads.normalize import facebook_row, google_ads_row, to_output
from stream_processors.base import Stage, TransformStage
from stream_processors.output import Output

FACEBOOK = raw_topic("facebook_ads", "insights")
GOOGLE_ADS = raw_topic("google_ads", "ad_group_daily")


def stage(settings: Settings) -> Stage:
    """The ads normalizer."""
    conversion_types = list(settings.facebook.conversion_action_types)

    def transform(topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        envelope = read_envelope(value)
        if topic == FACEBOOK:
            return [to_output(facebook_row(envelope, conversion_types))]
        if topic == GOOGLE_ADS:
            return [to_output(google_ads_row(envelope))]
        raise RejectedRecord(f"no ads normalizer for topic {topic}")

    return TransformStage("normalize_ads", "normalize", [FACEBOOK, GOOGLE_ADS], transform)
