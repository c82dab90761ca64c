"""Generated bad inputs for the processor's stages, beyond the catalogue: whatever a field of
a raw record holds, a normalized record that comes out is one every reader can decode and
every column can hold; the CDC fast path and its reference agree on any value; and no
contribution, however bad, makes the KPI fold fail after its records were processed (the
runner could not dead-letter that: it would stop the processor).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from headwater.avro import record_reader
from headwater.errors import RejectedRecord
from headwater.raw import clevertap_key
from headwater.settings import Settings
from stream_processors.ads.normalize import facebook, google_ads
from stream_processors.base import Incoming
from stream_processors.cdc.compiled import CompiledNormalizer
from stream_processors.cdc.normalize import normalize_reference
from stream_processors.events.normalize import clevertap
from stream_processors.kpis.contributions import ADS, EVENTS, ORDERS, Contribution, KpiKey
from stream_processors.kpis.fold import KpiFold
from stream_processors.numeric_columns import NumericColumns
from stream_processors.output import Output
from tests.support.bad_inputs import raw_envelope
from tests.support.debezium import ORDER_FIELDS, envelope, order_row
from tests.support.properties import JSON_VALUES, NUMBER_TEXT

SETTINGS = Settings(  # type: ignore[call-arg]
    processor={"app_id": "badinput-properties", "pseudonymization_key": SecretStr("k" * 32)},
    clevertap={"timezone": "Asia/Kolkata"},
)
FACEBOOK_ROW = {
    "account_id": "1", "account_currency": "EUR", "campaign_id": "2", "adset_id": "3",
    "ad_id": "4", "impressions": "1000", "clicks": "10", "spend": "12.34",
    "actions": [{"action_type": "purchase", "value": "2"}], "date_start": "2026-11-20",
}  # fmt: skip
GOOGLE_ROW = {
    "customer": {"id": "1", "currencyCode": "EUR"},
    "campaign": {"id": "2"},
    "adGroup": {"id": "3"},
    "metrics": {"impressions": "100", "clicks": "7", "costMicros": "1200500000"},
    "segments": {"date": "2026-11-01"},
}
CLEVERTAP_EVENT = {
    "profile": {"identity": "u1", "platform": "iOS"},
    "ts": 20261101093015,
    "event_props": {"Amount": "19.90", "Currency": "INR", "campaign_id": "fb-1"},
}
Transform = Callable[[str, bytes | None, bytes | None], list[Output]]


def outputs_or_refusal(transform: Transform, key: bytes | None, payload: Any) -> list[Output]:
    """The outputs, or none when the stage refuses the record (the runner dead-letters it)."""
    value = json.dumps(raw_envelope("x", "y", "acct", payload)).encode(errors="surrogatepass")
    try:
        return transform("raw", key, value)
    except Exception:  # the runner dead-letters the record, whatever the stage raised
        return []


def assert_every_reader_takes(outputs: list[Output], record: str) -> None:
    read, columns = record_reader(record), NumericColumns(record)
    for output in outputs:
        columns.check(read(output.value or b"", output.headers))  # as the sinks and KPIs read


def with_field(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """The document with ``a.b`` set to value (or dropped, for the strategy's sentinel)."""
    changed = json.loads(json.dumps(document))
    *parents, name = path.split(".")
    target = changed
    for parent in parents:
        target = target[parent]
    target[name] = value
    return changed


def paths(document: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for name, value in document.items():
        found.append(prefix + name)
        if isinstance(value, dict):
            found += paths(value, f"{prefix}{name}.")
    return found


@given(st.sampled_from(paths(FACEBOOK_ROW)), JSON_VALUES)
def test_a_facebook_row_comes_out_readable_or_not_at_all(path: str, value: Any) -> None:
    outputs = outputs_or_refusal(facebook(SETTINGS), None, with_field(FACEBOOK_ROW, path, value))
    assert_every_reader_takes(outputs, "norm/ad_performance_daily")


@given(st.sampled_from(paths(GOOGLE_ROW)), JSON_VALUES)
def test_a_google_ads_row_comes_out_readable_or_not_at_all(path: str, value: Any) -> None:
    outputs = outputs_or_refusal(google_ads(SETTINGS), None, with_field(GOOGLE_ROW, path, value))
    assert_every_reader_takes(outputs, "norm/ad_performance_daily")


@given(st.sampled_from(paths(CLEVERTAP_EVENT)), JSON_VALUES)
def test_a_clevertap_event_comes_out_readable_or_not_at_all(path: str, value: Any) -> None:
    key = clevertap_key("Charged", uuid.UUID(int=7).hex).encode()
    payload = with_field(CLEVERTAP_EVENT, path, value)
    outputs = outputs_or_refusal(clevertap(SETTINGS), key, payload)
    assert_every_reader_takes(outputs, "norm/app_event")


def _outcome(transform: Callable[[], list[Output]]) -> tuple[Any, ...]:
    try:
        return ("outputs", [(o.topic, o.key, o.value) for o in transform()])
    except RejectedRecord as rejected:
        return ("rejected", rejected.reason)


COLUMNS = [str(field["field"]) for field in ORDER_FIELDS]
SOURCE = ["source.lsn", "source.ts_us", "source.ts_ms", "source.txId", "source.schema",
          "source.table", "source.snapshot", "op"]  # fmt: skip


@given(st.sampled_from(["c", "u", "d", "r"]), st.sampled_from(COLUMNS + SOURCE), JSON_VALUES)
def test_the_cdc_fast_path_gives_what_its_reference_gives(op: str, where: str, value: Any) -> None:
    """The fast path either leaves a record to the reference or writes the very same bytes."""
    image = {"before": order_row(1)} if op == "d" else {"after": order_row(1)}
    key, good = envelope(op, schema="props", **image)  # type: ignore[arg-type]
    document = json.loads(good)
    field = where if where in SOURCE else f"{'before' if op == 'd' else 'after'}.{where}"
    document["payload"] = with_field(document["payload"], field, value)
    changed = json.dumps(document).encode()
    compiled = CompiledNormalizer()
    assert compiled(key, good) is not None  # a known schema: the next record takes the fast path
    fast = compiled(key, changed)
    if fast is not None:
        expected = _outcome(lambda: normalize_reference(key, changed))
        assert ("outputs", [(o.topic, o.key, o.value) for o in fast]) == expected


ROWS = [KpiKey("2026-11-20", "facebook", str(n)) for n in range(2)]
CONTRIBUTIONS = st.builds(
    Contribution,
    key=st.sampled_from(ROWS),
    kind=st.sampled_from([ADS, EVENTS, ORDERS, "tiktok"]),
    identity=st.sampled_from(["a", "b", "c"]),
    version=st.integers(min_value=0, max_value=3),
    values=st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            name: NUMBER_TEXT
            for name in ("impressions", "clicks", "spend", "spend_account", "conversions",
                         "installs", "orders", "revenue")
        }
        | {"account_currency": st.sampled_from(["EUR", "USD"])},
    ),
)  # fmt: skip


@given(st.lists(CONTRIBUTIONS, max_size=12))
def test_no_contribution_makes_the_fold_fail_after_its_records(made: list[Contribution]) -> None:
    """Every contribution is folded or refused on its own; the batch's KPI rows then come out
    readable, with finite figures: a failure there would stop the processor for good."""
    fold = KpiFold(SETTINGS, source="contributions", output="kpis")
    fold.restore(0, [])
    for offset, contribution in enumerate(made):
        record = Incoming(
            "contributions", 0, offset, contribution.key.encode(), contribution.encode()
        )
        with contextlib.suppress(Exception):  # dead-lettered; the fold changed nothing
            fold.process(record)
    read = record_reader("metrics/campaign_kpis_daily")
    for output in fold.finish():
        row = read(output.value or b"", output.headers)
        for name in ("spend", "revenue", "conversions"):
            assert Decimal(row[name]).is_finite(), row
    fold.changes()
