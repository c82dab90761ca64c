"""The sandbox's GAQL subset: what it selects, and what it refuses with the API's codes."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.google_ads.gaql import GaqlError, parse

TODAY = date(2026, 3, 31)
FIELDS = "ad_group.id, segments.date, metrics.clicks"


def test_between_selects_an_inclusive_range() -> None:
    query = parse(
        f"SELECT {FIELDS} FROM ad_group WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'",
        TODAY,
    )
    assert (query.since, query.until) == (date(2026, 3, 1), date(2026, 3, 7))
    assert query.fields == ("ad_group.id", "segments.date", "metrics.clicks")
    assert query.by_date
    assert query.field_mask() == "adGroup.id,segments.date,metrics.clicks"


@pytest.mark.parametrize(
    ("where", "since", "until"),
    [
        ("segments.date = '2026-02-14'", date(2026, 2, 14), date(2026, 2, 14)),
        ("segments.date DURING LAST_7_DAYS", date(2026, 3, 24), date(2026, 3, 30)),
        ("segments.date DURING TODAY", TODAY, TODAY),
        ("segments.date DURING LAST_30_DAYS", date(2026, 3, 1), date(2026, 3, 30)),
        (
            "segments.date >= '2026-03-01' AND segments.date < '2026-03-05'",
            date(2026, 3, 1),
            date(2026, 3, 4),
        ),
    ],
)
def test_date_conditions(where: str, since: date, until: date) -> None:
    query = parse(f"select {FIELDS} from ad_group where {where} limit 5", TODAY)
    assert (query.since, query.until, query.limit) == (since, until, 5)


def test_filters_on_other_fields_keep_matching_rows() -> None:
    query = parse(
        "SELECT ad_group.id FROM ad_group WHERE campaign.id IN ('1', '2') "
        "AND ad_group.status != 'REMOVED' ORDER BY ad_group.id DESC",
        TODAY,
    )
    assert not query.by_date
    assert query.keeps({"campaign": {"id": "2"}, "adGroup": {"status": "ENABLED"}})
    assert not query.keeps({"campaign": {"id": "3"}, "adGroup": {"status": "ENABLED"}})
    assert not query.keeps({"campaign": {"id": "1"}, "adGroup": {"status": "REMOVED"}})


def test_projection_keeps_selected_fields_and_resource_names() -> None:
    query = parse("SELECT campaign.name, metrics.clicks FROM ad_group", TODAY)
    row = {
        "customer": {"resourceName": "customers/1", "id": "1"},
        "campaign": {"resourceName": "customers/1/campaigns/2", "id": "2", "name": "n"},
        "metrics": {"clicks": "3", "impressions": "9"},
    }
    assert query.project(row) == {
        "campaign": {"resourceName": "customers/1/campaigns/2", "name": "n"},
        "metrics": {"clicks": "3"},
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ad_group.id FROM ad_group", "EXPECTED_SELECT"),
        ("SELECT ad_group.id, ad_group.nope FROM ad_group", "UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id", "EXPECTED_FROM"),
        ("SELECT ad_group.id FROM", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id FROM campaign", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT segments.date FROM ad_group", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        (
            "SELECT segments.date FROM ad_group WHERE segments.date >= '2026-03-01'",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        (
            "SELECT segments.date FROM ad_group WHERE segments.date BETWEEN 'x' AND '2026-03-01'",
            "INVALID_VALUE_WITH_BETWEEN_OPERATOR",
        ),
        (
            "SELECT segments.date FROM ad_group WHERE segments.date = '2026-02-30'",
            "INVALID_DATE_FORMAT",
        ),
        (
            "SELECT segments.date FROM ad_group WHERE segments.date DURING LAST_9_DAYS",
            "INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        (
            "SELECT segments.date FROM ad_group "
            "WHERE segments.date BETWEEN '2026-03-05' AND '2026-03-01'",
            "DATE_RANGE_TOO_NARROW",
        ),
        ("SELECT ad_group.id FROM ad_group LIMIT 0", "BAD_LIMIT_VALUE"),
        ("SELECT ad_group.id FROM ad_group WHERE ad_group.id LIKE 'x'", "BAD_OPERATOR"),
        ("SELECT ad_group.id FROM ad_group ORDER ad_group.id", "EXPECTED_BY"),
        ("SELECT ad_group.id FROM ad_group extra", "UNEXPECTED_INPUT"),
        ("SELECT ad_group.id; FROM ad_group", "EXPECTED_FROM"),
    ],
)
def test_refused_queries_carry_the_api_query_error(text: str, code: str) -> None:
    with pytest.raises(GaqlError) as raised:
        parse(text, TODAY)
    assert (raised.value.kind, raised.value.code) == ("queryError", code)


def test_an_unrecognized_field_is_the_trigger() -> None:
    with pytest.raises(GaqlError) as raised:
        parse("SELECT metrics.cost FROM ad_group", TODAY)
    assert raised.value.trigger == "metrics.cost"
    assert "metrics.cost" in raised.value.message
