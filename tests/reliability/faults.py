"""The faults the fault tier injects into a running pipeline, and the seeded schedule of them.

A fault returns once it is over: the process it killed is dead (its supervisor restarts it),
the dependency it stopped is answering again, the outage it caused has ended. What it was
and when it ended is recorded, so the test can tell how long the services took to recover.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from control.stack.kafka import KafkaBroker, KafkaConnect
from control.stack.launcher import Stack
from control.supervisor import ChildSpec
from headwater.kafka.clients import make_producer
from headwater.settings import KafkaSettings
from headwater.topology import NORM_EVENTS
from stream_processors.events.normalize import to_output as event_output
from tests.support.norm_records import app_event
from tests.support.tcp_proxy import TcpProxy


@dataclass(frozen=True)
class Fault:
    """One fault: what it does (returns when it is over) and whether it stops a dependency."""

    name: str
    inject: Callable[[], None]
    dependency: bool = False


@dataclass
class Injected:
    """A fault that happened: when it started and when it was over."""

    name: str
    started: float
    ended: float
    dependency: bool


@dataclass
class FaultLog:
    """Every injected fault, in order."""

    seed: int
    injected: list[Injected] = field(default_factory=list)

    def run(self, fault: Fault) -> Injected:
        started = time.monotonic()
        fault.inject()
        done = Injected(fault.name, started, time.monotonic(), fault.dependency)
        self.injected.append(done)
        return done


def children_of(parent: int) -> dict[tuple[str, ...], int]:
    """The live child processes of ``parent``, by command line."""
    found: dict[tuple[str, ...], int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = tuple((entry / "cmdline").read_bytes().decode().split("\0")[:-1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and argv:
            found[argv] = int(entry.name)
    return found


def kill_service(supervisor_pid: int, child: ChildSpec) -> Fault:
    """kill -9 of one supervised service (the supervisor must bring it back)."""

    def inject() -> None:
        deadline = time.monotonic() + 120
        while (pid := children_of(supervisor_pid).get(tuple(child.argv))) is None:
            if time.monotonic() > deadline:  # between two lives for that long: not restarted
                raise AssertionError(f"the supervisor did not start {child.name} again")
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)

    return Fault(f"kill -9 {child.name}", inject)


def _kill_and_start(component: KafkaBroker | KafkaConnect, timeout_s: float = 180.0) -> None:
    pid = component.process.pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while component.running():
        if time.monotonic() > deadline:
            raise AssertionError(f"{component.name} did not die")
        time.sleep(0.1)
    component.start()
    while not component.ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{component.name} not ready again:\n{component.log_tail()}")
        time.sleep(0.5)


def restart_kafka(stack: Stack) -> Fault:
    """kill -9 of the broker, then start it again (the only broker: a full Kafka outage)."""
    return Fault("Kafka restart", lambda: _kill_and_start(stack.kafka), dependency=True)


def restart_connect(stack: Stack) -> Fault:
    """kill -9 of the Connect worker, then start it again (Debezium's task goes with it)."""
    return Fault("Connect restart", lambda: _kill_and_start(stack.connect), dependency=True)


def restart_postgres(stack: Stack) -> Fault:
    """An immediate shutdown of PostgreSQL (source and warehouse), then start it again."""

    def inject() -> None:
        stack.postgres.stop(mode="immediate")
        stack.postgres.start()
        deadline = time.monotonic() + 120
        while not stack.postgres.ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL not ready:\n{stack.postgres.log_tail()}")
            time.sleep(0.5)

    return Fault("warehouse restart", inject, dependency=True)


def refuse_warehouse(proxy: TcpProxy, seconds: float, stop: threading.Event) -> Fault:
    """The warehouse refuses every connection for ``seconds`` (as during a failover)."""

    def inject() -> None:
        proxy.cut()
        try:
            stop.wait(seconds)  # the outage's length, not a wait for something
        finally:
            proxy.restore()

    return Fault(f"warehouse refuses connections for {seconds:.0f} s", inject, dependency=True)


def poison_event(kafka: KafkaSettings, marker: str) -> Fault:
    """A normalized app event the warehouse refuses (a NUL byte in a text), amid good ones.

    The normalizers refuse NUL bytes in what users type; this one comes as another writer of
    ``norm.app.events`` would send it, so that a sink batch holds it. It is unattributed, so no
    KPI counts it; its platform carries ``marker``, by which the test finds its dead letter.
    """

    def inject() -> None:
        event = app_event(
            0, "App Launched", event_id=f"poison-{marker}", platform=f"And\u0000roid {marker}"
        )
        output = event_output(event)
        producer = make_producer(kafka)
        producer.produce(NORM_EVENTS, output.value, output.key, headers=output.headers)
        if producer.flush(30):
            raise AssertionError("the poison record was not delivered")

    return Fault("a record the warehouse refuses", inject)


def schedule(
    seed: int, faults: list[Fault], gap_s: tuple[float, float]
) -> list[tuple[float, Fault]]:
    """The faults in a seeded order, each after a seeded pause; a service is never killed
    twice in a row."""
    rng = random.Random(seed)
    order = faults[:]
    rng.shuffle(order)
    for index in range(1, len(order)):
        if order[index].name == order[index - 1].name:
            swap = (index + 1) % len(order)
            order[index], order[swap] = order[swap], order[index]
    return [(rng.uniform(*gap_s), fault) for fault in order]
