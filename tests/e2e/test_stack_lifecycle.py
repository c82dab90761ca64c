"""`headwater stack up` twice, `status`, `env` and `down`, as a user runs them.

A second, private stack (own state folder and ports, the jars shared with the main one) so
this runs beside whatever stack the other tiers use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from control.stack.base import port_is_free
from headwater.settings import StackSettings
from tests.support.services import free_ports, headwater_with

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_stack() -> Iterator[dict[str, str]]:
    state = REPO / ".stack" / f"e2e-{uuid.uuid4().hex[:8]}"
    ports = iter(free_ports(6))
    environment = {
        "HEADWATER_STACK__STATE_DIR": str(state),
        "HEADWATER_STACK__LIB_DIR": str(StackSettings().jars_dir),
        "HEADWATER_STACK__KAFKA_PORT": str(next(ports)),
        "HEADWATER_STACK__KAFKA_CONTROLLER_PORT": str(next(ports)),
        "HEADWATER_STACK__KAFKA_TLS_PORT": str(next(ports)),
        "HEADWATER_STACK__CONNECT_PORT": str(next(ports)),
        "HEADWATER_STACK__POSTGRES_PORT": str(next(ports)),
        "HEADWATER_STACK__PROMETHEUS_PORT": str(next(ports)),
        "HEADWATER_STACK__KAFKA_HEAP": "512m",
        "HEADWATER_STACK__CONNECT_HEAP": "512m",
    }
    yield environment
    _headwater("stack", "down", env=environment)
    shutil.rmtree(state, ignore_errors=True)


def _headwater(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return headwater_with(*args, env=env, timeout=900)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_up_twice_status_env_and_down(private_stack: dict[str, str]) -> None:
    first = _headwater("stack", "up", env=private_stack)
    assert first.returncode == 0, first.stderr
    for part in ("postgres", "kafka", "connect", "prometheus"):
        assert part in first.stdout

    second = _headwater("stack", "up", env=private_stack)
    assert second.returncode == 0, second.stderr
    assert "stopping" not in second.stderr
    assert "restarting" not in second.stderr

    status = _headwater("stack", "status", env=private_stack)
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(" up ") == 4

    exported = _headwater("stack", "env", env=private_stack).stdout
    shell = subprocess.run(
        ["bash", "-c", f'{exported}\nprintf %s "$HEADWATER_WAREHOUSE__DSN"'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    with psycopg.connect(shell.stdout) as warehouse:
        assert warehouse.execute("SELECT current_database()").fetchone() == ("warehouse",)
    assert f"127.0.0.1:{private_stack['HEADWATER_STACK__KAFKA_PORT']}" in exported

    state = private_stack["HEADWATER_STACK__STATE_DIR"]
    assert _processes_mentioning(state)
    down = _headwater("stack", "down", env=private_stack)
    assert down.returncode == 0, down.stderr
    assert _processes_mentioning(state) == []
    ports = [int(v) for k, v in private_stack.items() if k.endswith("_PORT")]
    assert all(port_is_free("127.0.0.1", port) for port in ports)
    after = _headwater("stack", "status", env=private_stack)
    assert after.returncode == 3
    assert after.stdout.count(" down ") == 4


def test_half_started_stack_is_repaired(private_stack: dict[str, str]) -> None:
    assert _headwater("stack", "up", env=private_stack).returncode == 0
    state = Path(private_stack["HEADWATER_STACK__STATE_DIR"])
    connect_pid = int((state / "connect" / "connect.pid").read_text())
    os.kill(connect_pid, 9)  # a crashed component: the stack is now half up
    assert _headwater("stack", "status", env=private_stack).returncode == 3
    repaired = _headwater("stack", "up", env=private_stack)
    assert repaired.returncode == 0, repaired.stderr
    assert int((state / "connect" / "connect.pid").read_text()) != connect_pid
    assert _headwater("stack", "status", env=private_stack).returncode == 0
