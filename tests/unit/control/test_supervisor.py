"""The supervisor with tiny child scripts: restarts with backoff, crash-loop give-up, terminal
errors, SIGTERM propagation within the deadline, no orphans, Prometheus targets."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from control.stack.process import pid_alive
from control.supervisor import (
    ChildSpec,
    ChildState,
    PortInUse,
    PrometheusTargets,
    RestartPolicy,
    Supervisor,
)
from headwater.settings import StackSettings
from tests.conftest import wait_for

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    from pathlib import Path

    mode, record = sys.argv[1], Path(sys.argv[2])

    def note(line):
        with record.open("a") as f:
            f.write(line + "\\n")

    starts = sum(1 for l in record.read_text().splitlines() if l.startswith("start ")) \\
        if record.exists() else 0
    note(f"start {os.getpid()} {time.monotonic()}")
    if mode == "crash" or (mode == "crash-once" and starts == 0):
        sys.exit(1)
    if mode == "terminal":
        sys.exit(2)
    if mode == "dependency-down":
        sys.exit(75)
    if mode == "crash-after":
        time.sleep(float(sys.argv[3]))
        sys.exit(1)
    if mode in ("stubborn", "leaves-grandchild"):
        grandchild = subprocess.Popen([sys.executable, "-c", (
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "open(sys.argv[1], 'a').write('grandchild-ready\\\\n'); time.sleep(300)"
        ), str(record)])
        note(f"grandchild {grandchild.pid}")
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def on_term(number, frame):
            note("terminated")
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
    note("ready")
    while True:
        time.sleep(1)
    """
)

FAST = RestartPolicy(
    initial_delay_s=0.2, max_delay_s=1.0, factor=2.0, stable_after_s=5.0, max_attempts=3
)


@pytest.fixture
def child_script(tmp_path: Path) -> Path:
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    return path


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    """Supervisors made by a test, stopped at the end whatever happened."""
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.hurry()
        supervisor.stop(timeout_s=1)


class Record:
    """What a child script wrote: its starts (pid, monotonic time) and notes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def starts(self) -> list[tuple[int, float]]:
        return [
            (int(pid), float(at))
            for _, pid, at in (line.split() for line in self.lines() if line.startswith("start "))
        ]

    def pids(self) -> list[int]:
        pids = [pid for pid, _ in self.starts()]
        return pids + [
            int(line.split()[1]) for line in self.lines() if line.startswith("grandchild ")
        ]

    def has(self, note: str) -> bool:
        return note in self.lines()


def spec(script: Path, name: str, mode: str, record: Path, *extra: str) -> ChildSpec:
    return ChildSpec(name, (sys.executable, str(script), mode, str(record), *extra))


def supervise(
    made: list[Supervisor], specs: list[ChildSpec], run_dir: Path, policy: RestartPolicy = FAST
) -> Supervisor:
    supervisor = Supervisor(specs, run_dir, policy=policy)
    made.append(supervisor)
    supervisor.start()
    return supervisor


def stepping(supervisor: Supervisor, condition: Callable[[], bool]) -> Callable[[], bool]:
    """The condition, checked after letting the supervisor reap and restart."""

    def check() -> bool:
        supervisor.step()
        return condition()

    return check


def state_of(supervisor: Supervisor, name: str) -> ChildState:
    supervisor.step()
    return next(s for s in supervisor.status() if s.name == name).state


def test_a_crashed_child_is_restarted_with_a_growing_backoff(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "flaky.txt")
    policy = RestartPolicy(initial_delay_s=0.3, factor=2.0, stable_after_s=30, max_attempts=10)
    supervisor = supervise(
        supervisors,
        [spec(child_script, "flaky", "crash-after", record.path, "0.1")],
        tmp_path,
        policy,
    )

    wait_for(stepping(supervisor, lambda: len(record.starts()) >= 4), 15, 0.02, "4 starts")

    times = [at for _, at in record.starts()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # each gap is the child's 0.1 s life plus the backoff: 0.3 s, 0.6 s, 1.2 s
    for gap, delay in zip(gaps, (0.3, 0.6, 1.2), strict=False):
        assert gap >= 0.1 + delay
    assert len(set(record.pids())) == len(record.pids())  # a new process each time


def test_a_child_back_up_runs_on_and_keeps_its_port_and_log(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "once.txt")
    supervisor = supervise(
        supervisors, [spec(child_script, "once", "crash-once", record.path)], tmp_path
    )

    wait_for(stepping(supervisor, lambda: record.has("ready")), 10, 0.02, "the second start")
    assert state_of(supervisor, "once") is ChildState.RUNNING
    status = supervisor.status()[0]
    assert status.restarts == 1
    assert status.last_exit == 1
    assert status.pid == record.starts()[-1][0]
    log = (tmp_path / "once.log").read_text()
    assert log.count("--- headwater supervisor: start") == 2
    assert supervisor.exit_status() == 0


def test_a_crash_loop_is_given_up_loudly_while_the_others_keep_running(
    tmp_path: Path,
    child_script: Path,
    supervisors: list[Supervisor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, steady = Record(tmp_path / "broken.txt"), Record(tmp_path / "steady.txt")
    supervisor = supervise(
        supervisors,
        [
            spec(child_script, "broken", "crash", broken.path),
            spec(child_script, "steady", "steady", steady.path),
        ],
        tmp_path,
    )

    wait_for(lambda: state_of(supervisor, "broken") is ChildState.FAILED, 15, 0.02, "give-up")

    assert len(broken.starts()) == FAST.max_attempts
    failed = supervisor.failed()
    assert [s.name for s in failed] == ["broken"]
    assert "crash loop: 3 crashes in a row" in failed[0].reason
    assert any("GAVE UP on broken" in r.getMessage() for r in caplog.records)
    for _ in range(5):  # never started again
        supervisor.step()
    assert len(broken.starts()) == FAST.max_attempts
    assert state_of(supervisor, "steady") is ChildState.RUNNING
    assert pid_alive(steady.starts()[0][0])
    assert supervisor.exit_status() == 1


def test_a_terminal_error_is_not_retried(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "misconfigured.txt")
    supervisor = supervise(
        supervisors, [spec(child_script, "misconfigured", "terminal", record.path)], tmp_path
    )

    wait_for(lambda: state_of(supervisor, "misconfigured") is ChildState.FAILED, 10, 0.02)

    assert len(record.starts()) == 1
    assert "terminal error (exit 2)" in supervisor.failed()[0].reason


def test_a_dependency_outage_is_waited_out_not_given_up(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "waiting.txt")
    supervisor = supervise(
        supervisors, [spec(child_script, "waiting", "dependency-down", record.path)], tmp_path
    )

    limit = FAST.max_attempts * 2  # twice as many fast exits as a crash loop may have
    wait_for(stepping(supervisor, lambda: len(record.starts()) > limit), 20, 0.02, "restarts")

    assert supervisor.failed() == []
    status = supervisor.status()[0]
    assert status.state is ChildState.BACKOFF or status.state is ChildState.RUNNING
    assert status.last_exit == 75
    times = [at for _, at in record.starts()]
    late_gaps = [later - earlier for earlier, later in itertools.pairwise(times)][-3:]
    assert all(gap >= FAST.max_delay_s for gap in late_gaps)  # the longest wait, every time
    assert supervisor.exit_status() == 0


def test_a_child_that_stayed_up_starts_its_backoff_over(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    # It crashes after 0.6 s each time, which counts as stable: it is never given up.
    record = Record(tmp_path / "slow.txt")
    policy = RestartPolicy(initial_delay_s=0.1, stable_after_s=0.5, max_attempts=2)
    supervisor = supervise(
        supervisors,
        [spec(child_script, "slow", "crash-after", record.path, "0.6")],
        tmp_path,
        policy,
    )

    wait_for(stepping(supervisor, lambda: len(record.starts()) >= 4), 20, 0.02, "4 starts")

    # Without the reset, the second crash in a row would have been the last (max_attempts=2).
    assert state_of(supervisor, "slow") is not ChildState.FAILED


def test_stop_kills_what_ignores_sigterm_and_leaves_no_orphans(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    stubborn, parent = Record(tmp_path / "stubborn.txt"), Record(tmp_path / "parent.txt")
    policy = RestartPolicy(stop_timeout_s=1.0)
    supervisor = supervise(
        supervisors,
        [
            spec(child_script, "stubborn", "stubborn", stubborn.path),
            spec(child_script, "parent", "leaves-grandchild", parent.path),
        ],
        tmp_path,
        policy,
    )
    for record in (stubborn, parent):
        wait_for(lambda r=record: r.has("ready") and r.has("grandchild-ready"), 10, 0.02)
    pids = stubborn.pids() + parent.pids()
    assert len(pids) == 4

    started = time.monotonic()
    supervisor.stop()

    assert time.monotonic() - started < policy.stop_timeout_s + 3
    assert parent.has("terminated")  # SIGTERM reached it, and it exited by itself
    assert all(s.state is ChildState.STOPPED for s in supervisor.status())
    wait_for(lambda: not any(pid_alive(pid) for pid in pids), 5, 0.02, "no process left")


def test_hurry_does_not_wait_for_the_deadline(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "stubborn.txt")
    supervisor = supervise(
        supervisors,
        [spec(child_script, "stubborn", "stubborn", record.path)],
        tmp_path,
        RestartPolicy(stop_timeout_s=60),
    )
    wait_for(lambda: record.has("ready"), 10, 0.02)

    supervisor.hurry()
    started = time.monotonic()
    supervisor.stop()

    assert time.monotonic() - started < 5
    wait_for(lambda: not any(pid_alive(pid) for pid in record.pids()), 5, 0.02)


def test_a_taken_port_fails_before_anything_starts(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    record = Record(tmp_path / "steady.txt")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        child = ChildSpec("steady", spec(child_script, "", "steady", record.path).argv, port=port)
        supervisor = Supervisor([child], tmp_path)
        supervisors.append(supervisor)
        with pytest.raises(PortInUse, match=f"port {port} \\(metrics of steady\\)"):
            supervisor.start()
    assert record.starts() == []


def test_metrics_endpoints_are_registered_with_prometheus_and_removed(
    tmp_path: Path, child_script: Path, supervisors: list[Supervisor]
) -> None:
    stack = StackSettings(state_dir=tmp_path / "stack")
    targets = PrometheusTargets(stack)
    targets.folder.mkdir(parents=True)
    port = _free_port()
    record = Record(tmp_path / "steady.txt")
    child = ChildSpec("steady", spec(child_script, "", "steady", record.path).argv, port=port)
    supervisor = Supervisor([child], tmp_path / "run", policy=FAST, targets=targets)
    supervisors.append(supervisor)

    supervisor.start()
    written = json.loads((targets.folder / "steady.json").read_text())
    assert written == [{"targets": [f"127.0.0.1:{port}"], "labels": {"service": "steady"}}]
    wait_for(lambda: record.has("ready"), 10, 0.02)
    assert f"HEADWATER_HTTP__PORT={port}" in _environ_of(record.starts()[0][0])

    supervisor.stop()
    assert list(targets.folder.iterdir()) == []


def test_sigterm_to_the_supervisor_process_stops_the_tree_within_the_deadline(
    tmp_path: Path, child_script: Path
) -> None:
    steady, stubborn = Record(tmp_path / "steady.txt"), Record(tmp_path / "stubborn.txt")
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from headwater.logs import configure_logging
            from control.supervisor import ChildSpec, RestartPolicy, Supervisor, stop_on_signals

            configure_logging("INFO", "text")
            child = [sys.executable, {str(child_script)!r}]
            specs = [
                ChildSpec("steady", (*child, "steady", {str(steady.path)!r})),
                ChildSpec("stubborn", (*child, "stubborn", {str(stubborn.path)!r})),
            ]
            supervisor = Supervisor(
                specs, Path({str(tmp_path / "run")!r}), policy=RestartPolicy(stop_timeout_s=2)
            )
            with stop_on_signals(on_repeat=supervisor.hurry) as stop:
                supervisor.start()
                sys.exit(supervisor.run(stop))
            """
        )
    )
    with (tmp_path / "driver.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(driver)],
            env=os.environ | {"PYTHONPATH": str(REPO)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: steady.has("ready") and stubborn.has("grandchild-ready"), 20, 0.02)
        pids = steady.pids() + stubborn.pids()

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)

        assert time.monotonic() - started < 2 + 3  # the deadline, then SIGKILL
        assert code == 0, (tmp_path / "driver.log").read_text()
        assert steady.has("terminated")
        log = (tmp_path / "driver.log").read_text()
        assert "did not stop in time: SIGKILL" in log
        assert "child=stubborn" in log
        wait_for(lambda: not any(pid_alive(pid) for pid in pids), 5, 0.02, "no orphans")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environ_of(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode()
