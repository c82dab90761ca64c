"""Headwater's control plane: what an operator runs and watches the pipeline with.

The ``headwater`` command (``cli/``), the native local stack (``stack/``), the process
supervisor (``supervisor/``) and the services ``headwater run`` starts (``pipeline.py``),
``headwater status`` (``status/``), ``headwater demo`` (``demo/``), the Grafana dashboards
(``dashboards/``) and the README's settings table (``settings_reference.py``).

It sits above the data plane (``producers``, ``connectors``, ``stream_processors``,
``sinks``) and the shared core (``headwater``); nothing below imports it
(``docs/architecture.md``, checked by ``make lint``).
"""
