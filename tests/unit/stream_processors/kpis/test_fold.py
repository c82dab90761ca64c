"""The KPI fold stage: constant-size state records, and the same KPIs whatever a crash hits.

The crash test drives the stage the way the batch runner does (process a batch, deliver its
outputs, append ``changes()`` to the changelog, commit), kills it after every possible
prefix of a batch's changelog writes, compacts the log as Kafka may, restores a fresh stage
from it, redoes the batch from the last commit, and compares the final KPIs with a fold
that never crashed.
"""

from __future__ import annotations

import random
from decimal import Decimal

from headwater.avro import record_reader
from headwater.settings import Settings
from stream_processors.base import Incoming
from stream_processors.kpis.contributions import ADS, EVENTS, ORDERS, Contribution, KpiKey
from stream_processors.kpis.fold import SEGMENT, KpiFold
from stream_processors.output import Output

ROWS = [KpiKey("2026-11-20", "facebook", str(campaign)) for campaign in range(3)]


def _settings() -> Settings:
    return Settings(processor={"app_id": "test-fold"})  # type: ignore[arg-type]


def _contributions(count: int, seed: int) -> list[Contribution]:
    chooser = random.Random(seed)
    made = []
    for n in range(count):
        row = chooser.choice(ROWS)
        kind = chooser.choice([ADS, EVENTS, ORDERS])
        identity = f"{kind}-{chooser.randrange(12)}"
        if kind == ADS:
            values: dict[str, str] | None = {
                "impressions": str(chooser.randrange(1000)),
                "clicks": str(chooser.randrange(50)),
                "spend": str(Decimal(chooser.randrange(100_000)) / 100),
                "spend_account": str(Decimal(chooser.randrange(100_000)) / 100),
                "account_currency": chooser.choice(["EUR", "USD"]),
                "conversions": str(chooser.randrange(5)),
            }
        elif kind == EVENTS:
            values = {"installs": "1"}
        else:
            values = (
                None
                if chooser.random() < 0.2
                else {"orders": "1", "revenue": str(Decimal(chooser.randrange(10_000)) / 100)}
            )
        version = n // 3 if kind != EVENTS else 0  # some versions repeat: same-version replays
        made.append(Contribution(row, kind, identity, version, values))
    return made


def _record(contribution: Contribution, offset: int) -> Incoming:
    return Incoming(
        "kpis.contributions", 0, offset, contribution.key.encode(), contribution.encode()
    )


def _kpis(outputs: dict[bytes, Output]) -> dict[bytes, dict[str, object]]:
    rows = {}
    read = record_reader("metrics/campaign_kpis_daily")
    for key, output in outputs.items():
        assert output.value is not None
        row = read(output.value, output.headers)
        row.pop("updated_at")
        rows[key] = row
    return rows


def _compact(log: list[tuple[bytes, bytes | None]]) -> list[tuple[bytes, bytes | None]]:
    last = {key: index for index, (key, _) in enumerate(log)}
    return [entry for index, entry in enumerate(log) if last[entry[0]] == index]


def _run(contributions: list[Contribution], batch: int, crash_at: dict[int, int]) -> dict:
    """Batches through a fold; at batch b, crash after crash_at[b] changelog writes."""
    fold = KpiFold(_settings())
    fold.restore(0, [])
    changelog: list[tuple[bytes, bytes | None]] = []
    latest: dict[bytes, Output] = {}
    committed, b = 0, 0
    while committed < len(contributions):
        records = contributions[committed : committed + batch]
        for offset, contribution in enumerate(records, committed):
            assert fold.process(_record(contribution, offset)) == []
        for output in fold.finish():  # one update per changed row, delivered before the changelog
            latest[output.key] = output
        changes = [(key, value) for _, key, value in fold.changes()]
        if b in crash_at:
            changelog += changes[: crash_at.pop(b) % (len(changes) + 1)]
            changelog = _compact(changelog) if b % 2 else changelog
            fold = KpiFold(_settings())
            fold.restore(0, changelog)
            continue  # not committed: the batch is redone
        changelog += changes
        committed += len(records)
        b += 1
    return _kpis(latest)


def test_kpis_survive_a_crash_at_any_point_of_the_changelog_writes() -> None:
    contributions = _contributions(600, seed=7)
    expected = _run(contributions, batch=50, crash_at={})
    assert len(expected) == len(ROWS)
    chooser = random.Random(11)
    for trial in range(40):
        crashes = {b: chooser.randrange(1000) for b in chooser.sample(range(12), 4)}
        assert _run(contributions, batch=50, crash_at=dict(crashes)) == expected, (trial, crashes)


def test_kpis_equal_a_fold_from_scratch() -> None:
    contributions = _contributions(400, seed=3)
    got = _run(contributions, batch=37, crash_at={})
    for key, row in got.items():
        mine = [c for c in contributions if c.key.encode() == key]
        latest: dict[tuple[str, str], Contribution] = {}
        for c in mine:
            current = latest.get((c.kind, c.identity))
            if current is None or (c.kind != EVENTS and c.version >= current.version):
                latest[(c.kind, c.identity)] = c
        revenue = sum(
            (
                Decimal(c.values["revenue"])
                for c in latest.values()
                if c.kind == ORDERS and c.values
            ),
            Decimal(0),
        )
        installs = sum(1 for c in latest.values() if c.kind == EVENTS)
        assert Decimal(str(row["revenue"])) == revenue
        assert row["installs"] == installs


def test_state_records_stay_small_however_full_a_row_gets() -> None:
    fold = KpiFold(_settings())
    fold.restore(0, [])
    key = ROWS[0]
    sizes = []
    for n in range(20_000):
        values = {"orders": "1", "revenue": "12.50"}
        contribution = Contribution(key, ORDERS, f"order-{n}", n, values)
        fold.process(_record(contribution, n))
        if n % 1000 == 999:
            assert len(fold.finish()) == 1
            sizes.append(max(len(value or b"") for _, _, value in fold.changes()))
    assert max(sizes) < 200 * SEGMENT  # a row record carries at most SEGMENT entries
    assert max(sizes) < 1.1 * min(sizes)  # ... and does not grow with the row's 20,000 orders
