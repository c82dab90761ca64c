"""The Prometheus alert rules: promtool checks them and runs their unit tests, and every
alert has its labels, annotations, runbook section and test cases."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from control.stack.prometheus import PROMETHEUS_BIN
from control.stack.toolchain import ensure_debian_package
from headwater.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yml"))
RUNBOOKS = REPO / "docs" / "runbooks.md"
RUNBOOK_URL = "https://github.com/headwater/headwater/blob/main/docs/runbooks.md#"

#: Alerts other code waits for (the e2e tests), with the `for` they rely on.
PINNED = {"HeadwaterSourceStale": "1m", "HeadwaterConnectorNotRunning": "1m"}


@pytest.fixture(scope="module")
def promtool() -> Path:
    """promtool, from Debian's prometheus package (installed like the stack's Prometheus)."""
    found = shutil.which("promtool")
    if found:
        return Path(found)
    probe = PROMETHEUS_BIN.with_name("promtool")
    ensure_debian_package("prometheus", probe, load_settings().stack.install_packages)
    return probe


def _run(*argv: str | Path) -> None:
    done = subprocess.run([str(arg) for arg in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}\n{done.stdout}{done.stderr}"


def test_rules_are_valid(promtool: Path) -> None:
    assert RULE_FILES, "no rule files in deploy/prometheus/rules"
    _run(promtool, "check", "rules", *RULE_FILES)


def test_rule_unit_tests_pass(promtool: Path) -> None:
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests"
    _run(promtool, "test", "rules", *RULE_TESTS)


@pytest.fixture(scope="module")
def alerts() -> list[dict[str, Any]]:
    """Every alerting rule of the rule files (the e2e test shows Prometheus loads them)."""
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_alert_is_labelled_annotated_and_has_a_runbook(alerts: list[Any]) -> None:
    assert alerts, "no alerting rules"
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    anchors = {_anchor(heading) for heading in headings}
    problems = []
    for rule in alerts:
        name, labels, notes = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        if labels.get("severity") not in {"warning", "critical"}:
            problems.append(f"{name}: severity is {labels.get('severity')!r}")
        for key in ("summary", "description"):
            if not notes.get(key, "").strip():
                problems.append(f"{name}: no {key}")
        if "{{" not in notes.get("description", ""):
            problems.append(f"{name}: the description uses no template ($labels, $value)")
        url = notes.get("runbook_url", "")
        if not url.startswith(RUNBOOK_URL):
            problems.append(f"{name}: runbook_url {url!r} is not under {RUNBOOK_URL}")
        elif url.removeprefix(RUNBOOK_URL) != name.lower():
            problems.append(f"{name}: runbook_url points at #{url.removeprefix(RUNBOOK_URL)}")
        if name.lower() not in anchors:
            problems.append(f"{name}: no '{name}' heading in docs/runbooks.md")
    assert not problems, "\n".join(problems)


def test_pinned_alerts_keep_their_names_and_for(alerts: list[Any]) -> None:
    loaded = {rule["alert"]: rule.get("for") for rule in alerts}
    assert {name: loaded.get(name) for name in PINNED} == PINNED


def _cases(path: Path) -> Iterator[tuple[str, bool]]:
    """(alertname, fires) for each alert_rule_test case of a promtool test file; a case
    fires when its ``exp_alerts`` is not empty."""
    for test in yaml.safe_load(path.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            yield case["alertname"], bool(case.get("exp_alerts"))


def test_every_alert_has_a_firing_and_a_quiet_unit_test(alerts: list[Any]) -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for name, fires in _cases(path):
            (firing if fires else quiet).add(name)
    names = {rule["alert"] for rule in alerts}
    assert sorted(names - firing) == [], "alerts without a test case where they fire"
    assert sorted(names - quiet) == [], "alerts without a test case where they stay quiet"
