"""How subcommands get the settings loaded by the top-level group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import click

from headwater.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


def pass_settings(command: Callable[Concatenate[Settings, P], R]) -> Callable[P, R]:
    """Hand the loaded :class:`Settings` to a command as its first argument."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        settings = click.get_current_context().find_object(Settings)
        if settings is None:  # a subcommand invoked without the group: load them now
            from headwater.settings import load_settings

            settings = load_settings()
        return command(settings, *args, **kwargs)

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return wrapper
