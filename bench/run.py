"""``make bench``: every benchmark case, one table, written as JSON too.

    make bench                                  # the stack is started if it is not up
    make bench ONLY="cdc_drain cdc_steady" ARGS="--changes 20000 --seconds 20"
    .venv/bin/python bench/run.py --only kpi_fold --only processor

Each module in CASES exposes ``cases() -> list[Result]``; they run in this order and read
their sizes from the environment (BENCH_*: not HEADWATER_*, which the services refuse
when unknown), which the options below set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, report

CASES = ["processor", "kpi_fold", "cdc_drain", "cdc_steady", "service_memory"]
SIZES = [
    ("--changes", "BENCH_CDC_CHANGES", "cdc_drain: changes per run (200,000)"),
    ("--rate", "BENCH_CDC_RATE", "cdc_steady: changes/s (1,000)"),
    ("--seconds", "BENCH_CDC_SECONDS", "cdc_steady: seconds per run (60)"),
]


def main() -> int:
    """Run the chosen cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=CASES, help="run only these cases")
    parser.add_argument("--json", type=Path, default=Path(".bench/latest.json"))
    for option, variable, meaning in SIZES:
        parser.add_argument(option, type=float, help=f"{meaning} (sets {variable})")
    args = parser.parse_args()
    for option, variable, _ in SIZES:
        value = getattr(args, option.removeprefix("--"))
        if value is not None:
            os.environ[variable] = str(int(value)) if value.is_integer() else str(value)
    results: list[Result] = []
    for name in args.only or CASES:
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"(no bench/{name}.py yet: skipped)", file=sys.stderr)
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results += module.cases()
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
