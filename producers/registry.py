"""The API sources by name, built from the settings."""

from __future__ import annotations

from headwater.errors import ConfigurationError
from headwater.settings import Settings
from producers.base import Source

SOURCES = ("facebook_ads", "google_ads", "clevertap")


def build_source(name: str, settings: Settings) -> Source:
    """The Source called ``name``, configured from the settings."""
    if name == "facebook_ads":
        from producers.facebook_ads.source import FacebookAdsSource

        return FacebookAdsSource(settings.facebook)
    if name == "google_ads":
        from producers.google_ads.source import GoogleAdsSource

        return GoogleAdsSource(settings.google_ads)
    if name == "clevertap":
        from producers.clevertap.source import CleverTapSource

        return CleverTapSource(settings.clevertap)
    raise ConfigurationError("source", f"{name!r} is not one of {', '.join(SOURCES)}")
