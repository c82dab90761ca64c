"""Reading the raw envelopes the pollers publish (``raw.<source>.<stream>``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from stream_processors.errors import RejectedRecord

_EPOCH = datetime(1970, 1, 1).astimezone()


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
    """Microseconds since the epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no timezone")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
