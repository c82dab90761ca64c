"""The normalizer of CleverTap events: raw envelope -> norm.app.events, identities hashed.

Named by the ``clevertap`` entry of ``headwater.topology.API_SOURCES``; the processor runs
it as the stage ``normalize_clevertap``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from headwater.errors import ConfigurationError
from headwater.raw import read_envelope
from headwater.settings import Settings
from stream_processors.base import Transform
from stream_processors.events.normalize import Pseudonymizer, clevertap_event, to_output
from stream_processors.output import Output


def clevertap(settings: Settings) -> Transform:
    """CleverTap events with user identities pseudonymized by the processor's key."""
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

    return transform
