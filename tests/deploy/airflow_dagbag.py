"""Load deploy/airflow/dags with Airflow's DagBag and write what it found as JSON (to argv[2]).

Runs in the Airflow virtualenv (``make airflow``), not the project's: Airflow's dependencies
are its own. tests/unit/deploy/test_airflow_dags.py runs it and checks the answer. Each
task's command is also rendered for a run due at 2026-11-28 06:00 UTC, with no logical date
(as a manual run in Airflow 3) and no Variables set: with the DAG's default parameters, and
for each scenario of argv[3] (``{name: {"dag": id, "params": {...}}}``) with those
parameters updated, with whether Airflow would accept them.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import macros
from airflow.sdk.definitions.param import ParamValidationError

RUN_AT = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


class _NoVariables:
    """``var.value``: every Variable unset, so each template's default applies."""

    def get(self, _name: str, default: Any = None) -> Any:
        return default


def _rendered(dag: Any, task: Any, overrides: dict[str, Any]) -> str:
    params = {name: dag.params.get_param(name).value for name in dag.params} | overrides
    context = {
        "params": params,
        "dag_run": SimpleNamespace(run_after=RUN_AT),
        "macros": macros,
        "var": {"value": _NoVariables()},
    }
    return str(task.render_template(task.bash_command, context, dag.get_template_env()))


def _refusal(dag: Any, overrides: dict[str, Any]) -> str | None:
    """Why Airflow refuses to trigger the DAG with these parameters (None: it accepts)."""
    params = copy.deepcopy(dag.params)
    try:
        params.update(overrides)
        params.validate()
    except ParamValidationError as error:
        return str(error).splitlines()[0]
    return None


def main(folder: str, answer: str, scenarios: dict[str, dict[str, Any]]) -> None:
    bag = DagBag(dag_folder=folder)
    found = {
        dag_id: {
            "schedule": dag.schedule,
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "params": {
                name: {"default": param.value, "schema": param.schema}
                for name in dag.params
                for param in [dag.params.get_param(name)]
            },
            "tasks": {
                task.task_id: {
                    "operator": type(task).__name__,
                    "retries": task.retries,
                    "upstream": sorted(task.upstream_task_ids),
                    "command": _rendered(dag, task, {}),
                }
                for task in dag.tasks
            },
        }
        for dag_id, dag in bag.dags.items()
    }
    rendered = {
        name: {
            task.task_id: _rendered(dag, task, scenario["params"])
            for dag in [bag.dags[scenario["dag"]]]
            for task in dag.tasks
        }
        for name, scenario in scenarios.items()
    }
    refusals = {
        name: _refusal(bag.dags[scenario["dag"]], scenario["params"])
        for name, scenario in scenarios.items()
    }
    errors = {path: str(error) for path, error in bag.import_errors.items()}
    with open(answer, "w", encoding="utf-8") as out:  # Airflow logs to stdout
        json.dump(
            {"import_errors": errors, "dags": found, "scenarios": rendered, "refusals": refusals},
            out,
            default=str,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
