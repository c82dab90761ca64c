"""`make help` lists every target the Makefile declares."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    phony = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE)
    assert phony is not None
    return set(phony.group(1).split())


def test_make_help_lists_every_declared_target() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    listed = {line.split("\t", 1)[0] for line in done.stdout.splitlines() if "\t" in line}
    declared = _declared_targets()
    assert "test-e2e" in declared
    assert declared <= listed, f"missing from make help: {sorted(declared - listed)}"
