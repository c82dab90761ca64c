"""The topology catalogue: every reference resolves into its own room, ports never collide."""

from __future__ import annotations

import dataclasses

import pytest

from headwater.settings import Settings
from headwater.topology import (
    API_SOURCES,
    SINKS,
    ApiSource,
    Sink,
    api_source,
    load,
    port_offsets,
    ports_needed,
    sink,
)


@pytest.mark.parametrize("source", API_SOURCES, ids=lambda s: s.name)
def test_a_source_names_its_producer_and_normalizer_in_their_rooms(source: ApiSource) -> None:
    assert source.producer.startswith(f"producers.{source.name}.")
    assert source.normalizer.startswith("stream_processors.")
    assert callable(load(source.producer))
    assert callable(load(source.normalizer))
    assert source.normalized in sink(source.sink).topics(Settings())
    assert source.raw_topics == tuple(f"raw.{source.name}.{s}" for s in source.streams)


@pytest.mark.parametrize("entry", SINKS, ids=lambda s: s.name)
def test_a_sink_names_its_writer_in_the_sinks_room(entry: Sink) -> None:
    assert entry.writer.startswith("sinks.")
    assert load(entry.writer)(Settings()).name == entry.name


def test_services_keep_their_ports_from_release_to_release() -> None:
    assert port_offsets() == {
        "processor": 0,
        "sink-cdc": 1,
        "sink-ad-performance": 2,
        "sink-app-events": 3,
        "sink-kpis": 4,
        "poll-facebook_ads": 5,
        "poll-google_ads": 6,
        "poll-clevertap": 7,
        "cdc-monitor": 8,
    }
    assert ports_needed() == 9


def test_two_services_on_one_port_are_refused() -> None:
    clash = dataclasses.replace(API_SOURCES[0], name="another", port_offset=8)
    with pytest.raises(ValueError, match="poll-another and cdc-monitor both want port offset 8"):
        port_offsets((*API_SOURCES, clash))


def test_unknown_names_and_bad_references_say_what_is_known() -> None:
    with pytest.raises(KeyError, match="facebook_ads, google_ads, clevertap"):
        api_source("tiktok_ads")
    with pytest.raises(KeyError, match="cdc, ad-performance, app-events, kpis"):
        sink("orders")
    with pytest.raises(ValueError, match=r"not a 'package\.module:attribute' reference"):
        load("sinks.ads.ads_writer")


def test_each_service_has_its_own_default_port_and_the_setting_wins() -> None:
    from headwater.topology import BASE_PORT, port_offsets, with_service_port

    defaults = Settings()
    ports = {service: with_service_port(defaults, service).http.port for service in port_offsets()}
    assert len(set(ports.values())) == len(ports)
    assert ports["processor"] == BASE_PORT == 9400
    assert ports["sink-cdc"] == 9401
    chosen = Settings(http={"port": 9999})
    assert {with_service_port(chosen, service).http.port for service in ports} == {9999}
