"""Peak resident memory of the services the cdc drain does not measure, on the local stack.

    make stack-up && .venv/bin/python bench/service_memory.py      (or make bench ONLY=...)

The Kubernetes manifests' memory requests and limits (deploy/kubernetes/README.md) come
from peak RSS: the processor's and a sink's from ``cdc_drain.py`` (under a 30,000-change
backlog), the rest from here. Each poller runs as ``headwater poll <source>`` against the
sandbox APIs (accounts of this run only, a poller state topic of its own) until its first
run, the backfill of its lookback window, has succeeded; ``headwater connectors monitor``
watches the stack's connector for as long; a one-shot command (``headwater settings``:
the CLI and the settings, as a setup Job starts) runs once. Peaks are VmHWM read
from /proc while the services run, and at exit by the one-shot command itself.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_pipeline import DAILY_EVENTS, run_apis
from bench.harness import Result
from bench.services import BenchService
from control.stack.launcher import Stack
from headwater.settings import load_settings
from headwater.topology import API_SOURCES

MB = 1024 * 1024
FIRST_RUN_TIMEOUT_S = 900.0


def _first_run_done(service: BenchService) -> bool:
    """Whether the poller exports its last successful run's time (every account succeeded)."""
    try:
        text = service.metrics()
    except OSError:
        return False
    return any(
        line.startswith("headwater_poller_last_success_timestamp_seconds")
        for line in text.splitlines()
    )


#: Run a ``headwater`` command and write its own VmHWM at exit: wait4's ru_maxrss would count
#: the benchmark's own memory, which a child forked from it holds until its exec.
_REPORTING = (
    "import atexit, sys\n"
    "def report():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK ' + line.split()[1] + '\\n')\n"
    "atexit.register(report)\n"
    "from control.cli.main import main\n"
    "sys.argv = ['headwater', *sys.argv[1:]]\n"
    "main()\n"
)


def _one_shot_peak(args: list[str], env: dict[str, str]) -> int:
    """Peak RSS in bytes of ``headwater <args>`` run to completion (its VmHWM at exit)."""
    done = subprocess.run(
        [sys.executable, "-c", _REPORTING, *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    if done.returncode != 0 or not peaks:
        raise RuntimeError(f"headwater {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return int(peaks[-1]) * 1024  # kB


def cases() -> list[Result]:
    """Peak RSS of each poller, the CDC monitor and a setup command."""
    tag = uuid.uuid4().hex[:8]
    base = load_settings()
    apis = run_apis(base, tag, digit="8", clevertap="MEM")  # api_pipeline.py's sizes
    logs = Path(tempfile.mkdtemp(prefix="headwater-bench-memory-"))
    peaks: dict[str, int] = {}
    with apis:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        env |= Stack(base.stack).environment() | apis.environment()
        env |= {
            "HEADWATER_POLLER__STATE_TOPIC": f"bench.poller_state.{tag}",
            "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": secrets.token_hex(16),
            "HEADWATER_CLEVERTAP__EVENTS": json.dumps(list(DAILY_EVENTS)),
        }
        pollers = [BenchService(s.service, ["poll", s.name], env, logs) for s in API_SOURCES]
        monitor = BenchService("cdc-monitor", ["connectors", "monitor"], env, logs)
        running = [*pollers, monitor]
        started = time.monotonic()
        for service in running:
            service.start()
        try:
            waiting = list(pollers)
            while waiting and time.monotonic() - started < FIRST_RUN_TIMEOUT_S:
                for service in running:
                    service.check_alive()
                    peaks[service.name] = max(peaks.get(service.name, 0), service.peak_memory())
                waiting = [s for s in waiting if not _first_run_done(s)]
                time.sleep(1)
            if waiting:
                raise RuntimeError(f"{[s.name for s in waiting]} did not finish a first run")
            for service in running:
                peaks[service.name] = max(peaks.get(service.name, 0), service.peak_memory())
        finally:
            for service in running:
                service.stop()
        peaks["setup command"] = _one_shot_peak(["settings"], env)
    seconds = time.monotonic() - started
    window = f"until every poller's first run (the lookback) succeeded: {seconds:.0f} s"
    return [
        Result(f"peak RSS: {name} (VmHWM)", peak / MB, "MiB", notes=window)
        for name, peak in peaks.items()
    ]


if __name__ == "__main__":
    for result in cases():
        print(json.dumps({"case": result.case, "MiB": round(result.figure, 1)}))
