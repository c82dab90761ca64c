"""``headwater status``: one screen about the running pipeline, from the services' endpoints.

Every service's /metrics is scraped twice, an interval apart (rates and "in the window"
counts are the growth between the two), and its /readyz once (``observe``). Summarising
(``summary``, over ``scrapes``) and rendering (``render``) are pure functions of those
scrapes, so they are tested with canned expositions.
"""

from control.status.observe import (
    Observation,
    Readiness,
    Target,
    observe,
    registered_targets,
    targets_folder,
)
from control.status.render import age, render, size
from control.status.scrapes import bucket_quantile
from control.status.summary import Summary, summarize

__all__ = [
    "Observation",
    "Readiness",
    "Summary",
    "Target",
    "age",
    "bucket_quantile",
    "observe",
    "registered_targets",
    "render",
    "size",
    "summarize",
    "targets_folder",
]
