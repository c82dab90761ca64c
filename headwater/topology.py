"""The floor plan of the pipeline: its sources, topics, sinks and services, declared once.

Every room and the control plane read this module instead of spelling a name of its own:
the poller builds its source from :data:`API_SOURCES`, the processor runs each source's
normalizer from it, the sinks and ``headwater sink`` take their topics from :data:`SINKS`,
``headwater run`` gives each service its metrics port from :func:`port_offsets`, and the
demo follows the same entries.

The core sits below the rooms, so an entry names the room's code by reference
(``"package.module:attribute"``, as Kafka Connect names a connector class), resolved only
when it runs (:func:`load`); ``tests/unit/headwater/test_topology.py`` checks that every
reference resolves and lies in its room. Adding an API source is its producer package, its
normalizer and one :class:`ApiSource` entry (``docs/architecture.md``).

Raw topics are named with their envelope in :mod:`headwater.raw`; Debezium's ``cdc.*``
topics by ``CdcSettings.topic``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import SecretStr

from headwater.raw import raw_topic
from headwater.settings import ENV_PREFIX, NESTED_DELIMITER, Settings

#: normalized ad performance, one record per ad and day (``norm/ad_performance_daily``)
NORM_ADS: Final = "norm.ads.performance_daily"
#: normalized app events (``norm/app_event``)
NORM_EVENTS: Final = "norm.app.events"
#: prefix of the normalized CDC topics, one per source table (``norm/cdc_row``)
NORM_CDC_PREFIX: Final = "norm.cdc"
#: campaign KPIs per platform, campaign and day (``metrics/campaign_kpis_daily``)
KPIS_DAILY: Final = "metrics.campaigns.kpis_daily"

#: A reference to a room's code: ``"package.module:attribute"``.
Ref = str


def norm_cdc_topic(schema: str, table: str) -> str:
    """The normalized topic of a source table."""
    return f"{NORM_CDC_PREFIX}.{schema}.{table}"


def load(ref: Ref) -> Any:  # the caller names what it expects
    """The attribute a reference names, its module imported on first use."""
    module, _, attribute = ref.partition(":")
    if not module or not attribute:
        raise ValueError(f"{ref!r} is not a 'package.module:attribute' reference")
    return getattr(importlib.import_module(module), attribute)


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class ApiSource:
    """One polled API: what it publishes, who normalizes and lands it, and when it runs."""

    #: the source's name: ``headwater poll <name>``, ``raw.<name>.<stream>``, metric labels
    name: str
    #: the streams it publishes, one raw topic each
    streams: tuple[str, ...]
    #: ``(Settings) -> producers.base.Source``
    producer: Ref
    #: ``(Settings) -> stream_processors.base.Transform``: raw record -> normalized outputs
    normalizer: Ref
    #: the normalized topic its normalizer writes
    normalized: str
    #: the sink (a name in :data:`SINKS`) that lands the normalized topic
    sink: str
    #: the prefix of its settings (``HEADWATER_FACEBOOK__``)
    settings_prefix: str
    #: the setting a person fixes when the API refuses the credentials
    credential: str
    #: its poller's metrics port: the base port plus this offset
    port_offset: int
    #: whether credentials of the real API are given (the demo serves a stand-in otherwise)
    has_credentials: Callable[[Settings], bool]
    #: the accounts it polls, as they appear in the raw envelope (the demo follows them)
    accounts: Callable[[Settings], frozenset[str]]
    #: whether the processor runs its normalizer (raw history is normalized even when the
    #: poller is not configured, unless the normalizer needs settings of its own)
    normalizer_runs: Callable[[Settings], bool] = _always
    #: the settings its poller cannot run without (credentials, accounts), as variables
    required: tuple[str, ...] = ()

    def missing(self, settings: Settings) -> tuple[str, ...]:
        """The :attr:`required` settings that are unset or empty, in their order."""
        return missing_settings(settings, self.required)

    def configured(self, settings: Settings) -> bool:
        """Whether its poller runs: credentials and accounts configured."""
        return not self.missing(settings)

    @property
    def raw_topics(self) -> tuple[str, ...]:
        """The raw topics it publishes, one per stream."""
        return tuple(raw_topic(self.name, stream) for stream in self.streams)

    @property
    def service(self) -> str:
        """Its poller's service name."""
        return f"poll-{self.name}"

    @property
    def settings_section(self) -> str:
        """The section of :class:`Settings` holding its settings (``facebook``)."""
        return self.settings_prefix.removeprefix("HEADWATER_").removesuffix("__").lower()

    @property
    def secret_sections(self) -> tuple[str, ...]:
        """The settings sections whose secrets its poller is given: Kafka's and its own."""
        return ("kafka", self.settings_section)


def missing_settings(settings: Settings, variables: Iterable[str]) -> tuple[str, ...]:
    """The ``variables`` (``HEADWATER_SECTION__FIELD``) these settings leave unset or empty,
    in their order."""
    return tuple(name for name in variables if not _setting_value(settings, name))


def _setting_value(settings: Settings, variable: str) -> object:
    """The value of a setting named as its variable (``HEADWATER_FACEBOOK__ACCESS_TOKEN``);
    a secret's text, so an empty secret counts as unset."""
    section, _, name = variable.removeprefix(ENV_PREFIX).lower().partition(NESTED_DELIMITER)
    value = getattr(getattr(settings, section), name)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


API_SOURCES: Final[tuple[ApiSource, ...]] = (
    ApiSource(
        name="facebook_ads",
        streams=("insights",),
        producer="producers.facebook_ads.source:build",
        normalizer="stream_processors.ads.normalize:facebook",
        normalized=NORM_ADS,
        sink="ad-performance",
        settings_prefix="HEADWATER_FACEBOOK__",
        credential="HEADWATER_FACEBOOK__ACCESS_TOKEN",
        port_offset=5,
        required=("HEADWATER_FACEBOOK__ACCESS_TOKEN", "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS"),
        has_credentials=lambda s: s.facebook.access_token is not None,
        accounts=lambda s: frozenset(a.removeprefix("act_") for a in s.facebook.ad_account_ids),
    ),
    ApiSource(
        name="google_ads",
        streams=("ad_group_daily",),
        producer="producers.google_ads.source:build",
        normalizer="stream_processors.ads.normalize:google_ads",
        normalized=NORM_ADS,
        sink="ad-performance",
        settings_prefix="HEADWATER_GOOGLE_ADS__",
        credential="HEADWATER_GOOGLE_ADS__REFRESH_TOKEN",
        port_offset=6,
        required=(
            "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN",
            "HEADWATER_GOOGLE_ADS__CLIENT_ID",
            "HEADWATER_GOOGLE_ADS__CLIENT_SECRET",
            "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN",
            "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS",
        ),
        has_credentials=lambda s: (
            s.google_ads.developer_token is not None or s.google_ads.refresh_token is not None
        ),
        accounts=lambda s: frozenset(c.replace("-", "") for c in s.google_ads.customer_ids),
    ),
    ApiSource(
        name="clevertap",
        streams=("events",),
        producer="producers.clevertap.source:build",
        normalizer="stream_processors.events.normalize:clevertap",
        normalized=NORM_EVENTS,
        sink="app-events",
        settings_prefix="HEADWATER_CLEVERTAP__",
        credential="HEADWATER_CLEVERTAP__PASSCODE",
        port_offset=7,
        required=("HEADWATER_CLEVERTAP__ACCOUNT_ID", "HEADWATER_CLEVERTAP__PASSCODE"),
        has_credentials=lambda s: s.clevertap.passcode is not None,
        accounts=lambda s: frozenset({s.clevertap.account_id or ""}),
        # user identities are hashed with a key of its own, required once CleverTap is set up
        normalizer_runs=lambda s: s.clevertap.account_id is not None,
    ),
)


def api_source(name: str, sources: Iterable[ApiSource] = API_SOURCES) -> ApiSource:
    """The source called ``name``; KeyError names the known ones."""
    known = {source.name: source for source in sources}
    if name not in known:
        raise KeyError(f"{name!r} is not one of {', '.join(known)}")
    return known[name]


@dataclass(frozen=True)
class Sink:
    """One warehouse sink: ``headwater sink <name>`` lands its topics in its table."""

    name: str
    #: what it maintains, for ``--help`` and the docs
    summary: str
    #: ``(Settings) -> sinks.base.BatchWriter``
    writer: Ref
    #: its metrics port: the base port plus this offset
    port_offset: int
    #: the topics it reads (a regex for the CDC mirrors, from the settings)
    topics: Callable[[Settings], list[str]]
    #: the settings sections whose secrets it is given (``headwater run``)
    secret_sections: tuple[str, ...] = ("kafka", "warehouse")

    @property
    def service(self) -> str:
        """Its service name."""
        return f"sink-{self.name}"


SINKS: Final[tuple[Sink, ...]] = (
    Sink(
        "cdc",
        "Maintain the src_<table> mirrors from norm.cdc.*.",
        "sinks.cdc.mirror:MirrorWriter",
        1,
        lambda s: [s.sink.cdc_topics],
        # a TOASTed value the change left out is read from the source by primary key, and
        # hashed with the pseudonymisation key when the PII policy hashes its column
        ("kafka", "warehouse", "source", "processor"),
    ),
    Sink(
        "ad-performance",
        f"Land {NORM_ADS} in ad_performance_daily.",
        "sinks.ads:ads_writer",
        2,
        lambda _s: [NORM_ADS],
    ),
    Sink(
        "app-events",
        f"Land {NORM_EVENTS} in app_events (each event once).",
        "sinks.events:events_writer",
        3,
        lambda _s: [NORM_EVENTS],
    ),
    Sink(
        "kpis",
        f"Land {KPIS_DAILY} in campaign_kpis_daily.",
        "sinks.kpis:kpis_writer",
        4,
        lambda _s: [KPIS_DAILY],
    ),
)


def sink(name: str) -> Sink:
    """The sink called ``name``; KeyError names the known ones."""
    known = {entry.name: entry for entry in SINKS}
    if name not in known:
        raise KeyError(f"{name!r} is not one of {', '.join(known)}")
    return known[name]


#: The services that are neither a poller nor a sink, with their port offsets.
PROCESSOR: Final = "processor"
CDC_MONITOR: Final = "cdc-monitor"
_OTHER_PORTS: Final = {PROCESSOR: 0, CDC_MONITOR: 8}
#: The settings sections whose secrets each of them is given: the processor hashes
#: identities with the pseudonymisation key; the monitor reads the slot in the source.
_OTHER_SECRETS: Final[dict[str, tuple[str, ...]]] = {
    PROCESSOR: ("kafka", "processor"),
    CDC_MONITOR: ("source",),
}


def secret_sections(sources: Iterable[ApiSource] = API_SOURCES) -> dict[str, tuple[str, ...]]:
    """Every service and the settings sections whose secrets it is given (and no others)."""
    sections = dict(_OTHER_SECRETS)
    sections |= {entry.service: entry.secret_sections for entry in SINKS}
    sections |= {source.service: source.secret_sections for source in sources}
    return sections


def port_offsets(sources: Iterable[ApiSource] = API_SOURCES) -> dict[str, int]:
    """Metrics port offset of every service, whether or not it runs, in port order."""
    offsets = dict(_OTHER_PORTS)
    offsets |= {entry.service: entry.port_offset for entry in SINKS}
    offsets |= {source.service: source.port_offset for source in sources}
    taken: dict[int, str] = {}
    for service, offset in offsets.items():
        if offset in taken:
            raise ValueError(f"{service} and {taken[offset]} both want port offset {offset}")
        taken[offset] = service
    return dict(sorted(offsets.items(), key=lambda item: item[1]))


#: the processor's metrics port; every other service's default is this plus its offset
BASE_PORT: Final = 9400


def with_service_port(settings: Settings, service: str) -> Settings:
    """The settings a service serves /metrics with: its own port, ``BASE_PORT`` plus its
    offset, unless ``HEADWATER_HTTP__PORT`` names one. So services started by hand, one per
    shell, never ask for the same port."""
    if "port" in settings.http.model_fields_set:
        return settings
    port = BASE_PORT + port_offsets()[service]
    return settings.model_copy(update={"http": settings.http.model_copy(update={"port": port})})


def ports_needed(sources: Iterable[ApiSource] = API_SOURCES) -> int:
    """How many consecutive ports from the base port the services use."""
    return max(port_offsets(sources).values()) + 1
