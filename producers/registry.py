"""The API sources of the topology, built from the settings."""

from __future__ import annotations

from collections.abc import Callable

from headwater.errors import ConfigurationError
from headwater.settings import Settings
from headwater.topology import ApiSource, load
from producers.base import Source
from producers.transport import check_transport


def build_source(source: ApiSource, settings: Settings) -> Source:
    """The poller Source of a topology entry, configured from the settings (its API URLs
    HTTPS, or plain HTTP declared as local development).

    Every setting it cannot run without is named at once, before anything is contacted.
    """
    missing = source.missing(settings)
    if missing:
        raise ConfigurationError(", ".join(missing), f"required to poll {source.name}, not set")
    check_transport(source, settings)
    factory: Callable[[Settings], Source] = load(source.producer)
    return factory(settings)
