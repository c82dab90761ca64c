"""The drain: wait, bounded, until the processor and the sinks consumed everything."""

from __future__ import annotations

from collections.abc import Iterable

from control.demo.drain import Backlog, CatchUp, drain
from control.demo.positions import Partition
from control.demo.reconcile import Snapshot
from control.demo.sources import CDC_SOURCE, DemoSource

CDC_TOPIC = "cdc.shop.orders"
NORM = "norm.cdc.shop.orders"
GROUP = "headwater-processor"


class Clock:
    """Time that passes only when the drain waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return False


def _backlog(processor: int, quiet: bool = True) -> Backlog:
    return Backlog(processor=processor, kpis=0, sinks={"cdc": 0}, source_published=quiet)


def test_the_drain_waits_until_every_consumer_caught_up() -> None:
    clock = Clock()
    measured = iter([_backlog(1_909), _backlog(300), _backlog(0, quiet=False), _backlog(0)])
    shown: list[str] = []

    drained = drain(
        lambda: next(measured),
        timeout_s=60,
        show=lambda backlog, elapsed: shown.append(backlog.line(elapsed, 60)),
        wait=clock.wait,
        cut_short=lambda: None,
        clock=clock,
    )

    assert drained.caught_up
    assert drained.backlog == _backlog(0)
    assert drained.elapsed_s == 6.0
    assert drained.line() == "drain: every consumer caught up in 0:06"
    assert shown[0] == (
        "draining   0:00 (at most 1:00), records to go:\n"
        "           processor 1,909 · kpis 0 · sink cdc 0"
    )
    assert shown[2].endswith("· Debezium still publishing the run's changes")


def test_the_drain_gives_up_at_its_timeout_and_says_what_is_left() -> None:
    clock = Clock()

    drained = drain(
        lambda: _backlog(1_909),
        timeout_s=10,
        show=lambda backlog, elapsed: None,
        wait=clock.wait,
        cut_short=lambda: None,
        clock=clock,
    )

    assert not drained.caught_up
    assert drained.elapsed_s == 10.0
    assert drained.line() == (
        "drain: stopped after 0:10 (the drain timeout of 0:10), records left:"
        " processor 1,909 · kpis 0 · sink cdc 0"
    )


def test_the_drain_stops_waiting_when_it_is_cut_short() -> None:
    clock = Clock()
    reasons = iter([None, "gave up on processor"])

    drained = drain(
        lambda: _backlog(5),
        timeout_s=60,
        show=lambda backlog, elapsed: None,
        wait=clock.wait,
        cut_short=lambda: next(reasons),
        clock=clock,
    )

    assert drained.stopped_by == "gave up on processor"
    assert drained.backlog == _backlog(5)


class FakePositions:
    """Topic ends and the processor's commits, as the test sets them."""

    def __init__(self) -> None:
        self.end = {(CDC_TOPIC, 0): 100, (CDC_TOPIC, 1): 50, (NORM, 0): 80}
        self.commits: dict[Partition, int] = {(CDC_TOPIC, 0): 100}

    def ends(self, topics: Iterable[str]) -> dict[Partition, int]:
        wanted = set(topics)
        return {tp: end for tp, end in self.end.items() if tp[0] in wanted}

    def committed(self, group: str, topics: Iterable[str]) -> dict[Partition, int]:
        assert group == GROUP
        wanted = set(topics)
        return {tp: offset for tp, offset in self.commits.items() if tp[0] in wanted}


def _catch_up(positions: FakePositions, clock: Clock) -> CatchUp:
    source = DemoSource(CDC_SOURCE, (CDC_TOPIC,), (NORM,), "cdc", lambda t, k, v: [])
    before = Snapshot(ends={}, consumed={})  # a fresh clone: no topic yet
    return CatchUp(
        positions,  # type: ignore[arg-type]
        [source],
        before,
        GROUP,
        [],
        {"cdc": ("demo-cdc", [NORM])},
        lambda group: {(NORM, 0): 80} if group == "demo-cdc" else {},
        settle_s=6.0,
        clock=clock,
    )


def test_a_partition_the_processor_never_committed_on_is_all_backlog() -> None:
    positions, clock = FakePositions(), Clock()

    backlog = _catch_up(positions, clock).backlog()

    assert backlog.processor == 50  # partition 1: nothing committed, everything to read
    assert backlog.sinks == {"cdc": 0}
    assert not backlog.empty


def test_without_a_fence_debezium_is_done_once_its_topics_stayed_unchanged_for_a_while() -> None:
    positions, clock = FakePositions(), Clock()
    positions.commits[(CDC_TOPIC, 1)] = 50
    catch_up = _catch_up(positions, clock)

    first = catch_up.backlog()
    clock.wait(2)
    paused = catch_up.backlog()  # one quiet refresh is not the end of the WAL
    clock.wait(2)
    positions.end[(CDC_TOPIC, 1)] = 60  # Debezium wrote more
    positions.commits[(CDC_TOPIC, 1)] = 60
    grew = catch_up.backlog()
    clock.wait(4)
    settling = catch_up.backlog()
    clock.wait(2)
    settled = catch_up.backlog()

    assert [b.source_published for b in (first, paused, grew, settling, settled)] == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert settled.empty


class FakeWatch:
    def __init__(self) -> None:
        self.arrived = False

    def seen(self) -> bool:
        return self.arrived


def test_with_a_fence_debezium_is_done_when_the_fence_is_on_its_topic_not_before() -> None:
    positions, clock = FakePositions(), Clock()
    positions.commits[(CDC_TOPIC, 1)] = 50
    catch_up = _catch_up(positions, clock)
    watch = FakeWatch()
    catch_up.watch(watch)  # type: ignore[arg-type]

    clock.wait(60)
    quiet_for_a_minute = catch_up.backlog()  # Debezium silent: it may not have started at all
    watch.arrived = True
    published = catch_up.backlog()

    assert not quiet_for_a_minute.source_published
    assert not quiet_for_a_minute.empty
    assert published.source_published
    assert published.empty
