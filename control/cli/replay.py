"""``headwater replay``: read history again after a fix, into the live tables or a shadow."""

from __future__ import annotations

import sys

import click

from control.cli.context import pass_settings
from control.dlq import parse_time
from control.pipeline import DEFAULT_GROUP_PREFIX, sink_group
from control.replay.plan import PartitionPlan
from headwater.settings import Settings
from headwater.topology import SINKS

_FROM = click.option(
    "--from", "since", required=True, help="Read again from this time: ISO 8601, or 6h, 7d ago."
)
_UNTIL = click.option(
    "--until",
    help="Stop before the first record at or after this time (ISO 8601, or 1h ago): the "
    "window is then replayed once by this command, the service's position untouched.",
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
_SINK = click.argument("name", type=click.Choice([entry.name for entry in SINKS]))
_GROUP = click.option(
    "--group-id", help="The sink's consumer group (default headwater-sink-<name>)."
)


def _show(group: str, plans: list[PartitionPlan], bounded: bool, what: str) -> None:
    for plan in plans:
        now = "nothing committed" if plan.committed is None else f"now at {plan.committed}"
        later = f", {plan.later:,} after it" if bounded else ""
        click.echo(
            f"  {plan.topic}[{plan.partition}]: from {plan.start} ({now}) to {plan.end}: "
            f"{plan.records:,} records{later}"
        )
    total = f"{sum(p.records for p in plans):,} records"
    after = sum(p.later for p in plans)
    tail = f" (then {after:,} later ones, for the keys they touch)" if bounded and after else ""
    click.echo(f"{group}: {total} {what}{tail}")


@click.group()
def replay() -> None:
    """Read history again after a fix: the processor, or one sink, into its table or a shadow."""


@replay.command()
@_FROM
@_UNTIL
@_DRY_RUN
@pass_settings
def processor(settings: Settings, since: str, until: str | None, dry_run: bool) -> None:
    """Normalize the CDC and API topics again from a time (stop `headwater process` first).

    Without --until the processor's group is rewound: its next start normalizes everything
    since. With --until the window is normalized here, once, and the group stays where it
    is. Either way the outputs flow on as usual: the sinks and the KPI stage take them in,
    and rows of the same source record normalized anew replace the old ones."""
    from control.replay.plan import rewind_kafka
    from control.replay.processor import normalize_window, plan_processor

    group = settings.processor.app_id
    end = parse_time(until) if until else None
    plans = plan_processor(settings, parse_time(since), end)
    _show(group, plans, end is not None, "to normalize again")
    if dry_run:
        return
    if end is None:
        rewind_kafka(settings.kafka, group, plans)
        click.echo(f"{group} rewound: start `headwater process` to replay")
        return
    done = normalize_window(settings, plans)
    click.echo(
        f"normalized {done.records:,} records again: {done.outputs:,} outputs, "
        f"{done.rejected:,} rejected (to dlq.normalize), {done.filtered:,} without output; "
        f"{done.later_read:,} later records read, {done.later_outputs:,} outputs of the same "
        f"keys produced again ({done.later_refused:,} refused, left as they were)"
    )


@replay.command(name="sink")
@_SINK
@_FROM
@_UNTIL
@click.option(
    "--into-shadow",
    is_flag=True,
    help="Land into <table>__replay, a fresh copy of the live table, for `replay diff` and "
    "`replay swap`; the live table and the sink's position stay as they are.",
)
@_GROUP
@_DRY_RUN
@pass_settings
def replay_sink(
    settings: Settings,
    name: str,
    since: str,
    until: str | None,
    into_shadow: bool,
    group_id: str | None,
    dry_run: bool,
) -> None:
    """Land a sink's topics again from a time.

    Without --until or --into-shadow the stopped sink is rewound (stop `headwater sink
    <name>` first). With --until the window is landed here, once, into the live table (the
    sink stopped too). With --into-shadow it lands into the shadow, the sink running or not.
    """
    from control.replay.sink import SinkReplay

    group = group_id or sink_group(DEFAULT_GROUP_PREFIX, name)
    sink = SinkReplay.of(settings, name, group)
    end = parse_time(until) if until else None
    plans = sink.plan(parse_time(since), end, into_shadow)
    bounded = into_shadow or end is not None
    if into_shadow:
        live = sink.table
        target = f"to land in {live.schema}.{live.table}__replay, a copy of {live.table}"
    else:
        target = "to land again" if bounded else "to read again"
    _show(group, plans, bounded, target)
    if dry_run:
        return
    if not bounded:
        sink.rewind(plans)
        click.echo(f"{group} rewound: start `headwater sink {name}` to replay")
        return
    done = sink.land_in_shadow(plans) if into_shadow else sink.land(plans)
    written = done.written
    click.echo(
        f"landed {done.records:,} records: {written.rows_written:,} rows written, "
        f"{written.skipped_by_version:,} unchanged or older, {written.filtered:,} without a "
        f"row, {len(written.rejects):,} refused; {done.later_read:,} later records read, "
        f"{done.later_landed:,} of the same keys landed again"
    )
    for reject in written.rejects[:5]:
        record = reject.record
        click.echo(f"  refused {record.topic}[{record.partition}]@{record.offset}: {reject.reason}")
    if into_shadow:
        click.echo(f"compare: headwater replay diff {name}; then: headwater replay swap {name}")


@replay.command(name="diff")
@_SINK
@click.option("--sample", default=5, show_default=True, help="Rows shown of each kind.")
@pass_settings
def replay_diff(settings: Settings, name: str, sample: int) -> None:
    """Compare a sink's shadow with its live table: exit 0 when they hold the same rows,
    1 when they differ."""
    from control.replay.diff import diff
    from control.replay.sink import sink_table
    from headwater.postgres import connect

    live = sink_table(settings, name)
    assert settings.warehouse.dsn is not None  # sink_table refuses without one
    with connect(settings.warehouse.dsn.get_secret_value(), settings.warehouse) as connection:
        result = diff(connection, live, sample)
    click.echo(
        f"{live.schema}.{live.table}__replay against {live.table}, by ({', '.join(live.key)}):"
    )
    columns = ", ".join(f"{c} {n:,}" for c, n in result.changed_columns.items())
    for label, count, extra in (
        ("live rows", result.live_rows, ""),
        ("shadow rows", result.shadow_rows, ""),
        ("only in live", result.only_live, ""),
        ("only in shadow", result.only_shadow, ""),
        ("changed", result.changed, f" ({columns})" if columns else ""),
        ("unchanged", result.unchanged, ""),
    ):
        click.echo(f"  {label:<15}{count:>10,}{extra}")
    for label, keys, count in (
        ("only in live", result.sample_only_live, result.only_live),
        ("only in shadow", result.sample_only_shadow, result.only_shadow),
    ):
        if keys:
            click.echo(f"{label} (first {len(keys)} of {count:,}):")
            for key in keys:
                click.echo(f"  {_key(key)}")
    if result.sample_changed:
        click.echo(f"changed (first {len(result.sample_changed)} of {result.changed:,}):")
        for row in result.sample_changed:
            changes = "; ".join(f"{c} {old} -> {new}" for c, (old, new) in row.columns.items())
            click.echo(f"  {_key(row.key)}: {changes}")
    click.echo("identical" if result.identical else "they differ")
    if not result.identical:
        sys.exit(1)


def _key(values: tuple[object, ...]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


@replay.command(name="swap")
@_SINK
@_GROUP
@pass_settings
def replay_swap(settings: Settings, name: str, group_id: str | None) -> None:
    """Make the shadow the live table, atomically (stop `headwater sink <name>` first).

    The live table becomes <table>__previous (an older one is dropped), and the sink's
    offsets move to where the shadow stands: started again, it lands what the old table
    received after the shadow was copied."""
    from control.replay.sink import SinkReplay

    group = group_id or sink_group(DEFAULT_GROUP_PREFIX, name)
    sink = SinkReplay.of(settings, name, group)
    live = sink.table
    position = sink.swap()
    click.echo(
        f"{live.schema}.{live.table} is the replayed table now; the one it replaced is "
        f"{live.table}__previous"
    )
    click.echo(
        f"{group} resumes from the shadow's position ({len(position)} partitions): "
        f"start `headwater sink {name}`"
    )
