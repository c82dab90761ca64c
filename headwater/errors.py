"""The project's exception root and the transient/terminal markers every error carries.

A retry decision is an ``isinstance`` check against :class:`Transient`, never string
matching. Every package derives its own errors from :class:`HeadwaterError` and one of
the two markers.
"""

from __future__ import annotations


class HeadwaterError(Exception):
    """Root of every error Headwater raises on purpose."""


class Transient(HeadwaterError):
    """Marker: retrying the same operation later may succeed."""


class Terminal(HeadwaterError):
    """Marker: retrying cannot fix this; stop and tell a person."""


class ConfigurationError(Terminal):
    """A setting is missing, unknown or malformed."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class DependencyUnavailable(Transient):
    """A service we depend on (Kafka, PostgreSQL, Connect) did not answer."""


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the operation that raised ``exc`` may succeed."""
    return isinstance(exc, Transient)


class RejectedRecord(Terminal):
    """A record that cannot become its output; it goes to a DLQ with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
