"""``make bench``: every benchmark case, one table, written as JSON too.

    make bench                                  # the stack is started if it is not up
    .venv/bin/python bench/run.py --only kpi_fold --only processor

Each module in CASES exposes ``cases() -> list[Result]``; they run in this order.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, report

CASES = ["processor", "kpi_fold", "cdc_drain", "cdc_steady"]


def main() -> int:
    """Run the chosen cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=CASES, help="run only these cases")
    parser.add_argument("--json", type=Path, default=Path(".bench/latest.json"))
    args = parser.parse_args()
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
