"""The stage that normalizes CleverTap events into norm.app.events."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from headwater.errors import ConfigurationError
from headwater.raw import raw_topic, read_envelope
from headwater.settings import Settings
from stream_processors.base import Stage, TransformStage
from stream_processors.events.normalize import Pseudonymizer, clevertap_event, to_output
from stream_processors.output import Output

CLEVERTAP = raw_topic("clevertap", "events")


def stage(settings: Settings) -> Stage:
    """The events normalizer."""
    key = settings.processor.pseudonymization_key
    if key is None:
        raise ConfigurationError(
            "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY",
            "is required: user identities are hashed with it before leaving the processor",
        )
    pseudonymize = Pseudonymizer(key.get_secret_value())
    zone = ZoneInfo(settings.clevertap.timezone)

    def transform(_topic: str, record_key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(clevertap_event(record_key, read_envelope(value), pseudonymize, zone))]

    return TransformStage("normalize_events", "normalize", [CLEVERTAP], transform)
