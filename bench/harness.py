"""What every benchmark shares: a median of runs, the machine's description, the report."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """One figure of one case, with the baseline it is compared to."""

    case: str  # e.g. "processor cdc, 1 worker"
    figure: float  # the median
    unit: str  # e.g. "records/s"
    baseline: float | None = None  # the baseline's median, same unit
    baseline_name: str | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        """figure / baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.figure / self.baseline


def median_of(
    run: Callable[[], float], runs: int = 3, warmup: Callable[[], object] | None = None
) -> float:
    """Warm up once, run ``runs`` times, the median."""
    if warmup is not None:
        warmup()
    return statistics.median(run() for _ in range(runs))


def _java_version() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return "absent"
    return (done.stderr.splitlines() or ["?"])[0]


def environment() -> dict[str, str]:
    """Cores, versions and the settings that matter."""
    packages = ("confluent-kafka", "faust-streaming", "fastavro", "orjson", "psycopg")
    described = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": str(os.cpu_count()),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "java": _java_version(),
        "kafka": "4.3.0 (native stack, KRaft, one broker, on this machine)",
        "debezium": "3.6.1.Final",
    }
    described |= {name: version(name) for name in packages}
    described |= {
        key: value
        for key, value in sorted(os.environ.items())
        if key.startswith(("HEADWATER_PROCESSOR__", "HEADWATER_SINK__", "HEADWATER_BENCH_"))
    }
    return described


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def report(results: list[Result], json_path: Path) -> str:
    """The table (markdown) of every result, printed and returned; the JSON written."""
    lines = [
        "| case | figure | unit | baseline | ratio | notes |",
        "|---|---:|---|---|---:|---|",
    ]
    for r in results:
        baseline = f"{r.baseline_name}: {_number(r.baseline)}" if r.baseline is not None else ""
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        lines.append(
            f"| {r.case} | {_number(r.figure)} | {r.unit} | {baseline} | {ratio} | {r.notes} |"
        )
    described = environment()
    lines += ["", "Environment: " + ", ".join(f"{k} {v}" for k, v in described.items())]
    table = "\n".join(lines)
    print(table)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "environment": described,
        "results": [asdict(r) | {"ratio": r.ratio} for r in results],
    }
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    return table
