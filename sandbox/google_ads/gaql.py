"""A small parser of the GAQL subset the sandbox serves, refusing the rest as the API does.

``SELECT <fields> FROM ad_group [WHERE <cond> [AND <cond>]...] [ORDER BY ...] [LIMIT n]``;
conditions on ``segments.date`` (``BETWEEN``, ``=``, ``>=``, ``<=``, ``>``, ``<``,
``DURING LAST_7_DAYS`` ...) select days, conditions ``=``, ``!=``, ``IN`` on other fields filter
rows. Errors are QueryError codes (https://developers.google.com/google-ads/api/docs/query/grammar,
https://developers.google.com/google-ads/api/reference/rpc/v21/QueryErrorEnum.QueryError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

RESOURCE = "ad_group"

SELECTABLE: tuple[str, ...] = (
    "customer.resource_name",
    "customer.id",
    "customer.descriptive_name",
    "customer.currency_code",
    "customer.time_zone",
    "campaign.resource_name",
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "ad_group.resource_name",
    "ad_group.id",
    "ad_group.name",
    "ad_group.status",
    "ad_group.campaign",
    "segments.date",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
    "metrics.conversions",
    "metrics.conversions_value",
)

_DURING: dict[str, tuple[int, int]] = {  # literal -> (first, last) days before today
    "TODAY": (0, 0),
    "YESTERDAY": (1, 1),
    "LAST_7_DAYS": (7, 1),
    "LAST_14_DAYS": (14, 1),
    "LAST_30_DAYS": (30, 1),
}

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^'\n]*'|\"[^\"\n]*\")|(?P<op>!=|>=|<=|=|>|<|,|\(|\))"
    r"|(?P<word>[A-Za-z0-9_.\-]+)|(?P<bad>\S))"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class GaqlError(Exception):
    """A query the API refuses: an error code (``queryError`` kind) and the API's message."""

    def __init__(self, code: str, message: str, trigger: str | None = None) -> None:
        super().__init__(message)
        self.kind = "queryError"
        self.code = code
        self.message = message
        self.trigger = trigger


def camel(name: str) -> str:
    """``cost_micros`` -> ``costMicros`` (the REST interface's JSON names)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def json_path(gaql_field: str) -> tuple[str, str]:
    """``ad_group.cost_micros`` -> (``adGroup``, ``costMicros``)."""
    resource, _, name = gaql_field.partition(".")
    return camel(resource), camel(name)


@dataclass(frozen=True)
class Query:
    """A parsed query: selected fields, the days asked for, row filters and a limit."""

    fields: tuple[str, ...]
    since: date | None = None
    until: date | None = None
    filters: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())
    limit: int | None = None

    @property
    def by_date(self) -> bool:
        """Whether rows are per day (``segments.date`` selected) or totals over the range."""
        return "segments.date" in self.fields

    def field_mask(self) -> str:
        """The response's ``fieldMask``: the selected fields, camelCase."""
        return ",".join(".".join(json_path(name)) for name in self.fields)

    def keeps(self, row: dict[str, Any]) -> bool:
        """Whether a full row passes the WHERE filters on non-date fields."""
        for name, operator, values in self.filters:
            resource, key = json_path(name)
            value = str(row.get(resource, {}).get(key, ""))
            if (value in values) != (operator in ("=", "IN")):
                return False
        return True

    def project(self, row: dict[str, Any]) -> dict[str, Any]:
        """The selected fields of a full row, plus each selected resource's resourceName."""
        wanted: dict[str, set[str]] = {}
        for name in self.fields:
            resource, key = json_path(name)
            wanted.setdefault(resource, {"resourceName"}).add(key)
        projected: dict[str, Any] = {}
        for resource, values in row.items():
            if resource in wanted:
                kept = {k: v for k, v in values.items() if k in wanted[resource]}
                if kept:
                    projected[resource] = kept
        return projected


def parse(text: str, today: date) -> Query:
    """Parse a GAQL query; GaqlError for anything the sandbox (or the API) refuses."""
    return _Parser(text, today).query()


class _Parser:
    def __init__(self, text: str, today: date) -> None:
        self._tokens = [m for m in _TOKEN.finditer(text) if m.group().strip()]
        self._at = 0
        self._today = today
        self._since: date | None = None
        self._until: date | None = None

    def query(self) -> Query:
        if not self._accept("SELECT"):
            raise GaqlError("EXPECTED_SELECT", "SELECT is missing at the beginning of query.")
        fields = [self._field("SELECT")]
        while self._accept(","):
            fields.append(self._field("SELECT"))
        if not self._accept("FROM"):
            raise GaqlError("EXPECTED_FROM", "Missing FROM clause.")
        resource = self._next("FROM")
        if resource != RESOURCE:
            raise GaqlError(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"Invalid resource type was specified in the FROM clause: '{resource}'.",
                resource,
            )
        filters = self._where() if self._accept("WHERE") else []
        if self._accept("ORDER"):
            self._order_by()
        limit = self._limit() if self._accept("LIMIT") else None
        if self._at < len(self._tokens):
            extra = self._tokens[self._at].group().strip()
            raise GaqlError("UNEXPECTED_INPUT", f"Query has an unexpected extra part: {extra}.")
        if "segments.date" in fields and (self._since is None or self._until is None):
            raise GaqlError(
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "A finite date range filter is required when segments.date is selected.",
            )
        if self._since and self._until and self._since > self._until:
            raise GaqlError("DATE_RANGE_TOO_NARROW", "The start date is after the end date.")
        return Query(tuple(fields), self._since, self._until, tuple(filters), limit)

    def _where(self) -> list[tuple[str, str, tuple[str, ...]]]:
        filters: list[tuple[str, str, tuple[str, ...]]] = []
        while True:
            name = self._field("WHERE")
            operator = self._next("WHERE").upper()
            if name == "segments.date":
                self._date_condition(operator)
            elif operator in ("=", "!="):
                filters.append((name, operator, (self._literal(),)))
            elif operator in ("IN", "NOT"):
                if operator == "NOT" and not self._accept("IN"):
                    raise GaqlError("BAD_OPERATOR", "Invalid operator encountered.", operator)
                filters.append((name, "IN" if operator == "IN" else "!=", self._list()))
            else:
                raise GaqlError("BAD_OPERATOR", "Invalid operator encountered.", operator)
            if not self._accept("AND"):
                return filters

    def _date_condition(self, operator: str) -> None:
        if operator == "BETWEEN":
            low = self._date("INVALID_VALUE_WITH_BETWEEN_OPERATOR")
            if not self._accept("AND"):
                raise GaqlError("EXPECTED_AND", "Expected AND between values with BETWEEN.")
            self._narrow(low, self._date("INVALID_VALUE_WITH_BETWEEN_OPERATOR"))
        elif operator == "DURING":
            literal = self._next("DURING")
            if literal not in _DURING:
                raise GaqlError(
                    "INVALID_VALUE_WITH_DURING_OPERATOR",
                    f"The value passed to the DURING operator is not a date range: {literal}.",
                    literal,
                )
            first, last = _DURING[literal]
            self._narrow(self._today - timedelta(first), self._today - timedelta(last))
        elif operator in ("=", ">=", ">", "<=", "<"):
            day = self._date("INVALID_DATE_FORMAT")
            lower = {"=": day, ">=": day, ">": day + timedelta(1)}.get(operator)
            upper = {"=": day, "<=": day, "<": day - timedelta(1)}.get(operator)
            self._narrow(lower, upper)
        else:
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"{operator} does not apply to a date.")

    def _narrow(self, low: date | None, high: date | None) -> None:
        if low is not None:
            self._since = low if self._since is None else max(self._since, low)
        if high is not None:
            self._until = high if self._until is None else min(self._until, high)

    def _order_by(self) -> None:
        if not self._accept("BY"):
            raise GaqlError("EXPECTED_BY", "Expecting ORDER BY to have BY.")
        while True:
            self._field("ORDER BY")
            if not self._accept("ASC"):
                self._accept("DESC")
            if not self._accept(","):
                return

    def _limit(self) -> int:
        value = self._next("LIMIT")
        if not value.isdigit() or int(value) < 1:
            raise GaqlError("BAD_LIMIT_VALUE", f"Limit value is invalid: {value}.", value)
        return int(value)

    def _field(self, clause: str) -> str:
        name = self._next(clause)
        if name not in SELECTABLE:
            raise GaqlError(
                "UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.", name
            )
        return name

    def _date(self, code: str) -> date:
        value = self._literal()
        if not _DATE.match(value):
            raise GaqlError(code, f"Invalid date: '{value}'. Expected 'YYYY-MM-DD'.", value)
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            raise GaqlError(code, f"Invalid date: '{value}'.", value) from error

    def _literal(self) -> str:
        token = self._next("WHERE")
        return token[1:-1] if token[:1] in ("'", '"') else token

    def _list(self) -> tuple[str, ...]:
        if not self._accept("("):
            raise GaqlError("EXPECTED_LIST", "The operator requires a list of values.")
        values = [self._literal()]
        while self._accept(","):
            values.append(self._literal())
        if not self._accept(")"):
            raise GaqlError("EXPECTED_LIST", "The list of values is not closed.")
        return tuple(values)

    def _accept(self, word: str) -> bool:
        if self._at < len(self._tokens) and self._text(self._at).upper() == word:
            self._at += 1
            return True
        return False

    def _next(self, clause: str) -> str:
        if self._at >= len(self._tokens):
            raise GaqlError("UNEXPECTED_END_OF_QUERY", f"Query is incomplete after {clause}.")
        match = self._tokens[self._at]
        if match.group("bad"):
            raise GaqlError("BAD_SYMBOL", f"Invalid symbol: {match.group('bad')}.")
        self._at += 1
        return self._text(self._at - 1)

    def _text(self, index: int) -> str:
        return self._tokens[index].group().strip()
