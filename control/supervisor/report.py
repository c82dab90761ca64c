"""Human-readable lines about the children, for the terminal."""

from __future__ import annotations

from collections.abc import Iterable

from control.supervisor.child import ChildState, ChildStatus
from control.supervisor.spec import ChildSpec


def endpoint_lines(specs: Iterable[ChildSpec]) -> list[str]:
    """Where each child's metrics are."""
    return [f"  {spec.name:<22} {spec.metrics_url or '(no metrics port)'}" for spec in specs]


def status_lines(statuses: Iterable[ChildStatus]) -> list[str]:
    """One line per child: state, restarts, and why it failed; failures stand out."""
    lines = []
    for status in statuses:
        state = "FAILED" if status.state is ChildState.FAILED else status.state.value
        line = f"  {status.name:<22} {state:<9} restarts {status.restarts}"
        if status.reason:
            line += f"  {status.reason}"
        if status.state is ChildState.FAILED:
            line += f"\n  {'':<22} log: {status.log_path}"
        lines.append(line)
    return lines
