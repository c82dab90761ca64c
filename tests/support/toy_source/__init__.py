"""A fourth API source, used only by the tests: a toy product-analytics API.

It shows what adding a source takes: this package (``api.py`` stands in for the vendor's
API, ``source.py`` is its producer, ``normalize.py`` its normalizer) and the one
:class:`~headwater.topology.ApiSource` entry below, which a real source adds to
``headwater.topology.API_SOURCES``. Nothing in ``headwater/``, ``producers/``,
``stream_processors/`` or ``sinks/`` knows it: the poller, the processor, ``headwater run``
and the sinks take it from the entry (``tests/integration/test_fourth_source.py``).

Its events land in ``app_events`` beside CleverTap's, through the same normalized topic.
"""

from __future__ import annotations

from headwater.topology import NORM_EVENTS, ApiSource
from tests.support.toy_source.api import TOY_API

TOY_EVENTS = ApiSource(
    name="toy_events",
    streams=("events",),
    producer="tests.support.toy_source.source:build",
    normalizer="tests.support.toy_source.normalize:toy_events",
    normalized=NORM_EVENTS,
    sink="app-events",
    settings_prefix="HEADWATER_TOY__",
    credential="HEADWATER_TOY__TOKEN",
    port_offset=9,
    has_credentials=lambda _settings: True,
    accounts=lambda _settings: frozenset(TOY_API.accounts()),
)
