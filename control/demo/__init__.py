"""``headwater demo``: the whole system on one machine, with live progress and a reconciliation.

The driver (:mod:`control.demo.driver`) starts the native stack, the sandbox APIs and the
source-database workload, supervises the pipeline's services (the tree of ``headwater run``),
shows what flows where every few seconds, and at the end reconciles every source from what
Kafka and the warehouse hold (:mod:`control.demo.reconcile`).
"""

from __future__ import annotations

from control.demo.driver import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
