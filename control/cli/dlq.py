"""``headwater dlq``: the dead letters of every stage: list, show, replay, purge."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from control import dlq
from control.cli.context import pass_settings
from headwater.avro import DECODE_ERRORS
from headwater.settings import Settings

_STAGE = click.option(
    "--stage", help="One stage's dead letters (normalize, kpis, sink); default: every dlq.* topic."
)
_SINCE = click.option("--since", help="From this time: ISO 8601, or a duration ago (6h, 7d).")
_UNTIL = click.option("--until", help="Before this time: ISO 8601, or a duration ago.")
_REASON = click.option("--reason", help="Only those whose reason contains this text.")


def _selection(
    stage: str | None, since: str | None, until: str | None, reason: str | None
) -> dlq.Selection:
    return dlq.Selection(
        stage=stage,
        since=dlq.parse_time(since) if since else None,
        until=dlq.parse_time(until) if until else None,
        reason=reason,
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


@click.group(name="dlq")
def dlq_group() -> None:
    """Dead letters: records a stage refused, with why and where they came from."""


@dlq_group.command(name="list")
@_STAGE
@_SINCE
@_UNTIL
@_REASON
@pass_settings
def list_letters(
    settings: Settings, stage: str | None, since: str | None, until: str | None, reason: str | None
) -> None:
    """Count dead letters per topic, reason and source topic."""
    summary = dlq.summarize(dlq.read(settings.kafka, _selection(stage, since, until, reason)))
    if not summary.records:
        click.echo("no dead letters")
        return
    for topic, count in sorted(summary.records.items()):
        first, last = summary.first.get(topic), summary.last.get(topic)
        click.echo(f"{topic}: {count:,} records, {_when(first)} .. {_when(last)} UTC")
        for (where, label), n in summary.reasons.most_common():
            if where == topic:
                click.echo(f"  {n:>8,}  reason: {label}")
        for (where, source), n in summary.sources.most_common():
            if where == topic:
                click.echo(f"  {n:>8,}  from: {source}")


@dlq_group.command()
@_STAGE
@_SINCE
@_UNTIL
@_REASON
@click.option("--limit", default=20, show_default=True, help="Show at most this many.")
@pass_settings
def show(
    settings: Settings,
    stage: str | None,
    since: str | None,
    until: str | None,
    reason: str | None,
    limit: int,
) -> None:
    """Show dead letters: where they sit, where they came from, why, and their key and value."""
    shown = 0
    for letter in dlq.read(settings.kafka, _selection(stage, since, until, reason)):
        if shown == limit:
            click.echo(f"(first {limit} shown; --limit for more)")
            break
        shown += 1
        source = letter.source
        came_from = f"{source[0]}[{source[1]}]@{source[2]}" if source else "(unknown)"
        error = letter.header("dlq.error")
        click.echo(
            f"{letter.topic}[{letter.partition}]@{letter.offset} {_when(letter.timestamp)} UTC "
            f"from {came_from} by {letter.header('dlq.stage') or '?'}"
            + (f" ({error})" if error else "")
        )
        click.echo(f"  reason: {letter.reason}")
        click.echo(f"  key:    {_preview(letter.key)}")
        click.echo(f"  value:  {_value(letter)}")
    if shown == 0:
        click.echo("no dead letters")


def _value(letter: dlq.DeadLetter) -> str:
    """An Avro value as the record it holds (JSON), anything else as a preview of its bytes."""
    try:
        record = letter.record()
    except DECODE_ERRORS as error:
        return f"({error}) {_preview(letter.value)}"
    if record is None:
        return _preview(letter.value)
    return _preview(json.dumps(record, default=str, ensure_ascii=False).encode())


def _preview(data: bytes | None, size: int = 200) -> str:
    if data is None:
        return "(none)"
    text = data[:size].decode(errors="replace")
    printable = "".join(ch if ch.isprintable() else "." for ch in text)
    return printable + (f" ... ({len(data):,} bytes)" if len(data) > size else "")


@dlq_group.command()
@_STAGE
@_SINCE
@_UNTIL
@_REASON
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; produce nothing.")
@pass_settings
def replay(
    settings: Settings,
    stage: str | None,
    since: str | None,
    until: str | None,
    reason: str | None,
    dry_run: bool,
) -> None:
    """Put dead letters back on the topics they came from, after a fix, to be processed
    again by the stage that refused them (stages and sinks are idempotent)."""
    letters = dlq.read(settings.kafka, _selection(stage, since, until, reason))
    if dry_run:
        counts = dlq.summarize(letters).sources
        for (topic, source), n in sorted(counts.items()):
            click.echo(f"would replay {n:,} records of {topic} to {source}")
        if not counts:
            click.echo("nothing to replay")
        return
    replayed = dlq.replay(settings.kafka, letters)
    for topic, n in sorted(replayed.items()):
        if topic:
            click.echo(f"replayed {n:,} records to {topic}")
    if replayed[""]:
        click.echo(f"skipped {replayed['']:,} records that do not say where they came from")
    if not replayed:
        click.echo("nothing to replay")


@dlq_group.command()
@click.option("--stage", required=True, help="The stage whose dead letters to delete.")
@click.option("--before", "before", required=True, help="Delete those older than this time.")
@click.option("--yes", is_flag=True, help="Do it (without it, only say how many).")
@pass_settings
def purge(settings: Settings, stage: str, before: str, yes: bool) -> None:
    """Delete a stage's dead letters older than a time (after they were fixed or replayed)."""
    (topic,) = dlq.dlq_topics(settings.kafka, stage)
    moment = dlq.parse_time(before)
    if not yes:
        counts = dlq.summarize(dlq.read(settings.kafka, dlq.Selection(stage=stage, until=moment)))
        click.echo(
            f"would delete {counts.records[topic]:,} records of {topic} older than "
            f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC; --yes to do it"
        )
        sys.exit(1)
    deleted = dlq.purge(settings.kafka, topic, moment)
    click.echo(f"deleted {sum(deleted.values()):,} records of {topic}")
