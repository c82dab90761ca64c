"""The KPI stages read each normalized record with the writer schema its header names."""

from __future__ import annotations

import json

import pytest

from headwater.avro import SCHEMA_HEADER, UnknownWriterSchema
from headwater.settings import Settings
from headwater.topology import NORM_ADS
from stream_processors.base import Incoming, Stage
from stream_processors.kpis.contributions import Contribution
from stream_processors.kpis.stages import stages
from tests.support.norm_records import ad_value


def _kpi_ads() -> Stage:
    settings = Settings(processor={"app_id": "test-stages"})  # type: ignore[arg-type]
    [stage] = [stage for stage in stages(settings) if stage.name == "kpi_ads"]
    return stage


def _ad(headers: list[tuple[str, bytes | None]]) -> Incoming:
    return Incoming(NORM_ADS, 0, 5, b"k", ad_value(9, "12.50"), headers)


AD_ROW = b"headwater.norm.ads.AdPerformanceDaily"


@pytest.mark.parametrize(
    "header", [AD_ROW + b"@86fae9a3572b1137", AD_ROW, None], ids=["current", "legacy", "none"]
)
def test_an_ad_row_becomes_its_campaigns_contribution(header: bytes | None) -> None:
    headers = [(SCHEMA_HEADER, header)] if header is not None else []
    [output] = _kpi_ads().process(_ad(headers))
    contribution = Contribution.decode(output.value or b"")
    assert json.loads(output.key) == ["2026-11-20", "facebook", "23850001"]
    assert contribution.values is not None
    assert contribution.values["spend"] == "12.50"


def test_an_unknown_writer_schema_is_rejected_for_the_dlq() -> None:
    header = AD_ROW + b"@0000000000000000"
    with pytest.raises(UnknownWriterSchema, match="unknown writer schema"):
        _kpi_ads().process(_ad([(SCHEMA_HEADER, header)]))
