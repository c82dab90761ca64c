"""A supervised process tree: children with their own metrics ports, restarted with backoff.

:class:`Supervisor` starts every :class:`ChildSpec` as its own process (own session, own log
file), restarts one that crashed after an exponential backoff, gives up on one that
crash-loops (and says so), and on stop sends SIGTERM to all, then SIGKILL to whatever is left
after the deadline. ``headwater run`` and ``headwater demo`` are built on it.
"""

from __future__ import annotations

from control.supervisor.child import ChildState, ChildStatus
from control.supervisor.report import endpoint_lines, status_lines
from control.supervisor.spec import ChildSpec, RestartPolicy
from control.supervisor.supervisor import PortInUse, Supervisor
from control.supervisor.targets import PrometheusTargets, TargetRegistry
from headwater.lifecycle import stop_on_signals

__all__ = [
    "ChildSpec",
    "ChildState",
    "ChildStatus",
    "PortInUse",
    "PrometheusTargets",
    "RestartPolicy",
    "Supervisor",
    "TargetRegistry",
    "endpoint_lines",
    "status_lines",
    "stop_on_signals",
]
