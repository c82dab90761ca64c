"""Click options that more than one command takes, defined once so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from control.pipeline import DEFAULT_BASE_PORT, DEFAULT_GROUP_PREFIX
from headwater.topology import ports_needed

F = TypeVar("F", bound=Callable[..., Any])


def base_port_option(help_text: str) -> Callable[[F], F]:
    """``--base-port``: the first of the services' metrics ports (the help says how it is used)."""
    return click.option(
        "--base-port",
        default=DEFAULT_BASE_PORT,
        show_default=True,
        type=click.IntRange(1024, 65535 - ports_needed()),
        help=help_text,
    )


group_prefix_option = click.option(
    "--group-prefix",
    default=DEFAULT_GROUP_PREFIX,
    show_default=True,
    help="Sinks' consumer groups (and warehouse offset keys) are PREFIX-<sink>.",
)
"""``--group-prefix``: the prefix of the sinks' consumer groups."""


def sink_consumer_options(sink_name: str) -> Callable[[F], F]:
    """A sink's ``--group-id`` (default ``headwater-sink-<sink_name>``) and ``--from-beginning``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--from-beginning",
            is_flag=True,
            help="Forget the stored offsets and replay the topics (idempotent).",
        )(command)
        return click.option(
            "--group-id",
            default=f"headwater-sink-{sink_name}",
            show_default=True,
            help="Consumer group, and the key of the offsets stored in the warehouse.",
        )(command)

    return decorate
