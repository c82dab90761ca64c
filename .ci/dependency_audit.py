"""`make lint`'s dependency audit: pip-audit over the installed environment (.venv).

- A known vulnerability in an installed distribution fails, unless IGNORED lists its id
  with the reason it does not apply (reviewed, dated; remove it once the fix is installable).
- When the audit cannot be made (the advisory service unreachable, or the service knows
  none of the distributions), it fails with AUDIT_STRICT=1 (for a network that reaches
  PyPI's per-version JSON or OSV), and otherwise warns and passes, so `make lint` does not
  fail because a third-party service is away. This project's CI network reaches a PyPI
  mirror that serves no per-version advisories, so there it warns (SECURITY.md says so).

The advisories come from PyPI's JSON API (``--vulnerability-service pypi``, which holds the
PyPA advisory database, the same data OSV serves), the host `make install` needs anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Advisories reviewed and accepted: id -> why it does not apply to Headwater. Keep each
#: with a date and remove it when a fixed version can be installed.
IGNORED: dict[str, str] = {}

#: The advisory service (``AUDIT_SERVICE=osv`` asks OSV instead), and how long an audit may take.
SERVICE = os.environ.get("AUDIT_SERVICE", "pypi")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Verdict:
    """What an audit report says: vulnerabilities not ignored, and what was not audited."""

    vulnerable: list[str]
    audited: int
    skipped: list[str]


def verdict(report: dict[str, Any], ignored: dict[str, str]) -> Verdict:
    """Read pip-audit's JSON report (``--format json``)."""
    vulnerable, skipped, audited = [], [], 0
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped.append(dependency["skip_reason"])
            continue
        name = f"{dependency['name']} {dependency['version']}"
        audited += 1
        for vulnerability in dependency.get("vulns", []):
            ids = {vulnerability["id"], *vulnerability.get("aliases", [])}
            if ids & set(ignored):
                continue
            fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed version yet"
            vulnerable.append(f"{name}: {vulnerability['id']} (fixed in {fixed})")
    return Verdict(vulnerable, audited, skipped)


def run_audit() -> tuple[dict[str, Any] | None, str]:
    """pip-audit's report of this interpreter's environment, or None and why not."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "audit.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--local",
            "--skip-editable",  # Headwater itself, installed from this checkout
            "--vulnerability-service",
            SERVICE,
            "--format",
            "json",
            "--output",
            str(output),
            "--progress-spinner",
            "off",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None, f"pip-audit did not finish in {TIMEOUT_S} s"
        if not output.exists() or not output.read_text().strip():
            lines = (done.stderr or done.stdout).strip().splitlines()
            return None, lines[-1] if lines else f"pip-audit exited {done.returncode}"
        return json.loads(output.read_text()), ""


def main() -> int:
    strict = os.environ.get("AUDIT_STRICT") == "1"
    report, problem = run_audit()
    if report is not None:
        found = verdict(report, IGNORED)
        if found.vulnerable:
            print("dependency audit: known vulnerabilities:", *found.vulnerable, sep="\n  ")
            print("bump the range in pyproject.toml, or list the id in .ci/dependency_audit.py")
            return 1
        if found.audited:
            note = f", {len(found.skipped)} not audited" if found.skipped else ""
            print(f"dependency audit: {found.audited} distributions, no known vulnerability{note}")
            return 0
        problem = f"the {SERVICE} advisory service knows none of the distributions " + (
            f"({found.skipped[0]} ...)" if found.skipped else "(none installed?)"
        )
    print(f"dependency audit: could not be made: {problem}", file=sys.stderr)
    if strict:
        return 1
    print("dependency audit: skipped (AUDIT_STRICT=1 makes this fail)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
