"""The pipeline's sources as the demo follows them: their topics, their accounts, and the
processor's normalizer for each (re-run by the reconciliation to know what to look for)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from headwater.errors import ConfigurationError
from headwater.raw import read_envelope
from headwater.settings import Settings
from headwater.topology import NORM_ADS as ADS
from headwater.topology import NORM_EVENTS as EVENTS
from headwater.topology import norm_cdc_topic
from stream_processors.ads.agent import FACEBOOK, GOOGLE_ADS
from stream_processors.ads.normalize import facebook_row, google_ads_row
from stream_processors.ads.normalize import to_output as ads_output
from stream_processors.cdc.normalize import normalize as normalize_cdc
from stream_processors.events.agent import CLEVERTAP
from stream_processors.events.normalize import Pseudonymizer, clevertap_event
from stream_processors.events.normalize import to_output as event_output
from stream_processors.output import Output

CDC_SOURCE = "app database"

#: (source topic, key, value) -> the records the processor writes for it.
Normalizer = Callable[[str, bytes | None, bytes | None], list[Output]]


@dataclass(frozen=True)
class DemoSource:
    """One source: the topics it feeds and the processor writes, its normalizer, its sink."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sink: str
    normalize: Normalizer
    accounts: frozenset[str] | None = None  # whose raw records are this run's (APIs)

    def published_by_us(self, value: bytes | None) -> bool:
        """Whether a record on an input topic comes from this run's producers."""
        if self.accounts is None:
            return True
        try:
            account = str(json.loads(value or b"{}").get("account", ""))
        except (ValueError, AttributeError):
            return False
        return account.removeprefix("act_") in self.accounts


def demo_sources(settings: Settings, pollers: list[str]) -> list[DemoSource]:
    """The sources this run moves: the captured tables, and the polled APIs."""
    tables = [table.split(".", 1) for table in settings.cdc.tables]
    sources = [
        DemoSource(
            CDC_SOURCE,
            tuple(settings.cdc.topic(f"{schema}.{table}") for schema, table in tables),
            tuple(norm_cdc_topic(schema, table) for schema, table in tables),
            "cdc",
            lambda _topic, key, value: normalize_cdc(key, value),
        )
    ]
    builders = {
        "facebook_ads": _facebook,
        "google_ads": _google_ads,
        "clevertap": _clevertap,
    }
    return sources + [builders[name](settings) for name in pollers if name in builders]


def _facebook(settings: Settings) -> DemoSource:
    conversions = list(settings.facebook.conversion_action_types)

    def normalize(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [ads_output(facebook_row(read_envelope(value), conversions))]

    accounts = frozenset(a.removeprefix("act_") for a in settings.facebook.ad_account_ids)
    return DemoSource("facebook_ads", (FACEBOOK,), (ADS,), "ad-performance", normalize, accounts)


def _google_ads(settings: Settings) -> DemoSource:
    def normalize(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        return [ads_output(google_ads_row(read_envelope(value)))]

    accounts = frozenset(c.replace("-", "") for c in settings.google_ads.customer_ids)
    return DemoSource("google_ads", (GOOGLE_ADS,), (ADS,), "ad-performance", normalize, accounts)


def _clevertap(settings: Settings) -> DemoSource:
    key = settings.processor.pseudonymization_key
    if key is None:
        raise ConfigurationError("HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY", "is required")
    pseudonymize = Pseudonymizer(key.get_secret_value())
    zone = ZoneInfo(settings.clevertap.timezone)

    def normalize(_topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
        return [event_output(clevertap_event(key, read_envelope(value), pseudonymize, zone))]

    accounts = frozenset({settings.clevertap.account_id or ""})
    return DemoSource("clevertap", (CLEVERTAP,), (EVENTS,), "app-events", normalize, accounts)
