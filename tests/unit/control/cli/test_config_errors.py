"""Bad configuration gets one line that names the setting, never a traceback."""

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import headwater_with


def _headwater(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return headwater_with(*args, env=env, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess[str], setting: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("headwater:")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"headwater: {setting}:")
    return lines[0]


def test_unknown_setting(tmp_path: Path) -> None:
    done = _headwater("stack", "status", env={"HEADWATER_STACK__KAFKA_PROT": "1"})
    line = _one_line_error(done, "HEADWATER_STACK__KAFKA_PROT")
    assert "did you mean HEADWATER_STACK__KAFKA_PORT" in line


def test_malformed_bootstrap_address() -> None:
    done = _headwater("settings", env={"HEADWATER_KAFKA__BOOTSTRAP_SERVERS": "kafka:ninety"})
    _one_line_error(done, "HEADWATER_KAFKA__BOOTSTRAP_SERVERS")


def _free_ports() -> dict[str, str]:
    """Unused ports for every stack component, so a running stack does not interfere."""
    names = ["KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "KAFKA_TLS_PORT", "CONNECT_PORT"]
    names += ["POSTGRES_PORT", "PROMETHEUS_PORT"]
    sockets = [socket.socket() for _ in names]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return {
            f"HEADWATER_STACK__{name}": str(probe.getsockname()[1])
            for name, probe in zip(names, sockets, strict=True)
        }
    finally:
        for probe in sockets:
            probe.close()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_port_in_use(tmp_path: Path, busy_port: int) -> None:
    env = _free_ports() | {
        "HEADWATER_STACK__STATE_DIR": str(tmp_path / "state"),
        "HEADWATER_STACK__KAFKA_PORT": str(busy_port),
    }
    line = _one_line_error(_headwater("stack", "up", env=env), "HEADWATER_STACK__KAFKA_PORT")
    assert f"127.0.0.1:{busy_port} is in use" in line
    assert not (tmp_path / "state").exists()  # nothing was started or written


def test_broken_java(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'Error: could not find libjava.so' >&2\nexit 1\n")
    java.chmod(0o755)
    env = {"HEADWATER_STACK__STATE_DIR": str(tmp_path / "s"), "HEADWATER_STACK__JAVA": str(java)}
    line = _one_line_error(_headwater("stack", "up", env=env), "HEADWATER_STACK__JAVA")
    assert "could not find libjava.so" in line


def test_missing_java(tmp_path: Path) -> None:
    env = {"HEADWATER_STACK__STATE_DIR": str(tmp_path), "HEADWATER_STACK__JAVA": "no-such-java"}
    line = _one_line_error(_headwater("stack", "up", env=env), "HEADWATER_STACK__JAVA")
    assert "openjdk-17" in line


def test_missing_maven(tmp_path: Path) -> None:
    env = _free_ports() | {
        "HEADWATER_STACK__STATE_DIR": str(tmp_path / "s"),
        "HEADWATER_STACK__MAVEN": "no-such-mvn",
    }
    line = _one_line_error(_headwater("stack", "up", env=env), "HEADWATER_STACK__MAVEN")
    assert "apt-get install maven" in line


def test_a_short_pseudonymisation_key_is_refused_at_start() -> None:
    done = _headwater(
        "forget", "--identity", "301", env={"HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": "short"}
    )
    line = _one_line_error(done, "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY")
    assert "shorter than 32 bytes" in line
    assert "short" not in line.replace("shorter", "")  # the key itself is not printed


def test_forget_without_a_key_says_which_setting() -> None:
    done = _headwater("forget", "--email", "a@example.com", env={})
    _one_line_error(done, "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY")


def test_forget_takes_exactly_one_of_email_and_identity() -> None:
    for args in ([], ["--email", "a@example.com", "--identity", "301"]):
        done = _headwater(
            "forget", *args, env={"HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": "k" * 32}
        )
        assert done.returncode == 2, done.stderr
        assert "exactly one of --email and --identity" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HEADWATER_CLEVERTAP__TIMEZONE", "Mars/Base"),
        ("HEADWATER_KPIS__RATES", '{"USD": "ninety-two cents"}'),
        ("HEADWATER_CDC__TABLES", '[["public.orders"]]'),
        ("HEADWATER_FACEBOOK__AD_ACCOUNT_IDS", '["act_1"'),
        ("HEADWATER_PG_PASSWORD", "secret"),
    ],
)
def test_a_bad_value_stops_every_command_with_one_line(variable: str, value: str) -> None:
    """Refused when the settings load: `headwater settings` already, so the processor never
    starts with it (and never crashes on it later)."""
    for command in (["settings"], ["process"]):
        line = _one_line_error(_headwater(*command, env={variable: value}), variable)
        assert "secret" not in line


def test_a_comma_separated_list_is_taken() -> None:
    done = _headwater("settings", env={"HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": "act_123,act_456"})
    assert done.returncode == 0, done.stderr
    assert '"act_123",\n      "act_456"' in done.stdout


def test_stack_env_without_a_stack_says_so_and_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "no-stack"
    done = _headwater(
        "stack", "env", env=_free_ports() | {"HEADWATER_STACK__STATE_DIR": str(state)}
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # nothing for eval to export
    assert f"headwater: no running stack in {state}" in done.stderr
    assert "`headwater stack up`" in done.stderr
    assert not state.exists()  # no state folder, no password made for a stack never started
