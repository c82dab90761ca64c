"""Runs children, restarts the crashed ones with backoff, gives up on crash loops, stops all."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from control.supervisor.child import Child, ChildState, ChildStatus, describe_exit
from control.supervisor.spec import ChildSpec, RestartPolicy
from control.supervisor.targets import TargetRegistry
from headwater.errors import ConfigurationError

log = logging.getLogger(__name__)

#: After SIGKILL, how long to wait for the kernel to report the exit before moving on.
KILL_WAIT_S = 10.0


class PortInUse(ConfigurationError):
    """A child's metrics port is taken before it even started."""


class Supervisor:
    """Keeps a set of children running until told to stop.

    Not thread-safe: call :meth:`step` (or :meth:`run`, which calls it) from one thread.
    Signal handlers may call :meth:`hurry`.
    """

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        run_dir: Path,
        *,
        policy: RestartPolicy | None = None,
        environment: Mapping[str, str] | None = None,
        targets: TargetRegistry | None = None,
        port_setting: str = "--base-port",
    ) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"children need distinct names: {', '.join(duplicates)}")
        self.run_dir = run_dir
        self.policy = policy or RestartPolicy()
        self._children = [Child(spec, run_dir / f"{spec.name}.log") for spec in specs]
        self._environment = dict(os.environ if environment is None else environment)
        self._targets = targets
        self._port_setting = port_setting
        self._hurry = False

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Check the ports, then start every child and register its metrics endpoint."""
        self.check_ports()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for child in self._children:
            self._launch(child)
            if self._targets is not None and child.spec.port is not None:
                self._targets.register(child.name, f"127.0.0.1:{child.spec.port}")

    def check_ports(self) -> None:
        """Fail before starting anything when a child's metrics port is taken."""
        for spec in (child.spec for child in self._children):
            if spec.port is None:
                continue
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", spec.port))
                except OSError as error:
                    raise PortInUse(
                        self._port_setting,
                        f"port {spec.port} (metrics of {spec.name}) is not free: "
                        f"{error.strerror}; choose another base port",
                    ) from error

    def step(self) -> None:
        """Reap children that exited, and start the ones whose backoff is over."""
        now = time.monotonic()
        for child in self._children:
            if child.state in (ChildState.RUNNING, ChildState.STOPPING):
                code = child.exit_code()
                if code is not None:
                    self._exited(child, code, now)
            elif child.state is ChildState.BACKOFF and now >= child.restart_at:
                self._launch(child)

    def run(
        self, stop: threading.Event, duration_s: float | None = None, interval_s: float = 0.1
    ) -> int:
        """Supervise until ``stop`` is set or ``duration_s`` passed, then stop all.

        Returns the exit status: 1 when a child was given up, else 0.
        """
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set():
            self.step()
            if all(child.state is ChildState.FAILED for child in self._children):
                log.error("every child was given up: stopping")
                break
            if deadline is not None and time.monotonic() >= deadline:
                log.info("duration reached: stopping", extra={"duration_s": duration_s})
                break
            stop.wait(interval_s)
        self.stop()
        return self.exit_status()

    def stop(self, names: Collection[str] | None = None, timeout_s: float | None = None) -> None:
        """SIGTERM the chosen children (all by default), SIGKILL those left at the deadline.

        Stopping every child also removes their Prometheus targets.
        """
        timeout = self.policy.stop_timeout_s if timeout_s is None else timeout_s
        chosen = [c for c in self._children if names is None or c.name in names]
        for child in chosen:
            if child.state is ChildState.RUNNING:
                child.state = ChildState.STOPPING
                child.stop_deadline = time.monotonic() + timeout
                log.info("stopping", extra={"child": child.name, "pid": child.pid})
                child.terminate()
            elif child.state is ChildState.BACKOFF:
                child.state = ChildState.STOPPED
                child.reason = "stopped while waiting to restart"
        self._wait_stopped(chosen)
        if names is None and self._targets is not None:
            self._targets.unregister_all()

    def hurry(self) -> None:
        """Do not wait for the deadline: SIGKILL what is still stopping (signal-safe)."""
        self._hurry = True

    # -- reporting --------------------------------------------------------------------------

    def status(self) -> list[ChildStatus]:
        """Every child, in start order."""
        return [child.status() for child in self._children]

    def failed(self) -> list[ChildStatus]:
        """The children given up."""
        return [s for s in self.status() if s.state is ChildState.FAILED]

    def exit_status(self) -> int:
        """1 when a child was given up (a crash loop is a bug), else 0."""
        return 1 if self.failed() else 0

    # -- internals --------------------------------------------------------------------------

    def _launch(self, child: Child) -> None:
        try:
            pid = child.start(self._environment, time.monotonic())
        except OSError as error:
            self._give_up(child, f"cannot start {child.spec.argv[0]}: {error}")
            return
        log.info(
            "started",
            extra={
                "child": child.name,
                "pid": pid,
                "port": child.spec.port,
                "start": child.starts,
                "log_file": str(child.log_path),
            },
        )

    def _exited(self, child: Child, code: int, now: float) -> None:
        uptime = now - child.started_at
        if child.state is ChildState.STOPPING:
            child.state = ChildState.STOPPED
            log.info(
                "stopped",
                extra={
                    "child": child.name,
                    "exit": describe_exit(code),
                    "uptime_s": round(uptime, 1),
                },
            )
            return
        if code in self.policy.terminal_exit_codes:
            self._give_up(
                child,
                f"terminal error ({describe_exit(code)}): starting it again cannot fix it",
            )
            return
        if uptime >= self.policy.stable_after_s:
            child.fast_crashes = 0  # it had been up long enough: back to the shortest delay
        waiting = code in self.policy.dependency_exit_codes
        if not waiting:  # an outage is not a crash: it neither counts nor leads to a give-up
            child.fast_crashes += 1
        if not waiting and child.fast_crashes >= self.policy.max_attempts:
            self._give_up(
                child,
                f"crash loop: {child.fast_crashes} crashes in a row, each within "
                f"{self.policy.stable_after_s:g}s of starting (last {describe_exit(code)})",
            )
            return
        delay = self.policy.max_delay_s if waiting else self.policy.delay(child.fast_crashes)
        child.state = ChildState.BACKOFF
        child.restart_at = now + delay
        cause = "dependency unavailable, " if waiting else ""
        child.reason = (
            f"{cause}{describe_exit(code)} after {uptime:.1f}s; restarting in {delay:.1f}s"
        )
        log.warning(
            "dependency unavailable: restarting after a backoff"
            if waiting
            else "crashed: restarting after a backoff",
            extra={
                "child": child.name,
                "exit": describe_exit(code),
                "uptime_s": round(uptime, 1),
                "restart_in_s": delay,
                "crashes_in_a_row": child.fast_crashes,
                "log_file": str(child.log_path),
            },
        )

    def _give_up(self, child: Child, reason: str) -> None:
        child.state = ChildState.FAILED
        child.reason = reason
        log.error(
            "GAVE UP on %s: %s (the others keep running; its log: %s)",
            child.name,
            reason,
            child.log_path,
            extra={"child": child.name, "reason": reason, "log_file": str(child.log_path)},
        )

    def _wait_stopped(self, chosen: list[Child]) -> None:
        killed: dict[str, float] = {}
        while True:
            self.step()
            stopping = [c for c in chosen if c.state is ChildState.STOPPING]
            if not stopping:
                return
            now = time.monotonic()
            for child in stopping:
                if child.name not in killed and (self._hurry or now >= child.stop_deadline):
                    log.warning(
                        "did not stop in time: SIGKILL",
                        extra={"child": child.name, "pid": child.pid},
                    )
                    child.kill()
                    killed[child.name] = now
                elif child.name in killed and now - killed[child.name] > KILL_WAIT_S:
                    log.error("still not gone after SIGKILL", extra={"child": child.name})
                    child.state = ChildState.STOPPED
                    child.reason = "did not exit after SIGKILL"
            time.sleep(0.05)
