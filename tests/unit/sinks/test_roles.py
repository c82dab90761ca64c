"""The warehouse roles the topology asks for: one per sink with its tables, and the analyst."""

from __future__ import annotations

import pytest

from headwater.errors import Terminal
from headwater.settings import CdcSettings, Settings
from headwater.topology import SINKS, Sink
from sinks import roles
from sinks.roles import SinkRole, analyst_role, mirror_schemas, role_name, sink_roles


def _settings() -> Settings:
    return Settings(cdc=CdcSettings(tables=["public.orders", "shop.customers"]))


def test_a_role_per_sink_named_after_it_and_its_consumer_groups() -> None:
    planned = sink_roles(_settings(), "hw_")
    assert [role.sink for role in planned] == [entry.name for entry in SINKS]
    assert [role.role for role in planned] == [
        "hw_sink_cdc",
        "hw_sink_ad_performance",
        "hw_sink_app_events",
        "hw_sink_kpis",
    ]
    assert [role.group_prefix for role in planned] == [
        "headwater-sink-cdc",
        "headwater-sink-ad-performance",
        "headwater-sink-app-events",
        "headwater-sink-kpis",
    ]
    assert analyst_role("hw_") == "hw_analyst"
    assert role_name("app-events") == "headwater_sink_app_events"


def test_each_upsert_sink_owns_its_one_table_and_the_cdc_sink_none_yet() -> None:
    tables = {role.sink: role.tables for role in sink_roles(_settings())}
    assert tables == {
        "cdc": (),  # it creates its mirrors as it meets source tables
        "ad-performance": (("public", "ad_performance_daily"),),
        "app-events": (("public", "app_events"),),
        "kpis": (("public", "campaign_kpis_daily"),),
    }


def test_the_cdc_sink_creates_mirrors_in_the_captured_tables_schemas() -> None:
    assert mirror_schemas(_settings()) == ["public", "shop"]


class _OtherWriter:
    name = "other"

    def __init__(self, _settings: Settings) -> None:
        pass


def test_a_sink_whose_tables_are_unknown_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    other = Sink("other", "lands elsewhere", "tests:unused", 9, lambda _s: ["norm.other"])
    monkeypatch.setattr(roles, "SINKS", (*SINKS, other))
    real_load = roles.load
    monkeypatch.setattr(
        roles, "load", lambda ref: _OtherWriter if ref == "tests:unused" else real_load(ref)
    )
    with pytest.raises(Terminal, match="sink other: no role plan for a _OtherWriter"):
        sink_roles(_settings())


def test_sinks_whose_groups_would_share_rows_are_refused() -> None:
    app = SinkRole("app", "headwater_sink_app", "headwater-sink-app", ())
    events = SinkRole("app-events", "headwater_sink_app_events", "headwater-sink-app-events", ())
    with pytest.raises(Terminal, match="headwater-sink-app-events would be visible to"):
        roles._check_groups_apart([app, events])
    roles._check_groups_apart(sink_roles(_settings()))  # the topology's sinks are apart
