"""What a command needs set before it contacts anything, and the check that says what is not.

The needs themselves are declared once, with the services in :mod:`headwater.topology`
(:func:`headwater.topology.service_needs`); a command calls :func:`require` first, so a
newcomer who forgot a token hears about every missing variable at once, in one line, and
before any Kafka, database or HTTP connection is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from headwater.errors import ConfigurationError
from headwater.settings import ENV_PREFIX, Settings


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Need:
    """A variable that must be set, always or only when ``when`` says so."""

    #: the environment variable, e.g. ``HEADWATER_WAREHOUSE__DSN``
    variable: str
    #: whether it is needed with these settings (some needs follow from other settings)
    when: Callable[[Settings], bool] = _always


def value_of(settings: Settings, variable: str) -> object:
    """The value a ``HEADWATER_SECTION__FIELD`` variable gave the settings."""
    section, _, name = variable.removeprefix(ENV_PREFIX).partition("__")
    return getattr(getattr(settings, section.lower()), name.lower())


def _is_set(value: object) -> bool:
    return value is not None and value != "" and value != []


def missing(settings: Settings, needs: Iterable[Need]) -> list[str]:
    """The variables among ``needs`` that these settings leave unset, in declared order."""
    return [
        need.variable
        for need in needs
        if need.when(settings) and not _is_set(value_of(settings, need.variable))
    ]


def require(settings: Settings, needs: Iterable[Need], who: str) -> None:
    """Raise one :class:`ConfigurationError` naming every variable ``who`` lacks."""
    absent = missing(settings, needs)
    if absent:
        pronoun = "it" if len(absent) == 1 else "them"
        raise ConfigurationError(", ".join(absent), f"not set: {who} needs {pronoun}")
