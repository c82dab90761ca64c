"""docs/deployment.md's table of services matches the topology: every service, its default
port, and a command the CLI knows."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from control.cli.main import cli
from headwater.topology import API_SOURCES, BASE_PORT, CDC_MONITOR, PROCESSOR, SINKS, port_offsets

DOC = Path(__file__).resolve().parents[3] / "docs" / "deployment.md"


def _table() -> dict[str, tuple[str, int]]:
    """service -> (command, port) from the marked table."""
    block = DOC.read_text().split("<!-- services-table:", 1)[1].split("<!-- /services-table", 1)[0]
    rows: dict[str, tuple[str, int]] = {}
    for line in block.splitlines()[1:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3:
            rows[cells[0]] = (cells[1].strip("`"), int(cells[2]))
    return rows


def test_every_service_is_listed_with_its_default_port_and_command() -> None:
    expected = {PROCESSOR: "headwater process", CDC_MONITOR: "headwater connectors monitor"}
    expected |= {entry.service: f"headwater sink {entry.name}" for entry in SINKS}
    expected |= {source.service: f"headwater poll {source.name}" for source in API_SOURCES}
    table = _table()
    assert set(table) == set(port_offsets()) == set(expected)
    for service, (command, port) in table.items():
        assert command == expected[service], service
        assert port == BASE_PORT + port_offsets()[service], service


def test_every_listed_command_is_one_the_cli_knows() -> None:
    runner = CliRunner()
    for command, _ in _table().values():
        args = shlex.split(command)[1:]
        done = runner.invoke(cli, [*args, "--help"])
        assert done.exit_code == 0, (command, done.output)
        assert "Usage: " in done.output
