"""How long raw topics keep what they hold: short for those holding personal data.

``raw.clevertap.*`` carries emails, phones and every event property as the API gave them,
and ``cdc.*`` of a table with personal columns carries its rows whole; both only need to
outlive an outage and a replay of recent history, so they keep
``HEADWATER_PRIVACY__RAW_PERSONAL_RETENTION_HOURS`` (72 h by default). The others keep
:data:`~headwater.raw.RAW_RETENTION_MS`. Topic creation (poller, processor) applies it to
new and existing topics; Kafka Connect applies it to the ``cdc.*`` topics it creates.
"""

from __future__ import annotations

from typing import Final

from headwater.raw import RAW_RETENTION_MS
from headwater.settings import Settings

#: API sources whose raw records hold personal data (CleverTap: profiles and properties).
PERSONAL_SOURCES: Final = frozenset({"clevertap"})


def personal_tables(settings: Settings) -> list[str]:
    """The captured tables whose change events hold personal data."""
    named = {name.rsplit(".", 1)[0] for name in settings.privacy.cdc_columns}
    personal = set(settings.privacy.personal_tables) | named
    return [table for table in settings.cdc.tables if table in personal]


def raw_config(
    settings: Settings, personal: bool, retention_ms: str = RAW_RETENTION_MS
) -> dict[str, str]:
    """The config of a raw (``raw.*`` or ``cdc.*``) topic: delete, and its retention."""
    if personal:
        retention_ms = str(settings.privacy.raw_personal_retention_ms)
    return {"cleanup.policy": "delete", "retention.ms": retention_ms}


def api_raw_config(settings: Settings, source: str) -> dict[str, str]:
    """The config of a polled source's raw topics."""
    return raw_config(settings, source in PERSONAL_SOURCES)
