"""A supervised process tree: children with their own metrics ports, restarted with backoff.

:class:`Supervisor` starts every :class:`ChildSpec` as its own process (own session, own log
file), restarts one that crashed after an exponential backoff, gives up on one that
crash-loops (and says so), and on stop sends SIGTERM to all, then SIGKILL to whatever is left
after the deadline. ``headwater run`` and ``headwater demo`` are built on it.
"""

from __future__ import annotations

from headwater.lifecycle import stop_on_signals
from headwater.supervisor.child import ChildState, ChildStatus
from headwater.supervisor.report import endpoint_lines, status_lines
from headwater.supervisor.spec import ChildSpec, RestartPolicy
from headwater.supervisor.supervisor import PortInUse, Supervisor
from headwater.supervisor.targets import PrometheusTargets, TargetRegistry

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
