"""Normalized records as the processor writes them, for tests of the sinks."""

from __future__ import annotations

import json
from typing import Any

from headwater.raw import read_envelope
from stream_processors.ads.normalize import facebook_row
from stream_processors.ads.normalize import to_output as ad_output
from stream_processors.events.normalize import to_output as event_output


def ad_value(n: int, spend: str) -> bytes:
    """A normalized Facebook ad row (Avro) of ad ``n`` with this spend."""
    return ad_output(ad_row(n, spend)).value


def ad_row(n: int, spend: str, name: str | None = None) -> dict[str, Any]:
    """The normalizer's Facebook ad row of ad ``n`` (named ``name``) with this spend."""
    payload = {
        "account_id": "1",
        "account_currency": "EUR",
        "campaign_id": "23850001",
        "adset_id": "5",
        "ad_id": str(n),
        "impressions": "1000",
        "clicks": "10",
        "spend": spend,
        "date_start": "2026-11-20",
    }
    envelope = {
        "source": "facebook_ads",
        "stream": "insights",
        "account": "act_1",
        "fetched_at": "2026-11-21T00:00:00+00:00",
        "payload": payload,
    }
    if name is not None:
        payload["ad_name"] = name
    return facebook_row(read_envelope(json.dumps(envelope).encode()), ["purchase"])


def app_event_value(n: int, name: str, fetched_at: int = 1_764_000_000_000_000) -> bytes:
    """A normalized app event (Avro) ``e<n>`` called ``name``, as the processor writes it."""
    return event_output(app_event(n, name, fetched_at)).value


def app_event(
    n: int, name: str, fetched_at: int = 1_764_000_000_000_000, **fields: Any
) -> dict[str, Any]:
    """An app event ``e<n>`` called ``name`` as the normalizer makes it; ``fields`` set the
    optional ones (all None otherwise)."""
    return {
        "event_id": f"e{n}",
        "account_id": "acc",
        "event_name": name,
        "occurred_at": 1_764_000_000_000_000 + n,
        "user_key": None,
        "platform": None,
        "utm_source": None,
        "utm_campaign": None,
        "campaign_id": None,
        "amount": None,
        "currency": None,
        "fetched_at": fetched_at,
    } | fields
