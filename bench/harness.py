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

import psycopg

from headwater.postgres import verified
from headwater.settings import load_settings

LOAD_AT_START = os.getloadavg()[0]  # others' work on the machine skews every figure


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


def medians_of(
    run: Callable[[], dict[str, float]],
    runs: int = 3,
    warmup: Callable[[], object] | None = None,
) -> dict[str, float]:
    """As :func:`median_of`, for a run that measures several figures at once: each one's median."""
    if warmup is not None:
        warmup()
    measured = [run() for _ in range(runs)]
    return {name: statistics.median(m[name] for m in measured) for name in measured[0]}


def _java_version() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return "absent"
    return (done.stderr.splitlines() or ["?"])[0]


def _jar_version(folder: Path, artifact: str) -> str:
    """The version in the name of ``artifact-<version>.jar`` as Maven fetched it."""
    found = sorted(folder.glob(f"{artifact}-*.jar")) if folder.is_dir() else []
    return found[-1].name.removeprefix(f"{artifact}-").removesuffix(".jar") if found else "absent"


def _postgres_version() -> str:
    dsn = os.environ.get("HEADWATER_SOURCE__DSN")
    if not dsn:
        return "not configured"
    try:
        with psycopg.connect(verified(dsn), connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        return f"not reached ({type(error).__name__})"
    return str(row[0]) if row else "?"


def environment() -> dict[str, str]:
    """Cores, versions and the settings that matter."""
    settings = load_settings()
    jars = settings.stack.jars_dir
    packages = ("confluent-kafka", "faust-streaming", "fastavro", "orjson", "psycopg")
    described = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": str(os.cpu_count()),
        "cpu": platform.processor() or platform.machine(),
        "load (1 min)": f"{LOAD_AT_START:.2f} at the start, {os.getloadavg()[0]:.2f} at the end",
        "python": platform.python_version(),
        "java": _java_version(),
        "kafka": _jar_version(jars / "kafka", "kafka_2.13")
        + " (native stack, KRaft, one broker, on this machine)",
        "debezium": _jar_version(
            jars / "plugins" / "debezium-connector-postgres", "debezium-connector-postgres"
        ),
        "postgresql": _postgres_version(),
    }
    described |= {name: version(name) for name in packages}
    described |= {
        "sink batch": f"{settings.sink.batch_size} records or {settings.sink.batch_interval_s} s",
        "partitions": f"cdc.* {settings.cdc.topic_partitions}, "
        f"norm.* {settings.processor.partitions}",
        "JVM heaps": f"Kafka {settings.stack.kafka_heap}, Connect {settings.stack.connect_heap}",
    }
    described |= {
        key: value
        for key, value in sorted(os.environ.items())
        if key.startswith(("HEADWATER_PROCESSOR__", "HEADWATER_SINK__", "BENCH_"))
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
