"""CleverTap Server API: the events export client and the poller source."""

from producers.clevertap.client import CleverTapClient, CursorExpired
from producers.clevertap.models import event_id
from producers.clevertap.source import CleverTapSource

__all__ = [
    "CleverTapClient",
    "CleverTapSource",
    "CursorExpired",
    "event_id",
]
