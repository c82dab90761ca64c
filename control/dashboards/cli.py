"""Write the dashboards' JSON into a folder, or check that a folder holds exactly that."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from control.dashboards.catalogue import all_dashboards
from control.dashboards.grafana import render


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards into a folder, or (--check) list the files that differ."""
    parser = argparse.ArgumentParser(prog="python -m control.dashboards")
    parser.add_argument("out_dir", type=Path, help="e.g. deploy/grafana/dashboards")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs")
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    wanted = {f"{d['uid']}.json": render(d) for d in all_dashboards()}
    present = {p.name for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    if args.check:
        differ = sorted(
            name
            for name in wanted.keys() | present
            if name not in wanted
            or name not in present
            or (out_dir / name).read_text() != wanted[name]
        )
        for name in differ:
            print(f"differs from the generated dashboards: {out_dir / name}", file=sys.stderr)
        if differ:
            print("run: make dashboards", file=sys.stderr)
        return 1 if differ else 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(present - wanted.keys()):  # the folder holds generated dashboards only
        (out_dir / name).unlink()
        print(f"removed {out_dir / name}")
    for name, text in wanted.items():
        path = out_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")
    return 0
