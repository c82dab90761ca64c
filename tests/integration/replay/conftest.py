"""The replay commands' tests: each gets an ads flow of its own (``own_ads_flow.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.settings import Settings
from tests.support.own_ads_flow import OwnAdsFlow, own_ads_flow


@pytest.fixture
def own_ads(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[OwnAdsFlow]:
    """A warehouse database and topics of the test's own, in the topology's place."""
    yield from own_ads_flow(settings, monkeypatch, capsys)
