import json
from datetime import date

import pytest

from headwater.avro import record_reader
from headwater.errors import RejectedRecord
from headwater.raw import read_envelope
from stream_processors.ads.normalize import facebook_row, google_ads_row, to_output

FETCHED = "2026-11-25T10:00:00.000001+00:00"


def _envelope(source: str, account: str, payload: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "source": source,
            "stream": "s",
            "account": account,
            "fetched_at": FETCHED,
            "api_version": "v",
            "window": {},
            "payload": payload,
        }
    ).encode()


FACEBOOK = {
    "account_id": "1234",
    "account_name": "Shop EU",
    "account_currency": "EUR",
    "campaign_id": "23850001",
    "campaign_name": "bf-sale",
    "adset_id": "5",
    "adset_name": "A",
    "ad_id": "9",
    "ad_name": "ad 9",
    "impressions": "283671",
    "clicks": "5123",
    "spend": "11178.61",
    "reach": "100000",
    "date_start": "2026-11-20",
    "date_stop": "2026-11-20",
    "actions": [
        {"action_type": "link_click", "value": "5000"},
        {"action_type": "purchase", "value": "37"},
    ],
    "action_values": [{"action_type": "purchase", "value": "4200.50"}],
}

GOOGLE = {
    "customer": {
        "resourceName": "customers/111",
        "id": "111",
        "descriptiveName": "Shop",
        "currencyCode": "JPY",
    },
    "campaign": {
        "resourceName": "customers/111/campaigns/71200001",
        "id": "71200001",
        "name": "brand",
    },
    "adGroup": {"resourceName": "customers/111/adGroups/77", "id": "77", "name": "exact"},
    "metrics": {
        "impressions": "100",
        "clicks": "7",
        "costMicros": "1200500000",
        "conversions": 3.0,
        "conversionsValue": 5400.25,
    },
    "segments": {"date": "2026-11-01"},
}


def test_facebook_row_is_exact_and_counts_configured_conversions() -> None:
    record = facebook_row(
        read_envelope(_envelope("facebook_ads", "act_1234", FACEBOOK)), ["purchase"]
    )
    assert record["spend"] == "11178.61"
    assert (record["impressions"], record["clicks"]) == (283671, 5123)
    assert (record["conversions"], record["conversion_value"]) == ("37", "4200.50")
    assert record["ctr"] == "0.018060"  # 5123 / 283671
    assert record["cpc"] == "2.1820"  # 11178.61 / 5123 = 2.18204...
    assert record["cpm"] == "39.4070"  # 11178.61 * 1000 / 283671 = 39.406953...
    assert (record["account_id"], record["currency"], record["ad_group_id"]) == ("1234", "EUR", "5")


def test_google_micros_convert_exactly() -> None:
    record = google_ads_row(read_envelope(_envelope("google_ads", "111", GOOGLE)))
    assert record["spend"] == "1200.5"
    assert record["conversions"] == "3.0"
    assert record["conversion_value"] == "5400.25"
    assert record["cpc"] == "171.5000"
    assert (record["ad_id"], record["currency"]) == ("", "JPY")


def test_zero_metrics_omitted_by_google_give_null_ratios() -> None:
    quiet = {**GOOGLE, "metrics": {}}
    record = google_ads_row(read_envelope(_envelope("google_ads", "111", quiet)))
    assert (record["impressions"], record["clicks"], record["spend"]) == (0, 0, "0")
    assert (record["ctr"], record["cpc"], record["cpm"]) == (None, None, None)


def test_output_is_keyed_by_the_natural_key_and_round_trips() -> None:
    record = facebook_row(
        read_envelope(_envelope("facebook_ads", "act_1234", FACEBOOK)), ["purchase"]
    )
    output = to_output(record)
    assert json.loads(output.key) == ["facebook", "1234", "23850001", "5", "9", "2026-11-20"]
    assert output.value is not None
    decoded = record_reader("norm/ad_performance_daily")(output.value, output.headers)
    assert decoded["date"] == date(2026, 11, 20)
    assert decoded["spend"] == "11178.61"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({**FACEBOOK, "spend": "lots"}, "spend is not a number"),
        ({**FACEBOOK, "clicks": "-1"}, "clicks is not a count"),
        ({k: v for k, v in FACEBOOK.items() if k != "campaign_id"}, "lacks campaign_id"),
        ({**FACEBOOK, "date_start": "20/11/2026"}, "date is not"),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(payload: dict[str, object], reason: str) -> None:
    with pytest.raises(RejectedRecord, match=reason):
        facebook_row(read_envelope(_envelope("facebook_ads", "act_1", payload)), ["purchase"])


def test_not_an_envelope_is_rejected() -> None:
    with pytest.raises(RejectedRecord, match="not an envelope"):
        read_envelope(b'{"payload": 3}')


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(RejectedRecord, match="currency is not an ISO 4217 code"):
        facebook_row(
            read_envelope(
                _envelope("facebook_ads", "act_1", {**FACEBOOK, "account_currency": "€"})
            ),
            ["purchase"],
        )
