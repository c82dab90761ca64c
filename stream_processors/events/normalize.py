"""The CleverTap normalizer: one exported event into an ``AppEvent`` on norm.app.events, in
UTC, with a keyed hash of the user.

It reads only the fields ``headwater.privacy.policy.CLEVERTAP_FIELDS`` lets it read (keep or
hash); emails, phones, names and every other profile field or event property are dropped.

``clevertap`` is named by the source's entry in ``headwater.topology.API_SOURCES``; the
processor runs it as the stage ``normalize_clevertap``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from headwater.avro import SCHEMA_HEADER, schema_id
from headwater.avro_binary import FlatRecordWriter
from headwater.errors import RejectedRecord
from headwater.privacy.policy import Action, clevertap_field
from headwater.privacy.pseudonyms import Pseudonymizer, pseudonymizer
from headwater.raw import RawEnvelope, read_envelope, split_clevertap_key, to_micros
from headwater.settings import Settings
from headwater.topology import NORM_EVENTS
from schemas import avro_schema
from stream_processors.base import Transform
from stream_processors.numeric_columns import NumericColumns
from stream_processors.output import Output

_RECORD = "norm/app_event"
_SCHEMA = avro_schema(_RECORD)
_WRITE = FlatRecordWriter(_SCHEMA)
_HEADERS = [(SCHEMA_HEADER, schema_id(_SCHEMA))]
_COLUMNS = NumericColumns(_RECORD)


__all__ = ["Pseudonymizer", "clevertap", "clevertap_event", "to_output"]


def _kept(record: dict[str, Any], path: str) -> Any:
    return clevertap_field(record, path, Action.KEEP)


def _text(value: Any, what: str) -> str | None:
    """A text field; numbers are read as text; objects, lists and NUL bytes are refused."""
    if isinstance(value, dict | list):
        raise RejectedRecord(f"{what} is not text: {value!r}")
    if value is None or value == "":
        return None
    text = str(value)
    if "\x00" in text:  # the warehouse would refuse it, after the KPIs had counted it
        raise RejectedRecord(f"{what} holds a NUL byte, which PostgreSQL text cannot: {text!r}")
    return text


def _object(record: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested object of the record; absent is empty (anonymous users have no profile)."""
    value = record.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RejectedRecord(f"{name} is not an object: {value!r}")
    return value


def _occurred_at(ts: Any, zone: ZoneInfo) -> int:
    try:
        local = datetime.strptime(str(ts), "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError as error:
        raise RejectedRecord(f"ts is not YYYYMMDDHHMMSS: {ts!r}") from error
    try:
        return to_micros(local)
    except ValueError as error:
        raise RejectedRecord(f"ts {ts!r} in {zone.key}: {error}") from error


def _amount(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise RejectedRecord(f"Amount is not a number: {value!r}") from error
    if not amount.is_finite():
        raise RejectedRecord(f"Amount is not a finite number: {value!r}")
    _COLUMNS.check({"amount": amount})
    return str(amount)


def clevertap_event(
    key: bytes | None, envelope: RawEnvelope, pseudonymize: Pseudonymizer, zone: ZoneInfo
) -> dict[str, Any]:
    """The AppEvent of one raw record (its key carries the event name and id)."""
    try:
        event_name, export_id = split_clevertap_key((key or b"").decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedRecord(f"key is not event_name|event_id: {key!r}") from error
    # The export's id is unique within an account; two apps can send identical events.
    event_id = hashlib.sha256(f"{envelope.account}|{export_id}".encode()).hexdigest()[:32]
    record = envelope.payload
    _object(record, "profile")
    _object(record, "event_props")
    if "ts" not in record:
        raise RejectedRecord("event has no ts")
    who = _text(clevertap_field(record, "profile.identity", Action.HASH), "profile.identity")
    who = who or _text(clevertap_field(record, "profile.objectId", Action.HASH), "profile.objectId")
    return {
        "event_id": event_id,
        "account_id": envelope.account,
        "event_name": event_name,
        "occurred_at": _occurred_at(record["ts"], zone),
        "user_key": pseudonymize(who) if who else None,
        "platform": _text(_kept(record, "profile.platform"), "profile.platform"),
        "utm_source": _text(_kept(record, "event_props.utm_source"), "utm_source"),
        "utm_campaign": _text(_kept(record, "event_props.utm_campaign"), "utm_campaign"),
        "campaign_id": _text(_kept(record, "event_props.campaign_id"), "campaign_id"),
        "amount": _amount(_kept(record, "event_props.Amount")),
        "currency": _text(_kept(record, "event_props.Currency"), "Currency"),
        "fetched_at": envelope.fetched_at_us,
    }


def to_output(event: dict[str, Any]) -> Output:
    """The keyed Avro record for norm.app.events."""
    return Output(
        NORM_EVENTS,
        str(event["event_id"]).encode(),
        _WRITE(event),
        _HEADERS,
    )


def clevertap(settings: Settings) -> Transform:
    """CleverTap events with user identities pseudonymized by the processor's key."""
    pseudonymize = pseudonymizer(
        settings, "user identities are hashed with it before leaving the processor"
    )
    zone = ZoneInfo(settings.clevertap.timezone)

    def transform(_topic: str, record_key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(clevertap_event(record_key, read_envelope(value), pseudonymize, zone))]

    return transform
