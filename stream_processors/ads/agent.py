"""The normalizers of the ad platforms: raw envelope -> norm.ads.performance_daily.

Each is named by its source's entry in ``headwater.topology.API_SOURCES``; the processor
runs it as the stage ``normalize_<source>``.
"""

from __future__ import annotations

from headwater.raw import read_envelope
from headwater.settings import Settings
from stream_processors.ads.normalize import facebook_row, google_ads_row, to_output
from stream_processors.base import Transform
from stream_processors.output import Output


def facebook(settings: Settings) -> Transform:
    """Facebook Insights rows, conversions counted from the configured action types."""
    conversion_types = list(settings.facebook.conversion_action_types)

    def transform(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(facebook_row(read_envelope(value), conversion_types))]

    return transform


def google_ads(_settings: Settings) -> Transform:
    """Google Ads ad-group-day rows."""

    def transform(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(google_ads_row(read_envelope(value)))]

    return transform
