"""``headwater replay ... --until`` on the real broker and warehouse: the window is replayed
once by the command, exactly from ``--from`` to ``--until``, the service's position stays,
and a key with a later record keeps it as its last word."""

from __future__ import annotations

from datetime import timedelta

from control.dlq import Selection, read
from headwater.dlq import dlq_topic
from stream_processors.base import NORMALIZE
from tests.conftest import wait_for
from tests.support.own_ads_flow import Ad, OwnAdsFlow, as_decimal, now


def test_a_bounded_sink_replay_repairs_the_window_only(own_ads: OwnAdsFlow) -> None:
    group = f"{own_ads.norm}-sink"
    fetched, repulled = now() - timedelta(minutes=90), now() - timedelta(minutes=30)
    in_window = [Ad(n, f"{n}0.00", fetched) for n in (1, 2, 3)]
    later = [Ad(1, "11.00", repulled), Ad(4, "40.00", repulled)]
    own_ads.produce_norm([own_ads.normalized(ad) for ad in in_window], at=fetched)
    own_ads.produce_norm([own_ads.normalized(ad) for ad in later], at=repulled)
    sink = own_ads.sink(group)
    try:
        wait_for(lambda: len(own_ads.rows()) == 4, timeout_s=60, what="the four rows")
    finally:
        sink.close()
    own_ads.break_rows()
    position = own_ads.stored_offsets(group)
    args = ("replay", "sink", "ad-performance", "--group-id", group, "--from", "2h")

    planned = own_ads.headwater(*args, "--until", "1h", "--dry-run")
    assert planned.code == 0, planned.err
    assert "3 records to land again (then 2 later ones, for the keys they touch)" in planned.out

    landed = own_ads.headwater(*args, "--until", "1h")
    assert landed.code == 0, landed.err
    assert "landed 3 records" in landed.out
    assert "2 later records read, 1 of the same keys landed again" in landed.out
    spends = {ad: spend for ad, (spend, _) in own_ads.rows().items()}
    # ad 1 ends with its later pull, not the window's older one; ad 4 is outside the window
    assert spends == {1: as_decimal("11"), 2: as_decimal("20"), 3: as_decimal("30"), 4: 0}
    assert own_ads.stored_offsets(group) == position  # the sink's position did not move

    running = own_ads.sink(group)
    try:
        wait_for(running.runner.assigned.is_set, timeout_s=60, what="the sink's partitions")
        busy = own_ads.headwater(*args, "--until", "1h")
        assert busy.code == 2
        assert f"consumer group {group} is active" in busy.err
    finally:
        running.close()


def test_an_until_not_after_from_is_refused(own_ads: OwnAdsFlow) -> None:
    refused = own_ads.headwater("replay", "processor", "--from", "1h", "--until", "2h")
    assert refused.code == 2
    assert "headwater: --until: " in refused.err
    assert "is not after --from" in refused.err


def test_a_bounded_processor_replay_dead_letters_what_it_refuses(own_ads: OwnAdsFlow) -> None:
    since = now()
    fetched = now() - timedelta(minutes=90)
    own_ads.produce_raw([Ad(1, "10.00", fetched), Ad(2, "ten euros", fetched)], at=fetched)

    done = own_ads.headwater("replay", "processor", "--from", "2h", "--until", "1h")
    assert done.code == 0, done.err
    assert "normalized 2 records again: 1 outputs, 1 rejected (to dlq.normalize)" in done.out
    assert list(own_ads.last_versions()) == [own_ads.normalized(Ad(1, "10.00", fetched)).key]
    letters = [
        letter
        for letter in read(own_ads.settings.kafka, Selection(stage=NORMALIZE, since=since))
        if letter.source is not None and letter.source[0] == own_ads.raw
    ]
    assert [letter.topic for letter in letters] == [dlq_topic(NORMALIZE)]
    assert "spend is not a number: 'ten euros'" in letters[0].reason
