"""docs/cdc.md's "Running it" block, executed as written by bash.

The commands run one after the other as a newcomer pastes them, the two services in the
background with no port given (each takes its own default port: they used to collide on
9400), in a working folder whose ``.venv`` (``activate``, ``headwater``) runs this
checkout. The environment only renames what the run creates (schema, connector, slot, role,
processor app id, the sink's topics) so it touches nothing else on the stack, and says where
the stack is; what a reader brings (each ``export NAME=...``) the walkthrough itself sets,
with the test's values filled in: the environment holds no password or key of its own.
Afterwards both services answer on their default ports and both mirrors equal their source
tables.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from headwater.settings import Settings
from headwater.topology import PROCESSOR, port_offsets
from tests.conftest import wait_for
from tests.support.cdc import TABLES, Pipeline, cdc_pipeline
from tests.support.compare import source_in_warehouse

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cdc.md"


#: ``export NAME=...``: a value the reader brings
_PLACEHOLDER = re.compile(r"^export (HEADWATER_\w+)=\.\.\.(?=\s|$)")
#: what the walkthrough asks the reader for, so the run's environment must not hold it
_BROUGHT = ("HEADWATER_CDC__PASSWORD", "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY")


def walkthrough() -> list[str]:
    """The lines of the first ``sh`` block under "Running it"."""
    section = DOC.read_text().split("## Running it", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _filled_in(commands: list[str], values: dict[str, str]) -> list[str]:
    """The commands with the test's value in place of each ``export NAME=...``."""
    filled = []
    for command in commands:
        placeholder = _PLACEHOLDER.match(command)
        if placeholder:
            name = placeholder.group(1)
            assert name in values, f"the walkthrough asks for {name}: give the test a value"
            command = _PLACEHOLDER.sub(f"export {name}={values[name]}", command)
        filled.append(command)
    return filled


def _checkout(folder: Path) -> Path:
    """A working folder whose ``.venv`` runs this checkout's ``headwater``."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    command = bin_dir / "headwater"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m control.cli.main "$@"\n')
    command.chmod(0o755)
    (bin_dir / "activate").write_text(f'PATH="{bin_dir}:$PATH"\nexport PATH\n')
    return folder


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@pytest.fixture
def line(settings: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    with cdc_pipeline(settings, tmp_path, customers=0, orders=0) as pipeline:
        with psycopg.connect(pipeline.source_dsn, autocommit=True) as source:
            # the walkthrough's `sandbox schema` seeds the tables: start from none
            for table in reversed(TABLES):
                source.execute(f'DROP TABLE IF EXISTS "{pipeline.schema}"."{table}" CASCADE')
        yield pipeline
        with psycopg.connect(pipeline.warehouse_dsn, autocommit=True) as warehouse:
            warehouse.execute(
                "DELETE FROM headwater.sink_offsets WHERE topic LIKE %s",
                (f"norm.cdc.{pipeline.schema}.%",),
            )


def test_the_cdc_walkthrough_runs_as_written(
    line: Pipeline, settings: Settings, tmp_path: Path
) -> None:
    commands = _filled_in(walkthrough(), {name: line.env[name] for name in _BROUGHT})
    assert commands[0].startswith(". .venv/bin/activate")
    background = [c.split("#")[0].strip() for c in commands if "&" in c.split("#")[0]]
    assert background == ["headwater process &", "headwater sink cdc &"]
    env = {k: v for k, v in line.env.items() if k not in {"HEADWATER_HTTP__PORT", *_BROUGHT}}
    # where the stack is, for the walkthrough's `stack env`
    env |= {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_STACK__")}
    env["HEADWATER_STACK__STATE_DIR"] = str(settings.stack.state_dir.resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["HEADWATER_LOG__FORMAT"] = "text"
    script = tmp_path / "walkthrough.sh"
    # as written, then the shell waits for its two services (stopped by the test)
    script.write_text("set -euo pipefail\n" + "\n".join(commands) + "\nwait\n")
    output = tmp_path / "walkthrough.log"
    with output.open("w") as log:
        run = subprocess.Popen(
            ["bash", str(script)],
            cwd=_checkout(tmp_path / "checkout"),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ports = [9400 + port_offsets()[service] for service in (PROCESSOR, "sink-cdc")]
    assert ports == [9400, 9401]

    def said() -> str:
        return output.read_text()[-4000:]

    try:
        wait_for(
            lambda: all(_healthy(port) for port in ports) or run.poll() is not None,
            timeout_s=240,
            what=f"both services healthy on their default ports:\n{said()}",
        )
        assert run.poll() is None, said()
        wait_for(
            lambda: "workload: " in output.read_text() or run.poll() is not None,
            timeout_s=240,
            interval_s=2,
            what="the workload to finish",
        )
        assert run.poll() is None, said()  # the services are still up
        assert all(_healthy(port) for port in ports), said()
        with source_in_warehouse(
            line.warehouse_dsn, line.source_dsn, line.schema, TABLES
        ) as foreign:
            wait_for(
                lambda: line.mirrors_equal(foreign),
                timeout_s=300,
                interval_s=3,
                what=f"both mirrors equal their source tables:\n{said()}",
            )
        summary = re.search(r"workload: \d+ transactions, (\d+) row changes", output.read_text())
        assert summary is not None
        assert int(summary.group(1)) > 0  # the mirrors followed the workload's changes
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)
