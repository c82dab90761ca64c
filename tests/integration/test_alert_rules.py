"""The Prometheus alert rules: promtool checks them and runs their unit tests, Prometheus
loads them, and every alert has its labels, annotations, runbook section and test cases."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.settings import load_settings
from headwater.stack.prometheus import PROMETHEUS_BIN
from headwater.stack.toolchain import ensure_debian_package
from tests.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yml"))
RUNBOOKS = REPO / "docs" / "runbooks.md"
RUNBOOK_URL = "https://github.com/headwater/headwater/blob/main/docs/runbooks.md#"

#: Alerts other code waits for (the e2e tests), with the `for` they rely on.
PINNED = {"HeadwaterSourceStale": 60, "HeadwaterConnectorNotRunning": 60}


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="module")
def alerts(promtool: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """Every alerting rule as Prometheus loads it (its rules API, from a private server).

    Prometheus is the YAML reader here: the rules are exactly what it will evaluate.
    """
    home = tmp_path_factory.mktemp("prometheus")
    config = home / "prometheus.yml"
    config.write_text(  # JSON is YAML
        json.dumps(
            {
                "global": {"evaluation_interval": "5s"},
                "rule_files": [str(path) for path in RULE_FILES],
            }
        )
    )
    address = f"127.0.0.1:{_free_port()}"
    with (home / "prometheus.log").open("w") as log:
        server = subprocess.Popen(
            [
                str(PROMETHEUS_BIN),
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address={address}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: _ready(f"http://{address}/-/ready"),
            timeout_s=60,
            what="the private Prometheus to be ready",
            on_timeout=lambda: (home / "prometheus.log").read_text()[-3000:],
        )
        groups = _get_json(f"http://{address}/api/v1/rules?type=alert")["data"]["groups"]
        yield [rule for group in groups for rule in group["rules"] if rule["type"] == "alerting"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_alert_is_labelled_annotated_and_has_a_runbook(alerts: list[Any]) -> None:
    assert alerts, "Prometheus loaded no alerting rules"
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    anchors = {_anchor(heading) for heading in headings}
    problems = []
    for rule in alerts:
        name, labels, notes = rule["name"], rule.get("labels", {}), rule.get("annotations", {})
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
    loaded = {rule["name"]: rule["duration"] for rule in alerts}
    assert {name: loaded.get(name) for name in PINNED} == PINNED


def _cases(text: str) -> Iterator[tuple[str, bool]]:
    """(alertname, fires) for each alert_rule_test case of a promtool test file.

    A case runs from one ``- eval_time:`` to the next; it fires when its ``exp_alerts`` is
    neither ``[]`` nor left out.
    """
    for case in re.split(r"^\s*- eval_time:", text, flags=re.MULTILINE)[1:]:
        name = re.search(r"^\s*alertname:\s*(\S+)", case, flags=re.MULTILINE)
        if name is None:
            continue
        expected = re.search(r"^\s*exp_alerts:[ \t]*(\S*)", case, flags=re.MULTILINE)
        yield name.group(1), expected is not None and expected.group(1) != "[]"


def test_every_alert_has_a_firing_and_a_quiet_unit_test(alerts: list[Any]) -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for name, fires in _cases(path.read_text()):
            (firing if fires else quiet).add(name)
    names = {rule["name"] for rule in alerts}
    assert sorted(names - firing) == [], "alerts without a test case where they fire"
    assert sorted(names - quiet) == [], "alerts without a test case where they stay quiet"
