"""A faithful local Google Ads API (REST searchStream, OAuth token endpoint) for tests and demos."""

from sandbox.google_ads.server import GoogleAdsSandbox, Quota, SeenRequest

__all__ = ["GoogleAdsSandbox", "Quota", "SeenRequest"]
