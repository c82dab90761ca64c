"""The raw records the pollers publish and the processor reads: topics, envelope, keys.

The one declaration of the contract between ``producers/`` (the writer) and
``stream_processors/`` (the reader): a raw topic is ``raw.<source>.<stream>``, its value
an envelope holding the API's JSON verbatim with where and when it was fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from headwater.errors import RejectedRecord

_EPOCH = datetime(1970, 1, 1).astimezone()

RAW_PREFIX: Final = "raw"
#: raw topics are what replays start from
RAW_RETENTION_MS: Final = str(90 * 24 * 3600 * 1000)
#: between the event name and the event id in a CleverTap raw record's key
CLEVERTAP_KEY_SEPARATOR: Final = "|"


def raw_topic(source: str, stream: str) -> str:
    """The raw topic of a source's stream."""
    return f"{RAW_PREFIX}.{source}.{stream}"


def make_envelope(
    *,
    source: str,
    stream: str,
    account: str,
    window: dict[str, str],
    api_version: str,
    request: dict[str, str],
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The API's JSON, verbatim, inside what says where and when it came from."""
    return {
        "source": source,
        "stream": stream,
        "account": account,
        "window": window,
        "fetched_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "api_version": api_version,
        "request": request,
        "payload": payload,
    }


def clevertap_key(event_name: str, event_id: str) -> str:
    """A CleverTap raw record's key: the event name (records do not carry it) and its id."""
    return f"{event_name}{CLEVERTAP_KEY_SEPARATOR}{event_id}"


def split_clevertap_key(key: str) -> tuple[str, str]:
    """The event name and event id of a CleverTap raw record's key; ValueError if not one."""
    event_name, separator, identifier = key.rpartition(CLEVERTAP_KEY_SEPARATOR)
    if not separator or not event_name or len(identifier) != 32:
        raise ValueError(f"not a CleverTap raw record key: {key!r}")
    return event_name, identifier


@dataclass(frozen=True)
class RawEnvelope:
    """An API record verbatim, with where and when it was fetched."""

    source: str
    stream: str
    account: str
    fetched_at_us: int
    api_version: str
    payload: dict[str, Any]
    request: dict[str, str]


def read_envelope(value: bytes | None) -> RawEnvelope:
    """Parse an envelope; raises RejectedRecord with the reason."""
    if value is None:
        raise RejectedRecord("raw record has no value")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        try:  # the standard library's message, which names where it broke
            data = json.loads(value)
        except (ValueError, UnicodeDecodeError) as error:
            raise RejectedRecord(f"raw record is not JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise RejectedRecord("raw record is not an envelope with a payload object")
    try:
        fetched = datetime.fromisoformat(str(data["fetched_at"]))
        return RawEnvelope(
            source=str(data["source"]),
            stream=str(data["stream"]),
            account=str(data["account"]),
            fetched_at_us=to_micros(fetched),
            api_version=str(data.get("api_version", "")),
            payload=data["payload"],
            request={str(k): str(v) for k, v in (data.get("request") or {}).items()},
        )
    except (KeyError, ValueError) as error:
        raise RejectedRecord(f"envelope field missing or malformed: {error}") from error


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime; ValueError for one without a
    timezone, or outside the years 1 to 9999 in UTC (where no reader could decode it)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no timezone")
    try:
        moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(
            f"{moment.isoformat()} is before 0001-01-01 or after 9999-12-31 in UTC"
        ) from error
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
