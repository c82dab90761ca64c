"""Headwater's Grafana dashboards, as code: ``python -m control.dashboards [--check] OUT_DIR``.

``grafana`` builds dashboard JSON, ``catalogue`` holds the dashboards, ``cli`` writes them.
"""

from control.dashboards.catalogue import all_dashboards
from control.dashboards.cli import main
from control.dashboards.grafana import DATASOURCE, JSON, panel_queries, render

__all__ = ["DATASOURCE", "JSON", "all_dashboards", "main", "panel_queries", "render"]
