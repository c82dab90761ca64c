import json
import re
from pathlib import Path
from typing import Any

import pytest

from control.dashboards import DATASOURCE, all_dashboards, main, panel_queries, render

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "deploy" / "grafana" / "dashboards"
CATALOGUE = ROOT / "docs" / "observability.md"
DASHBOARDS = all_dashboards()
IDS = [d["uid"] for d in DASHBOARDS]
QUERIES = [(d["uid"], title, expr) for d in DASHBOARDS for title, expr in panel_queries(d)]
ALLOWED_VARIABLES = {"$__rate_interval", "${datasource}"}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that shows data (not the rows), collapsed rows' panels included."""
    found = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def documented_metrics() -> set[str]:
    return set(re.findall(r"`(headwater_[a-z_]+)`", CATALOGUE.read_text()))


def without_strings(expr: str) -> str:
    """The expression with its string literals (label values, regexes) emptied."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def test_committed_json_is_what_the_code_generates() -> None:
    committed = {p.name: p.read_text() for p in COMMITTED.glob("*.json")}
    assert committed == {f"{d['uid']}.json": render(d) for d in DASHBOARDS}, "run: make dashboards"
    assert main(["--check", str(COMMITTED)]) == 0


def test_check_lists_the_files_that_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 0
    (tmp_path / "headwater-sinks.json").write_text("{}\n")
    (tmp_path / "hand-made.json").write_text("{}\n")
    (tmp_path / "headwater-cdc.json").unlink()

    assert main(["--check", str(tmp_path)]) == 1
    listed = capsys.readouterr().err
    for name in ("headwater-sinks.json", "hand-made.json", "headwater-cdc.json"):
        assert name in listed
    assert "headwater-overview.json" not in listed

    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    assert not (tmp_path / "hand-made.json").exists()


def test_panel_queries_reads_the_committed_json() -> None:
    for dashboard in DASHBOARDS:
        loaded = json.loads((COMMITTED / f"{dashboard['uid']}.json").read_text())
        assert panel_queries(loaded) == panel_queries(dashboard)


def test_dashboards_are_the_overview_and_one_per_layer() -> None:
    assert IDS == [
        "headwater-overview",
        "headwater-pollers",
        "headwater-processing",
        "headwater-sinks",
        "headwater-cdc",
    ]
    assert len({d["title"] for d in DASHBOARDS}) == len(DASHBOARDS)
    for dashboard in DASHBOARDS:
        assert dashboard["schemaVersion"] == 39
        assert dashboard["tags"] == ["headwater"]
        assert dashboard["id"] is None  # provisioned: Grafana assigns it


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=IDS)
def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in dashboard["panels"]]
    ids += [p["id"] for row in dashboard["panels"] for p in row.get("panels", [])]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=IDS)
def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert min(grid["w"], grid["h"]) > 0, panel["title"]
        assert min(grid["x"], grid["y"]) >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=IDS)
def test_every_panel_queries_prometheus_through_the_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    for panel in panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        assert panel["fieldConfig"]["defaults"]["unit"], f"{panel['title']} has no unit"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for query in panel["targets"]:
            assert query["datasource"] == DATASOURCE, panel["title"]
            assert query["expr"].strip(), panel["title"]


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=IDS)
def test_only_the_rate_interval_and_datasource_variables(dashboard: dict[str, Any]) -> None:
    used = set(re.findall(r"\$(?:\{\w+\}|\w+)", render(dashboard)))
    assert used <= ALLOWED_VARIABLES


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=IDS)
def test_legends_name_labels_the_query_has(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        for query in panel["targets"]:
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", query["legendFormat"]):
                assert re.search(rf"\b{label}\b", query["expr"]), (panel["title"], label)


@pytest.mark.parametrize(("uid", "title", "expr"), QUERIES)
def test_queries_use_only_catalogued_metrics(uid: str, title: str, expr: str) -> None:
    documented = documented_metrics()
    for name in re.findall(r"headwater_[a-z_]+", without_strings(expr)):
        forms = {name} | {name.removesuffix(s) for s in ("_bucket", "_sum", "_count")}
        assert forms & documented, f"{uid} / {title}: {name} is not in docs/observability.md"


@pytest.mark.parametrize(("uid", "title", "expr"), QUERIES)
def test_queries_have_balanced_brackets(uid: str, title: str, expr: str) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in without_strings(expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack[-1:] == [pairs[char]], f"{uid} / {title}: {expr}"
            stack.pop()
    assert not stack, f"{uid} / {title}: {expr}"
