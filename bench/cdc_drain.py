"""How fast the processor and the sink drain a CDC backlog, against Debezium alone.

    .venv/bin/python bench/run.py --only cdc_drain [--changes 20000]

A fresh schema with its own connector, processor and sink (``bench/cdc_rig.py``); the
warm-up mirrors its initial snapshot. Each run then, with the connector, the processor and
the sink all stopped, writes ``BENCH_CDC_CHANGES`` changes (default 200,000; the
workload generator, as fast as one connection goes) and times two stages one after the
other:

- baseline, Debezium alone: from resuming the connector to the last of the changes' events
  on the cdc.* topics (their end offsets reach the count the changes make);
- the drain: from launching ``headwater process`` and ``headwater sink cdc`` to the sink's
  last commit, after which every mirror is checked to equal its source table in SQL.

Both include their start-up (a connector task, two Python services). Over the whole run,
from the resume to the last commit: CPU seconds of each component (/proc utime + stime of
its process tree, reaped children included) and peak resident memory (VmHWM of our two
services; VmRSS of Connect's and Kafka's JVMs sampled every 0.25 s, as their VmHWM dates
from their start). PostgreSQL and Kafka are shared with whatever else runs on the stack.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cdc_rig import CdcRig, cdc_events
from bench.harness import Result, medians_of, report
from bench.proc import PeakMemory, cpu_seconds
from sandbox.workload import run_workload

CHANGES = int(os.environ.get("BENCH_CDC_CHANGES", "200000"))
CPU = {
    "connect": "Kafka Connect + Debezium",
    "processor": "processor",
    "sink": "sink",
    "kafka": "Kafka broker",
    "postgres": "PostgreSQL (source + warehouse)",
}
MEMORY = {
    "processor": "processor (VmHWM)",
    "sink": "sink (VmHWM)",
    "connect": "Kafka Connect + Debezium (VmRSS, sampled)",
    "kafka": "Kafka broker (VmRSS, sampled)",
}
MB = 1024 * 1024


def _mirror_snapshot(rig: CdcRig) -> None:
    """The warm-up: the initial snapshot goes through, then both services stop."""
    rig.wait_caught_up()
    rig.check_mirrors()
    rig.stop_services()


def _cpu(rig: CdcRig) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in rig.pids().items() if pid is not None}


def _drain(rig: CdcRig, changes: int, seed: int) -> dict[str, float]:
    rig.stop_connector()
    before = sum(rig.end_offsets(rig.cdc_topics).values())
    written = run_workload(rig.source_dsn, rate=None, changes=changes, seed=seed, schema=rig.schema)
    expected = before + cdc_events(written)
    with PeakMemory(rig.pids) as memory:
        cpu_before = _cpu(rig)
        resumed = time.time()
        rig.resume_connector()
        first_event = _wait_events(rig, before, expected)
        launched = debezium_done = time.time()
        rig.start_services()
        while not (rig.processor.ready() and rig.sink.ready()):
            rig.processor.check_alive()
            rig.sink.check_alive()
            time.sleep(0.1)
        ready = time.time()
        drained = rig.wait_caught_up()
        cpu_before |= {name: 0.0 for name in ("processor", "sink")}  # they started afresh
        used = {name: seconds - cpu_before[name] for name, seconds in _cpu(rig).items()}
        peaks = dict(memory.peaks) | {
            "processor": rig.processor.peak_memory(),
            "sink": rig.sink.peak_memory(),
        }
    events = sum(rig.end_offsets(rig.cdc_topics).values()) - before
    if events != expected - before:  # then the timing above stopped at the wrong event
        raise AssertionError(f"Debezium wrote {events} events, {expected - before} expected")
    rig.check_mirrors()
    rig.stop_services()
    return {
        "changes": written.changes,
        "generator": written.rate,
        "debezium": written.changes / (debezium_done - resumed),
        "debezium start": first_event - resumed,
        "drain": written.changes / (drained - launched),
        "drain start": ready - launched,
        **{f"cpu {name}": seconds for name, seconds in used.items()},
        **{f"peak {name}": peaks.get(name, 0) / MB for name in MEMORY},
    }


def _wait_events(rig: CdcRig, before: int, expected: int, timeout_s: float = 1_800) -> float:
    """Poll the cdc.* end offsets until they reach ``expected``; when the first event came."""
    started, first = time.time(), None
    while (found := sum(rig.end_offsets(rig.cdc_topics).values())) < expected:
        if first is None and found > before:
            first = time.time()
        if time.time() - started > timeout_s:
            raise TimeoutError(f"Debezium wrote {found - before} of {expected - before} events")
        time.sleep(0.1)
    return first or time.time()


def cases() -> list[Result]:
    """Debezium alone, then processor + sink, on the same backlog; CPU and memory of each."""
    seeds = iter(range(100, 200))
    with CdcRig() as rig:
        figures = medians_of(
            lambda: _drain(rig, CHANGES, next(seeds)), warmup=lambda: _mirror_snapshot(rig)
        )
    changes = figures["changes"]
    debezium = figures["debezium"]
    window = "from the connector's resume to the sink's last commit"
    results = [
        Result(
            "cdc drain: Debezium alone (WAL to cdc topics)",
            debezium,
            "changes/s",
            notes=f"{changes:,.0f} changes written with the connector stopped (generator: "
            f"{figures['generator']:,.0f}/s), timed from its resume; first event after "
            f"{figures['debezium start']:.1f} s",
        ),
        Result(
            "cdc drain: processor + sink (cdc topics to mirrors)",
            figures["drain"],
            "changes/s",
            debezium,
            "Debezium alone",
            f"{changes:,.0f} changes, from launching both to the sink's last commit "
            f"(both ready after {figures['drain start']:.1f} s); mirrors then equal their "
            "source (SQL)",
        ),
    ]
    for name, label in CPU.items():
        seconds = figures.get(f"cpu {name}", float("nan"))
        results.append(
            Result(
                f"cdc drain CPU: {label}",
                seconds,
                "CPU s",
                notes=f"{seconds / changes * 1e6:,.0f} µs per change, {window}",
            )
        )
    for name, label in MEMORY.items():
        results.append(
            Result(f"cdc drain peak RSS: {label}", figures[f"peak {name}"], "MiB", notes=window)
        )
    return results


if __name__ == "__main__":
    report(cases(), Path(".bench/cdc_drain.json"))
