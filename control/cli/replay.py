"""``headwater replay processor|sink <name> --from <time>``: read history again, after a fix."""

from __future__ import annotations

import click

from control import replay as replays
from control.cli.context import pass_settings
from control.dlq import parse_time
from control.pipeline import DEFAULT_GROUP_PREFIX, sink_group
from headwater.settings import Settings
from headwater.topology import API_SOURCES, SINKS
from headwater.topology import sink as sink_entry

_FROM = click.option(
    "--from", "since", required=True, help="Read again from this time: ISO 8601, or 6h, 7d ago."
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")


def _show(group: str, plans: list[replays.PartitionPlan]) -> None:
    for plan in plans:
        now = "nothing committed" if plan.committed is None else f"now at {plan.committed}"
        click.echo(
            f"  {plan.topic}[{plan.partition}]: from {plan.start} ({now}) to {plan.end}: "
            f"{plan.records:,} records"
        )
    click.echo(f"{group}: {sum(p.records for p in plans):,} records to read again")


@click.group()
def replay() -> None:
    """Read a stopped service's input again from a time: the processor, or one sink."""


@replay.command()
@_FROM
@_DRY_RUN
@pass_settings
def processor(settings: Settings, since: str, dry_run: bool) -> None:
    """Normalize the CDC and API topics again from a time (stop `headwater process` first).

    Its outputs then flow on as usual: the sinks and the KPI stage take them in, and rows of
    the same source record normalized anew replace the old ones."""
    group = settings.processor.app_id
    wanted = [settings.cdc.topic(table) for table in settings.cdc.tables]
    wanted += [topic for source in API_SOURCES for topic in source.raw_topics]
    existing = set(replays.topics_matching(settings.kafka, [r"^(cdc|raw)\."]))
    topics = [topic for topic in wanted if topic in existing]
    plans = replays.plan(settings.kafka, group, topics, parse_time(since))
    _show(group, plans)
    if dry_run:
        return
    replays.rewind_kafka(settings.kafka, group, plans)
    click.echo(f"{group} rewound: start `headwater process` to replay")


@replay.command(name="sink")
@click.argument("name", type=click.Choice([entry.name for entry in SINKS]))
@_FROM
@click.option("--group-id", help="The sink's consumer group (default headwater-sink-<name>).")
@_DRY_RUN
@pass_settings
def replay_sink(
    settings: Settings, name: str, since: str, group_id: str | None, dry_run: bool
) -> None:
    """Land a sink's topics again from a time (stop `headwater sink <name>` first)."""
    from headwater.postgres import connect
    from sinks.offsets import OffsetStore

    group = group_id or sink_group(DEFAULT_GROUP_PREFIX, name)
    topics = replays.topics_matching(settings.kafka, sink_entry(name).topics(settings))
    if settings.warehouse.dsn is None:
        raise replays.ReplayRefused("HEADWATER_WAREHOUSE__DSN is needed: the offsets live there")
    dsn = settings.warehouse.dsn.get_secret_value()
    with connect(dsn, settings.warehouse) as connection:  # where the sink really stands
        OffsetStore.prepare(connection)
        partitions = replays.partitions_of(settings.kafka, topics)
        stored = OffsetStore(group).load(connection, partitions)
    plans = replays.plan(settings.kafka, group, topics, parse_time(since), positions=stored)
    _show(group, plans)
    if dry_run:
        return
    with connect(dsn, settings.warehouse) as connection:
        OffsetStore(group).save(connection, {(p.topic, p.partition): p.start for p in plans})
    replays.rewind_kafka(settings.kafka, group, plans)
    click.echo(f"{group} rewound: start `headwater sink {name}` to replay")
