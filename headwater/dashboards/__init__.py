"""Headwater's Grafana dashboards, as code: ``python -m headwater.dashboards [--check] OUT_DIR``.

``grafana`` builds dashboard JSON, ``catalogue`` holds the dashboards, ``cli`` writes them.
"""

from headwater.dashboards.catalogue import all_dashboards
from headwater.dashboards.cli import main
from headwater.dashboards.grafana import DATASOURCE, JSON, panel_queries, render

__all__ = ["DATASOURCE", "JSON", "all_dashboards", "main", "panel_queries", "render"]
