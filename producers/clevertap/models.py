"""The Get Events API's responses and records, and the identity Headwater gives a record.

Shapes from https://developer.clevertap.com/docs/get-events-api. Records carry no event id
and no event name (the export is per event name), so :func:`event_id` derives a
deterministic id, and :func:`headwater.raw.clevertap_key` carries the event name in the
raw record's key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ExportStarted(_Response):
    """Step 1 (``POST /1/events.json``): the cursor of the first page, if there are records."""

    status: Literal["success"]
    cursor: str | None = None


class EventsPage(_Response):
    """Step 2 (``GET /1/events.json?cursor=``): one page; no ``next_cursor`` on the last."""

    status: Literal["success"]
    records: list[dict[str, Any]]
    next_cursor: str | None = None


class ErrorBody(_Response):
    """CleverTap's error body: ``{"status": "fail", "error": "...", "code": N}``."""

    status: str
    error: str = ""
    code: int | None = None


class Profile(_Response):
    """The user who did the event, as the export shows it (anonymous users lack identity)."""

    objectId: str | None = None  # noqa: N815 - CleverTap's field name
    identity: str | None = None
    email: str | None = None
    phone: str | None = None
    platform: str | None = None
    profileData: dict[str, Any] | None = None  # noqa: N815


class EventRecord(_Response):
    """One exported event: ``ts`` is YYYYMMDDHHMMSS in the account's timezone."""

    profile: Profile
    ts: int
    event_props: dict[str, Any] = {}


def event_id(event_name: str, record: dict[str, Any], occurrence: int = 0) -> str:
    """The deterministic id of an exported event: 32 hex digits of a SHA-256.

    Hashes the event name, ``ts``, the user (``profile.identity``, else ``profile.objectId``)
    and the canonical JSON of ``event_props``. Records identical in all of these (an SDK that
    sent one event twice in the same second) are told apart by ``occurrence``: the number of
    identical records before this one in the same export of that event and day. Occurrence 0
    hashes exactly the fields above, so it is also what the record alone identifies. Total
    over any JSON object: missing fields hash as null, so a malformed record still gets a
    stable id and reaches the normalizer, which decides what to do with it.
    """
    profile = record.get("profile")
    who = None
    if isinstance(profile, dict):
        who = profile.get("identity") or profile.get("objectId")
    identity: list[Any] = [event_name, record.get("ts"), who, record.get("event_props")]
    if occurrence:
        identity.append(occurrence)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate the API escaped is hashed too (no other text changes)
    return hashlib.sha256(canonical.encode(errors="surrogatepass")).hexdigest()[:32]
