"""The toy source's normalizer: a toy event into an ``AppEvent`` on norm.app.events."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from headwater.errors import RejectedRecord
from headwater.privacy.pseudonyms import Pseudonymizer, pseudonymizer
from headwater.raw import RawEnvelope, read_envelope, to_micros
from headwater.settings import Settings
from stream_processors.base import Transform
from stream_processors.events.normalize import to_output
from stream_processors.output import Output


def app_event(envelope: RawEnvelope, pseudonymize: Pseudonymizer) -> dict[str, Any]:
    """The AppEvent of one toy event; RejectedRecord names what is wrong with it."""
    event = envelope.payload
    try:
        event_id, name, at = str(event["id"]), str(event["name"]), str(event["at"])
    except KeyError as error:
        raise RejectedRecord(f"toy event lacks {error.args[0]}") from error
    try:
        occurred_at = to_micros(datetime.fromisoformat(at))
    except ValueError as error:
        raise RejectedRecord(f"at is not an ISO timestamp with a zone: {at!r}") from error
    amount = event.get("amount")
    if amount is not None:
        try:
            amount = str(Decimal(str(amount)))
        except InvalidOperation as error:
            raise RejectedRecord(f"amount is not a number: {amount!r}") from error
    user = event.get("user")
    return {
        "event_id": hashlib.sha256(f"toy|{envelope.account}|{event_id}".encode()).hexdigest()[:32],
        "account_id": envelope.account,
        "event_name": name,
        "occurred_at": occurred_at,
        "user_key": pseudonymize(str(user)) if user else None,
        "platform": None,
        "utm_source": None,
        "utm_campaign": None,
        "campaign_id": None,
        "amount": amount,
        "currency": event.get("currency"),
        "fetched_at": envelope.fetched_at_us,
    }


def toy_events(settings: Settings) -> Transform:
    """The normalizer as the topology entry builds it: identities hashed with the key."""
    pseudonymize = pseudonymizer(settings, "toy users are hashed with it")

    def transform(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [to_output(app_event(read_envelope(value), pseudonymize))]

    return transform
