"""The pipeline as a process tree: the one-shot setup steps, then the long-running services.

``headwater run`` and ``headwater demo`` both build it from the settings: which services run
(every service of ``headwater.topology``, the pollers only for sources whose credentials
are configured), with what arguments, on which metrics port (a fixed offset from a base
port, so a service keeps its port from run to run), and with which secrets: the children
start from the environment without any secret setting (:func:`shared_environment`) and each
is given those of the settings sections its entry in ``headwater.topology`` declares
(:func:`headwater.topology.secret_sections`), taken from the loaded settings (environment
or secrets folder alike).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from control.stack.process import log_tail
from control.supervisor import ChildSpec
from headwater.errors import ConfigurationError, Terminal
from headwater.settings import Settings, StackSettings, secret_variables, without_secrets
from headwater.topology import (
    API_SOURCES,
    BASE_PORT,
    CDC_MONITOR,
    PROCESSOR,
    SINKS,
    ApiSource,
    load,
    port_offsets,
    secret_sections,
)

#: How a child runs a ``headwater`` command: this interpreter, so the same installation.
HEADWATER = (sys.executable, "-m", "control.cli.main")

DEFAULT_BASE_PORT = BASE_PORT
DEFAULT_GROUP_PREFIX = "headwater-sink"


class SetupFailed(Terminal):
    """A one-shot step before the services (source setup, connector apply) failed."""


@dataclass(frozen=True)
class SetupStep:
    """A one-shot ``headwater`` command that must succeed before the services start."""

    name: str
    args: tuple[str, ...]
    #: the settings sections whose secrets it is given
    secret_sections: tuple[str, ...] = ("source", "cdc")


def shared_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every child starts from: no secret setting, no secrets folder."""
    return without_secrets(environ)


def step_environment(
    settings: Settings, step: SetupStep, environ: Mapping[str, str]
) -> dict[str, str]:
    """A setup step's environment: the shared one and the secrets of its sections."""
    return shared_environment(environ) | secret_variables(settings, step.secret_sections)


def run_folder(stack: StackSettings) -> Path:
    """Where this run's logs go: ``<state dir>/run/<UTC timestamp>`` (made on first write)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return stack.state_dir.resolve() / "run" / stamp


def setup_steps(settings: Settings) -> list[SetupStep]:
    """Source setup and connector apply, when the source database and CDC are configured."""
    if settings.source.dsn is None or settings.cdc.password is None:
        return []
    return [
        SetupStep("source-setup", ("source", "setup")),
        SetupStep("connectors-apply", ("connectors", "apply")),
    ]


def setup_skipped_because(settings: Settings) -> str | None:
    """Why the CDC steps are skipped, or None when they run."""
    missing = [
        name
        for name, value in (
            ("HEADWATER_SOURCE__DSN", settings.source.dsn),
            ("HEADWATER_CDC__PASSWORD", settings.cdc.password),
        )
        if value is None
    ]
    return f"{' and '.join(missing)} not set" if missing else None


def run_setup_step(
    step: SetupStep,
    run_dir: Path,
    environment: Mapping[str, str],
    say: Callable[[str], None],
    timeout_s: float = 600.0,
) -> None:
    """Run a step to completion, its output in ``<run dir>/<name>.log``; raise if it failed."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / f"{step.name}.log"
    with log_path.open("wb") as log:
        try:
            done = subprocess.run(
                [*HEADWATER, *step.args],
                env=dict(environment),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SetupFailed(
                f"headwater {' '.join(step.args)} did not finish within {timeout_s:.0f}s; "
                f"{log_path} ends:\n{log_tail(log_path)}"
            ) from error
    if done.returncode != 0:
        raise SetupFailed(
            f"headwater {' '.join(step.args)} failed (exit {done.returncode}); "
            f"{log_path} ends:\n{log_tail(log_path)}"
        )
    for line in log_path.read_text(errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("{"):  # its report, not log lines
            say(f"  {line}")


def configured_pollers(
    settings: Settings, sources: Iterable[ApiSource] = API_SOURCES
) -> list[ApiSource]:
    """The API sources whose credentials and accounts are configured."""
    return [source for source in sources if source.configured(settings)]


def pipeline_children(
    settings: Settings,
    base_port: int = DEFAULT_BASE_PORT,
    group_prefix: str = DEFAULT_GROUP_PREFIX,
    sources: Sequence[ApiSource] = API_SOURCES,
) -> list[ChildSpec]:
    """The services to supervise, in start order, each with its metrics port and secrets."""
    if settings.warehouse.dsn is None:
        raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is required: the sinks write there")
    for source in sources:  # a normalizer's missing setting fails here, not in the processor
        if source.normalizer_runs(settings):
            load(source.normalizer)(settings)
    commands: list[tuple[str, tuple[str, ...]]] = [(PROCESSOR, ("process",))]
    commands += [
        (entry.service, ("sink", entry.name, "--group-id", sink_group(group_prefix, entry.name)))
        for entry in SINKS
    ]
    commands += [
        (source.service, ("poll", source.name)) for source in configured_pollers(settings, sources)
    ]
    if setup_steps(settings):  # CDC is configured: watch the connector and its slot
        commands.append((CDC_MONITOR, ("connectors", "monitor")))
    ports = port_offsets(sources)
    sections = secret_sections(sources)
    return [
        ChildSpec(
            name,
            (*HEADWATER, *args),
            env=secret_variables(settings, sections[name]),
            port=base_port + ports[name],
        )
        for name, args in commands
    ]


def sink_group(group_prefix: str, sink: str) -> str:
    """The consumer group (and warehouse offsets key) of a sink."""
    return f"{group_prefix}-{sink}"


def missing_pollers(
    settings: Settings, sources: Iterable[ApiSource] = API_SOURCES
) -> list[ApiSource]:
    """The API sources left out because their credentials are not configured."""
    return [source for source in sources if not source.configured(settings)]
