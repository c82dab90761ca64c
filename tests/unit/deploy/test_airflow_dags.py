"""deploy/airflow/dags loads in Airflow's DagBag with the expected DAGs, schedules, tasks,
parameters and rendered ``headwater`` commands.

Airflow lives in a virtualenv of its own (``make airflow``: .venv-airflow, pinned in the
Makefile), since its dependencies are not the project's; tests/deploy/airflow_dagbag.py runs
there and answers in JSON.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest

from control.cli.main import cli

ROOT = Path(__file__).resolve().parents[3]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
HOSTILE = "1d; touch /tmp/pwned"
SCENARIOS = {
    "sink_window": {"dag": "headwater_replay", "params": {
        "from": "2026-11-27T10:00:00+00:00", "until": "6h", "dry_run": False}},
    "shadow": {"dag": "headwater_replay", "params": {
        "from": "7d", "into_shadow": True, "group_id": "headwater-sink-ads", "dry_run": False}},
    "processor": {"dag": "headwater_replay", "params": {
        "target": "processor", "from": "2h", "until": "1h", "into_shadow": True,
        "dry_run": False}},
    "hostile": {"dag": "headwater_replay", "params": {"from": HOSTILE, "dry_run": False}},
    "no_window": {"dag": "headwater_replay", "params": {}},
    "unknown_sink": {"dag": "headwater_replay", "params": {"from": "1d", "target": "orders"}},
    "deeper": {"dag": "headwater_deep_backfill", "params": {"deep_days": 400}},
    "older_day": {"dag": "headwater_reconcile", "params": {"days_ago": 35}},
}  # fmt: skip


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert AIRFLOW_PYTHON.exists(), f"{AIRFLOW_PYTHON} is missing: run `make airflow`"
    home = tmp_path_factory.mktemp("airflow")
    answer = home / "dagbag.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HEADWATER_"))}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), "tests/deploy/airflow_dagbag.py", "deploy/airflow/dags",
         str(answer), json.dumps(SCENARIOS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    loaded: dict[str, Any] = json.loads(answer.read_text())
    return loaded


def test_the_dags_load_without_import_errors(dagbag: dict[str, Any]) -> None:
    assert dagbag["import_errors"] == {}
    assert set(dagbag["dags"]) == {
        "headwater_deep_backfill",
        "headwater_reconcile",
        "headwater_replay",
    }


@pytest.mark.parametrize(
    ("dag_id", "schedule", "tasks"),
    [
        ("headwater_deep_backfill", "0 3 * * 0", {"backfill_facebook_ads", "backfill_google_ads"}),
        ("headwater_reconcile", "0 6 * * *", {"reconcile_facebook_ads", "reconcile_google_ads"}),
        ("headwater_replay", None, {"plan", "replay"}),
    ],
)
def test_each_dag_has_its_schedule_tasks_and_one_run_at_a_time(
    dagbag: dict[str, Any], dag_id: str, schedule: str | None, tasks: set[str]
) -> None:
    dag = dagbag["dags"][dag_id]
    assert dag["schedule"] == schedule
    assert set(dag["tasks"]) == tasks
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["start_date"] == "2026-01-01T00:00:00+00:00"
    assert {task["operator"] for task in dag["tasks"].values()} == {"BashOperator"}


def test_the_scheduled_jobs_retry_and_the_replay_does_not(dagbag: dict[str, Any]) -> None:
    retries = {
        dag_id: {task["retries"] for task in dag["tasks"].values()}
        for dag_id, dag in dagbag["dags"].items()
    }
    assert retries == {
        "headwater_deep_backfill": {2},
        "headwater_reconcile": {1},
        "headwater_replay": {0},
    }


def test_the_deep_backfill_pulls_the_days_older_than_each_lookback(
    dagbag: dict[str, Any],
) -> None:
    dag = dagbag["dags"]["headwater_deep_backfill"]
    defaults = {name: param["default"] for name, param in dag["params"].items()}
    assert defaults == {
        "deep_days": 90,
        "facebook_ads_lookback_days": 28,
        "google_ads_lookback_days": 30,
    }
    commands = {task_id: task["command"] for task_id, task in dag["tasks"].items()}
    # Run on 2026-11-28: the lookbacks re-pull from 2026-10-31 (28 days) and 2026-10-29 (30).
    assert commands == {
        "backfill_facebook_ads": "headwater backfill facebook_ads "
        "--since 2026-08-30 --until 2026-10-30",
        "backfill_google_ads": "headwater backfill google_ads "
        "--since 2026-08-30 --until 2026-10-28",
    }
    assert dagbag["scenarios"]["deeper"]["backfill_google_ads"] == (
        "headwater backfill google_ads --since 2025-10-24 --until 2026-10-28"
    )


def test_the_daily_reconciliation_checks_the_day_before_each_source(
    dagbag: dict[str, Any],
) -> None:
    tasks = dagbag["dags"]["headwater_reconcile"]["tasks"]
    assert {task_id: task["command"] for task_id, task in tasks.items()} == {
        "reconcile_facebook_ads": "headwater reconcile --date 2026-11-27 --source facebook_ads",
        "reconcile_google_ads": "headwater reconcile --date 2026-11-27 --source google_ads",
    }
    assert dagbag["scenarios"]["older_day"]["reconcile_google_ads"] == (
        "headwater reconcile --date 2026-10-24 --source google_ads"
    )


def test_the_replay_takes_its_window_from_params_and_plans_first(
    dagbag: dict[str, Any],
) -> None:
    dag = dagbag["dags"]["headwater_replay"]
    params = dag["params"]
    assert params["target"]["schema"]["enum"] == [
        "processor", "cdc", "ad-performance", "app-events", "kpis"
    ]  # fmt: skip
    assert params["dry_run"]["default"] is True
    assert {"from", "until", "into_shadow", "group_id"} <= set(params)
    assert dag["tasks"]["replay"]["upstream"] == ["plan"]
    assert dag["tasks"]["replay"]["command"] == "exit 99"  # a dry run: skipped after the plan
    scenarios = dagbag["scenarios"]
    assert scenarios["sink_window"] == {
        "plan": "headwater replay sink ad-performance --from 2026-11-27T10:00:00+00:00 "
        "--until 6h --dry-run",
        "replay": "headwater replay sink ad-performance --from 2026-11-27T10:00:00+00:00 "
        "--until 6h",
    }
    assert scenarios["shadow"]["replay"] == (
        "headwater replay sink ad-performance --into-shadow --group-id headwater-sink-ads --from 7d"
    )
    assert scenarios["processor"]["replay"] == "headwater replay processor --from 2h --until 1h"


def test_a_parameter_reaches_the_shell_as_one_quoted_word(dagbag: dict[str, Any]) -> None:
    assert dagbag["scenarios"]["hostile"]["replay"] == (
        f"headwater replay sink ad-performance --from '{HOSTILE}'"
    )


def test_a_trigger_without_a_start_or_with_a_word_not_a_time_or_sink_is_refused(
    dagbag: dict[str, Any],
) -> None:
    refusals = dagbag["refusals"]
    assert refusals["no_window"] is not None
    assert refusals["no_window"].startswith("Invalid input for param from: '' does not match")
    assert refusals["hostile"] is not None
    assert refusals["hostile"].startswith(f"Invalid input for param from: '{HOSTILE}'")
    assert refusals["unknown_sink"] is not None
    assert "'orders' is not one of" in refusals["unknown_sink"]
    assert refusals["sink_window"] is None
    assert refusals["processor"] is None


def _parse(command: str) -> None:
    """Parse a task's command with the real ``headwater`` CLI, as far as running it: an
    unknown command, option or choice raises click's usage error."""
    words = shlex.split(command)
    assert words[0] == "headwater", command
    found: click.Command = cli
    name, rest = "headwater", words[1:]
    while isinstance(found, click.Group):
        name, rest = rest[0], rest[1:]
        sub = found.get_command(click.Context(found), name)
        assert sub is not None, f"{command}: no command {name!r}"
        found = sub
    found.make_context(name, rest)


def test_every_rendered_command_is_one_the_headwater_cli_accepts(dagbag: dict[str, Any]) -> None:
    commands = [task["command"] for dag in dagbag["dags"].values()
                for task in dag["tasks"].values()]  # fmt: skip
    commands += [
        command
        for name, tasks in dagbag["scenarios"].items()
        if dagbag["refusals"][name] is None
        for command in tasks.values()
    ]
    runs = [command for command in commands if command != "exit 99"]
    assert len(runs) >= 12
    for command in runs:
        _parse(command)
