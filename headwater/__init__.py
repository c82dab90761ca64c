"""Headwater: streaming ingestion for marketing and product analytics.

This package is the shared core every part stands on: settings, errors, logs, the HTTP
endpoints, Kafka and Avro helpers, dead letters, the raw envelope, the CDC row reader and the
topology. The data plane (``producers``, ``connectors``, ``stream_processors``, ``sinks``)
sits above it, and the control plane (``control``) above both.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("headwater")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
