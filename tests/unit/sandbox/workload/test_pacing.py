"""The pacer waits for each change's due time on the clock, and never to catch up."""

from __future__ import annotations

import pytest

from sandbox.workload.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_waits_until_the_change_is_due() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, sleep=clock.sleep)
    pacer.wait(0)
    assert clock.slept == []
    clock.now += 0.004  # the first 3 changes took 4 ms
    pacer.wait(3)
    assert clock.slept == [pytest.approx(0.026)]
    assert pacer.elapsed() == pytest.approx(0.03)


def test_does_not_wait_when_behind() -> None:
    clock = FakeClock()
    pacer = Pacer(1_000.0, clock=clock, sleep=clock.sleep)
    clock.now += 1.0
    pacer.wait(500)
    assert clock.slept == []
    assert pacer.due(500) == pytest.approx(0.5)


def test_unpaced_never_waits_and_rate_must_be_positive() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    pacer.wait(10**6)
    assert clock.slept == []
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)
