"""The README's worked example of a repair after a normalizer fix, run as written.

The commands of the marked block in "Reprocessing" run one after the other against the real
broker and warehouse, on the history the example tells of: for an hour a broken normalizer
wrote Facebook spend in cents and refused an ad's row; the fix went out an hour ago, and one
ad's day was pulled again since. Each command's outcome is checked: the plans change
nothing, the window is normalized again with the later pull kept last, the shadow holds the
repaired rows while the live table does not, the diff counts what the README shows, and
after the swap the live table is repaired and the sink resumes where the shadow stands.
"""

from __future__ import annotations

import shlex
from datetime import timedelta
from pathlib import Path

from sinks.ads import AD_PERFORMANCE_DAILY
from tests.support.own_ads_flow import Ad, OwnAdsFlow, as_decimal, now
from tests.support.progress import high_watermarks

README = Path(__file__).resolve().parents[3] / "README.md"
MARKER = "<!-- reprocessing-example:"
SINK_GROUP = "headwater-sink-ad-performance"  # the example names no --group-id


def example() -> tuple[list[list[str]], list[str]]:
    """The example's commands (arguments after ``headwater``) and the diff lines it shows."""
    text = README.read_text().split("## Reprocessing", 1)[1].split("\n## ", 1)[0]
    after = text.split(MARKER, 1)[1]
    block = after.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "headwater", line
            commands.append(words[1:])
    shown = after.split("```sh\n", 1)[1].split("```", 1)[1].split("```\n", 1)[1]
    diff_lines = shown.split("```", 1)[0].splitlines()
    return commands, [line for line in diff_lines if line.strip()]


def test_the_readme_example_repairs_the_table(own_ads: OwnAdsFlow) -> None:
    commands, diff_shown = example()
    plan_processor, renormalize, plan_shadow, into_shadow, diff, swap = commands
    assert [command[:2] for command in commands] == [
        ["replay", "processor"], ["replay", "processor"], ["replay", "sink"], ["replay", "sink"],
        ["replay", "diff"], ["replay", "swap"],
    ]  # fmt: skip
    assert [("--dry-run" in c, "--until" in c, "--into-shadow" in c) for c in commands[:4]] == [
        (True, True, False), (False, True, False), (True, False, True), (False, False, True),
    ]  # fmt: skip

    # The hour of the broken normalizer (fetched 100 minutes ago), and a later pull of ad 1.
    fetched, repulled = now() - timedelta(minutes=100), now() - timedelta(minutes=30)
    pulled = [Ad(n, f"{n}2.50", fetched, clicks=0 if n == 5 else 4) for n in range(1, 6)]
    restated = Ad(1, "13.75", repulled)
    own_ads.produce_raw(pulled, at=fetched)
    own_ads.produce_raw([restated], at=repulled)
    # What it wrote (spend x100; ad 5 refused), and the fixed code the later pull.
    own_ads.produce_norm([own_ads.normalized(ad, spend_factor=100) for ad in pulled[1:4]])
    own_ads.produce_norm([own_ads.normalized(restated)])
    own_ads.land_all(SINK_GROUP)  # the sink had landed all of it, then was stopped
    broken = own_ads.rows()
    assert {ad: spend for ad, (spend, _) in broken.items()} == {
        1: as_decimal("13.75"), 2: as_decimal("2250"), 3: as_decimal("3250"),
        4: as_decimal("4250"),
    }  # fmt: skip
    norm_end = high_watermarks(own_ads.settings.kafka, [own_ads.norm])

    planned = own_ads.headwater(*plan_processor)
    assert planned.code == 0, planned.err
    assert "5 records to normalize again (then 1 later ones, for the keys they touch)" in (
        planned.out
    )
    assert high_watermarks(own_ads.settings.kafka, [own_ads.norm]) == norm_end

    done = own_ads.headwater(*renormalize)
    assert done.code == 0, done.err
    assert "normalized 5 records again: 5 outputs, 0 rejected" in done.out
    assert "1 later records read, 1 outputs of the same keys produced again" in done.out
    last = own_ads.last_versions()  # what compaction keeps: ad 1's later pull, still last
    assert last[own_ads.normalized(restated).key] == int(repulled.timestamp() * 1_000_000)
    assert own_ads.rows() == broken  # the sink is stopped: the live table waits

    planned = own_ads.headwater(*plan_shadow)
    assert planned.code == 0, planned.err
    assert "to land in public.ad_performance_daily__replay" in planned.out
    assert own_ads.rows() == broken

    landed = own_ads.headwater(*into_shadow)
    assert landed.code == 0, landed.err
    shadow = own_ads.rows("ad_performance_daily__replay")
    assert {ad: spend for ad, (spend, _) in shadow.items()} == {
        1: as_decimal("13.75"), 2: as_decimal("22.50"), 3: as_decimal("32.50"),
        4: as_decimal("42.50"), 5: as_decimal("52.50"),
    }  # fmt: skip
    assert own_ads.rows() == broken

    compared = own_ads.headwater(*diff)
    assert compared.code == 1, compared.err
    for line in diff_shown:
        assert line in compared.out.splitlines(), f"{line!r} not in:\n{compared.out}"
    assert "they differ" in compared.out

    shadow_end = high_watermarks(own_ads.settings.kafka, [own_ads.norm])
    swapped = own_ads.headwater(*swap)
    assert swapped.code == 0, swapped.err
    assert own_ads.rows() == shadow
    assert own_ads.rows("ad_performance_daily__previous") == broken
    assert own_ads.stored_offsets(SINK_GROUP) == shadow_end
    assert AD_PERFORMANCE_DAILY.table == "ad_performance_daily"  # the table the README names
