"""Headwater's batch-shaped jobs as Airflow DAGs, each task one ``headwater`` command.

- ``headwater_deep_backfill`` (weekly): pulls again the days older than each ad source's
  lookback (which every poll re-pulls) back to ``deep_days``: restatements that arrive after
  the lookback (Google Ads conversions move for up to 90 days) reach the warehouse.
- ``headwater_reconcile`` (daily): ``headwater reconcile`` of the day before the run, per ad
  source; the task fails (exit 1) when the warehouse and the API disagree.
- ``headwater_replay`` (on demand): ``headwater replay`` of the processor or a sink over a
  window, with parameters; a dry run (the plan) first.

The tasks run on the worker with its environment: the ``HEADWATER_*`` settings must be there
(deploy/airflow/README.md). The Airflow Variable ``headwater_command`` replaces ``headwater``
(a virtualenv's path, or ``docker run --rm --env-file ... image``); it is read when a task
runs, so parsing this file touches no database. Written for Airflow 3 (``airflow.sdk``).
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

#: the command every task runs, from the Variable when set
HEADWATER = "{{ var.value.get('headwater_command', 'headwater') }}"
#: the ad sources: their settings' section and their pollers' default lookback in days
AD_SOURCES = {"facebook_ads": ("FACEBOOK", 28), "google_ads": ("GOOGLE_ADS", 30)}
#: what `headwater replay` replays: the processor, or one of the sinks
REPLAY_TARGETS = ["processor", "cdc", "ad-performance", "app-events", "kpis"]
#: a time `headwater replay` reads: ISO 8601, or an age such as 6h or 7d
TIME = r"^[0-9A-Za-z:+.\-]+$"
#: what the three DAGs share: no catching up on missed runs, one run at a time
EVERY_DAG: dict[str, Any] = {
    "start_date": datetime(2026, 1, 1, tzinfo=UTC),
    "catchup": False,
    "max_active_runs": 1,
    "tags": ["headwater"],
}
#: the run's date: when it was due (a manual run has no logical date; every run has run_after)
RUN_DATE = "dag_run.run_after | ds"
#: the day a reconciliation checks: days_ago (default 1: a day that is over) before the run
DAY_BEFORE = f"{{{{ macros.ds_add({RUN_DATE}, -params.days_ago) }}}}"


def _defaults(retries: int, retry_delay: timedelta, timeout: timedelta) -> dict[str, object]:
    return {
        "owner": "headwater",
        "retries": retries,
        "retry_delay": retry_delay,
        "execution_timeout": timeout,
    }


with DAG(
    dag_id="headwater_deep_backfill",
    description="Weekly: pull again the days older than each ad source's lookback",
    schedule="0 3 * * 0",
    **EVERY_DAG,
    default_args=_defaults(2, timedelta(minutes=30), timedelta(hours=6)),
    params={
        "deep_days": Param(
            90,
            type="integer",
            minimum=2,
            maximum=1100,
            description="the oldest day pulled, in days before the run",
        ),
        **{
            f"{source}_lookback_days": Param(
                days,
                type="integer",
                minimum=1,
                description=f"HEADWATER_{section}__LOOKBACK_DAYS of the pollers",
            )
            for source, (section, days) in AD_SOURCES.items()
        },
    },
) as deep_backfill:
    for source in AD_SOURCES:
        BashOperator(
            task_id=f"backfill_{source}",
            bash_command=(
                f"{HEADWATER} backfill {source}"
                f" --since {{{{ macros.ds_add({RUN_DATE}, -params.deep_days) }}}}"
                f" --until {{{{ macros.ds_add({RUN_DATE}, -params.{source}_lookback_days - 1) }}}}"
            ),
        )

with DAG(
    dag_id="headwater_reconcile",
    description="Daily: the warehouse's ad totals per account against the APIs' (fails on a "
    "difference)",
    schedule="0 6 * * *",
    **EVERY_DAG,
    # One retry: a difference seen while a poll was landing the day is gone half an hour later.
    default_args=_defaults(1, timedelta(minutes=30), timedelta(minutes=30)),
    params={
        "days_ago": Param(
            1,
            type="integer",
            minimum=0,
            description="the day reconciled, in days before the run's date",
        ),
    },
) as reconcile:
    for source in AD_SOURCES:
        BashOperator(
            task_id=f"reconcile_{source}",
            bash_command=f"{HEADWATER} reconcile --date {DAY_BEFORE} --source {source}",
        )

with DAG(
    dag_id="headwater_replay",
    description="On demand: replay the processor or a sink over a window (plan first)",
    schedule=None,
    **EVERY_DAG,
    default_args=_defaults(0, timedelta(minutes=5), timedelta(hours=6)),
    user_defined_filters={"sh": shlex.quote},
    params={
        "target": Param(
            "ad-performance",
            enum=REPLAY_TARGETS,
            description="the processor, or the sink whose table is landed again",
        ),
        "from": Param(
            "",
            type="string",
            pattern=TIME,
            description="read again from this time (ISO 8601, or 6h, 7d ago)",
        ),
        "until": Param(
            "",
            type="string",
            pattern=r"^$|" + TIME,
            description="stop before this time; empty: rewind the stopped service",
        ),
        "into_shadow": Param(
            False, type="boolean", description="sinks: land into <table>__replay (replay diff/swap)"
        ),
        "group_id": Param(
            "",
            type="string",
            pattern=r"^[A-Za-z0-9._-]*$",
            description="sinks: the consumer group (default headwater-sink-<name>)",
        ),
        "dry_run": Param(True, type="boolean", description="only print the plan"),
    },
) as replay:
    arguments = (
        "{% if params.target == 'processor' %}processor"
        "{% else %}sink {{ params.target | sh }}"
        "{% if params.into_shadow %} --into-shadow{% endif %}"
        "{% if params.group_id %} --group-id {{ params.group_id | sh }}{% endif %}"
        "{% endif %}"
        " --from {{ params['from'] | sh }}"
        "{% if params.until %} --until {{ params.until | sh }}{% endif %}"
    )
    plan = BashOperator(task_id="plan", bash_command=f"{HEADWATER} replay {arguments} --dry-run")
    # Exit 99 is Airflow's skip: a dry run stops after the plan.
    run = BashOperator(
        task_id="replay",
        bash_command="{% if params.dry_run %}exit 99{% else %}"
        f"{HEADWATER} replay {arguments}"
        "{% endif %}",
    )
    plan >> run
