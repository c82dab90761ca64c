"""Typed builders for Grafana dashboard JSON: PromQL queries, panels, rows and their layout."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

SCHEMA_VERSION = 39
GRID_WIDTH = 24
TAGS = ["headwater"]
DATASOURCE: JSON = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


# --- Queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A PromQL expression and its legend (Grafana's ``{{label}}`` template)."""

    expr: str
    legend: str

    def named(self, prefix: str = "", suffix: str = "") -> Query:
        """The same query with words around its legend."""
        return Query(self.expr, " ".join(p for p in (prefix, self.legend, suffix) if p))


def _legend(labels: Sequence[str]) -> str:
    return " ".join(f"{{{{{label}}}}}" for label in labels)


def rate(metric: str, *labels: str, selector: str = "") -> Query:
    """Per-second rate of a counter, summed by labels."""
    expr = f"sum by ({', '.join(labels)}) (rate({metric}{selector}[{RATE}]))"
    return Query(expr, _legend(labels))


def gauge(metric: str, *labels: str, agg: str = "max") -> Query:
    """A gauge aggregated by labels (dropping ``instance`` and ``service``)."""
    return Query(f"{agg} by ({', '.join(labels)}) ({metric})", _legend(labels))


def quantile(q: float, histogram: str, *labels: str, selector: str = "") -> Query:
    """The q-quantile of a histogram over the rate window, by labels."""
    rates = f"rate({histogram}_bucket{selector}[{RATE}])"
    by = ", ".join((*labels, "le"))
    expr = f"histogram_quantile({q}, sum by ({by}) ({rates}))"
    return Query(expr, _legend(labels))


def p50_p99(histogram: str, *labels: str, selector: str = "") -> list[Query]:
    """The median and 99th percentile of a histogram."""
    return [
        quantile(q, histogram, *labels, selector=selector).named(suffix=f"p{round(q * 100)}")
        for q in (0.5, 0.99)
    ]


def or_zero(query: Query, base: Query) -> Query:
    """``query``, or zero series shaped like ``base`` while ``query`` has none."""
    return Query(f"{query.expr} or (0 * {base.expr})", query.legend)


# --- Panels ----------------------------------------------------------------------------------


def target(query: Query, ref: str, *, table: bool = False) -> JSON:
    """A Prometheus target of a panel."""
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": query.expr,
        "format": "table" if table else "time_series",
        "instant": table,
        "legendFormat": query.legend or "__auto",
        "range": not table,
        "refId": ref,
    }


def _panel(kind: str, title: str, queries: Sequence[Query], w: int, h: int, about: str) -> JSON:
    return {
        "datasource": DATASOURCE,
        "description": about,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},
        "targets": [
            target(q, chr(ord("A") + i), table=kind == "table") for i, q in enumerate(queries)
        ],
        "title": title,
        "type": kind,
    }


def timeseries(
    title: str, unit: str, queries: Sequence[Query], *, w: int = 12, h: int = 8, about: str = ""
) -> JSON:
    """A time series graph."""
    custom = {
        "drawStyle": "line",
        "fillOpacity": 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "none"},
    }
    defaults = {"color": {"mode": "palette-classic"}, "custom": custom, "min": 0, "unit": unit}
    legend = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
    return {
        **_panel("timeseries", title, queries, w, h, about),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def value_mapping(texts: dict[int, tuple[str, str]]) -> list[JSON]:
    """Grafana value mappings: number -> (text, colour)."""
    options = {
        str(value): {"color": color, "index": i, "text": text}
        for i, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [{"options": options, "type": "value"}]


UP_DOWN = value_mapping({0: ("DOWN", "red"), 1: ("UP", "green")})


def stat(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str = "none",
    mappings: list[JSON] | None = None,
    text_mode: str = "value_and_name",
    w: int = 8,
    h: int = 5,
    about: str = "",
) -> JSON:
    """The last value of every series; ``text_mode="name"`` shows only the legend."""
    defaults = {
        "color": {"mode": "thresholds" if mappings else "fixed"},
        "mappings": mappings or [],
        "thresholds": {"mode": "absolute", "steps": [{"color": "blue", "value": None}]},
        "unit": unit,
    }
    return {
        **_panel("stat", title, queries, w, h, about),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "colorMode": "background" if mappings else "none",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
    }


def table(title: str, query: Query, *, hide: Sequence[str], w: int, h: int, about: str) -> JSON:
    """One row per series of an instant query, its labels as columns."""
    return {
        **_panel("table", title, [query], w, h, about),
        "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
        "options": {"cellHeight": "sm", "showHeader": True},
        "transformations": [
            {"id": "organize", "options": {"excludeByName": dict.fromkeys(hide, True)}}
        ],
    }


@dataclass(frozen=True)
class Row:
    """A titled band of panels, laid out left to right and wrapped at the grid's width."""

    title: str
    panels: Sequence[JSON]


def row(title: str, *panels: JSON) -> Row:
    """A row of panels."""
    return Row(title, panels)


def _layout(rows: Sequence[Row]) -> list[JSON]:
    panels: list[JSON] = []
    y = 0
    for band in rows:
        grid = {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}
        panels.append(
            {"collapsed": False, "gridPos": grid, "panels": [], "title": band.title, "type": "row"}
        )
        y += 1
        x, height = 0, 0
        for panel in band.panels:
            w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
            if x + w > GRID_WIDTH:
                x, y, height = 0, y + height, 0
            panels.append({**panel, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
            x, height = x + w, max(height, h)
        y += height
    return [{**panel, "id": number} for number, panel in enumerate(panels, start=1)]


DATASOURCE_VARIABLE: JSON = {
    "current": {},
    "hide": 0,
    "includeAll": False,
    "label": "Data source",
    "multi": False,
    "name": "datasource",
    "options": [],
    "query": "prometheus",
    "refresh": 1,
    "regex": "",
    "type": "datasource",
}


def dashboard(uid: str, title: str, about: str, rows: Sequence[Row]) -> JSON:
    """A provisioned dashboard, its panels numbered and laid out without overlaps."""
    links = {
        "asDropdown": False,
        "icon": "external link",
        "includeVars": True,
        "keepTime": True,
        "tags": TAGS,
        "title": "Headwater",
        "type": "dashboards",
    }
    return {
        "annotations": {"list": []},
        "description": about,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [links],
        "panels": _layout(rows),
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": TAGS,
        "templating": {"list": [DATASOURCE_VARIABLE]},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# --- Reading and writing ---------------------------------------------------------------------


def _panels(panels: Sequence[JSON]) -> Iterator[JSON]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row nests its panels


def panel_queries(dashboard: JSON) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel of a dashboard's JSON."""
    return [
        (panel["title"], query["expr"])
        for panel in _panels(dashboard["panels"])
        for query in panel.get("targets", [])
    ]


def render(dashboard: JSON) -> str:
    """The dashboard as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
