"""The demo driver behind ``make demo``: the whole system on this machine, watched live.

Starts the native stack, the sandbox APIs (for sources without real credentials) and a
steady source-database workload; runs the pipeline's process tree (what ``headwater run``
runs, under the same supervisor); redraws per-stage progress every few seconds; at the end
stops the producers, waits (bounded) until the processor and the sinks consumed everything,
stops everything and reconciles every source, counting what nobody consumed as pending.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import psycopg

from control.demo.apis import real_apis, start_sandbox
from control.demo.drain import Backlog, CatchUp, Drained, drain
from control.demo.fence import Fence, place_fence
from control.demo.positions import Positions, sink_offsets
from control.demo.progress import (
    Backfill,
    Pipeline,
    Screen,
    duration,
    services_line,
    stage_lines,
    warehouse_line,
)
from control.demo.reconcile import (
    RangeReader,
    Reconciliation,
    Snapshot,
    reconcile,
    take_snapshot,
)
from control.demo.report import campaign_lines, reconciliation_lines, verdict
from control.demo.secrets import demo_secrets
from control.demo.sources import CDC_SOURCE, demo_sources
from control.demo.warehouse import Warehouse, counted_tables
from control.demo.workload import Workload
from control.pipeline import (
    DEFAULT_BASE_PORT,
    DEFAULT_GROUP_PREFIX,
    configured_pollers,
    pipeline_children,
    run_folder,
    run_setup_step,
    setup_steps,
    shared_environment,
    sink_group,
    step_environment,
)
from control.stack.launcher import Stack
from control.status.scrape import MetricTotals, scrape
from control.supervisor import (
    PrometheusTargets,
    Supervisor,
    endpoint_lines,
    status_lines,
    stop_on_signals,
)
from headwater.errors import ConfigurationError
from headwater.logs import JsonFormatter, scrubber
from headwater.postgres import connect
from headwater.settings import Settings, load_settings
from headwater.topology import sink
from sandbox.source_db import prepare_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """How long, how busy, and where the demo runs."""

    duration_s: float | None = None
    rate: float = 200.0
    base_port: int = DEFAULT_BASE_PORT
    group_prefix: str = DEFAULT_GROUP_PREFIX
    poll_interval_s: float = 30.0
    drain_timeout_s: float = 180.0
    refresh_s: float = 2.0
    customers: int = 1_000
    orders: int = 5_000
    top: int = 10


def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> int:
    """Run the demo to its end; 0 when every source reconciles and no service was given up."""
    saved = dict(os.environ)
    try:
        settings = _prepare_environment(options, out)
        apis, sandbox_environment = start_sandbox(settings)
        try:
            os.environ.update(sandbox_environment)
            settings = load_settings()
            real = real_apis(settings)
            sandboxed = [s.name for s in configured_pollers(settings) if s.name not in real]
            if sandboxed:
                _say(out, f"sandbox APIs serving {', '.join(sandboxed)} in this process")
            return Demo(settings, options, out).run()
        finally:
            if apis is not None:
                apis.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


def _prepare_environment(options: DemoOptions, out: TextIO) -> Settings:
    """Bring the stack up, and set what the demo needs and the user did not."""
    settings = load_settings()
    _say(out, "starting the local stack (Kafka, Connect + Debezium, PostgreSQL, Prometheus)")
    stack = Stack(settings.stack, say=lambda line: _say(out, f"  {line}"), pipeline=settings)
    for status in stack.up():
        _say(out, f"  {status.name:<11} {status.state.value:<9} {status.endpoint}")
    for name, value in stack.environment().items():
        os.environ.setdefault(name, value)
    settings = load_settings()
    schema = source_schema(settings)
    generated = demo_secrets(settings)
    scrubber.add(generated.values())
    os.environ.update(generated)
    os.environ.setdefault("HEADWATER_KPIS__ORDERS_TABLE", f"{schema}.orders")
    # The mirror sink follows this demo's tables, not every norm.cdc.* topic others left.
    os.environ.setdefault("HEADWATER_SINK__CDC_TOPICS", rf"^norm\.cdc\.{re.escape(schema)}\.")
    os.environ.setdefault("HEADWATER_POLLER__INTERVAL_S", f"{options.poll_interval_s:g}")
    return load_settings()


def source_schema(settings: Settings) -> str:
    """The schema of the captured customers and orders tables, which the workload changes."""
    schemas = {table.split(".", 1)[0] for table in settings.cdc.tables}
    tables = {table.split(".", 1)[1] for table in settings.cdc.tables}
    if len(schemas) != 1 or tables != {"customers", "orders"}:
        raise ConfigurationError(
            "HEADWATER_CDC__TABLES",
            "the demo captures <schema>.customers and <schema>.orders (what its workload "
            f"changes), got {settings.cdc.tables}",
        )
    return schemas.pop()


class Demo:
    """One demo run, from the source schema to the closing summary."""

    def __init__(self, settings: Settings, options: DemoOptions, out: TextIO) -> None:
        if settings.source.dsn is None:
            raise ConfigurationError("HEADWATER_SOURCE__DSN", "the demo's workload writes there")
        if settings.warehouse.dsn is None:
            raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "the demo's sinks write there")
        self.settings = settings
        self.options = options
        self.out = out
        self.schema = source_schema(settings)
        self.source_dsn = settings.source.dsn.get_secret_value()
        self.warehouse_dsn = settings.warehouse.dsn.get_secret_value()
        self.run_dir = run_folder(settings.stack)
        self.children = pipeline_children(settings, options.base_port, options.group_prefix)
        self.supervisor = Supervisor(
            self.children,
            self.run_dir,
            environment=shared_environment(os.environ),  # each child's secrets in its spec
            targets=PrometheusTargets(settings.stack),
        )
        self.pollers = [c.name for c in self.children if c.name.startswith("poll-")]
        self.sources = demo_sources(settings, [p.removeprefix("poll-") for p in self.pollers])
        sinks = [c.name.removeprefix("sink-") for c in self.children if c.name.startswith("sink-")]
        self.sinks = {sink: sink_group(options.group_prefix, sink) for sink in sinks}
        self.totals = MetricTotals()
        self.view = Pipeline(self.sources, self.sinks, self._accounts())
        self.backfill = Backfill(self.view)
        self.screen = Screen(out)
        self.workload = Workload(self.source_dsn, options.rate, self.schema)
        self.hurried = threading.Event()
        self.drained: Drained | None = None
        self.fence: Fence | None = None
        self.fence_problem: str | None = None

    def say(self, line: str = "") -> None:
        """A line on the terminal."""
        _say(self.out, line)

    def _accounts(self) -> dict[str, int]:
        return {
            source.name: len(source.accounts or ())
            for source in self.sources
            if source.name != CDC_SOURCE
        }

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> int:
        """Everything, in order; returns the exit status."""
        self.supervisor.check_ports()
        handler = _log_to_file(self.run_dir / "demo.log")
        warehouse = Warehouse(self.warehouse_dsn)
        positions = Positions(self.settings.kafka)
        try:
            self._prepare_source()
            before = take_snapshot(positions, self.sources, self.settings.processor.app_id)
            with stop_on_signals(on_repeat=self._hurry) as stop:
                for step in setup_steps(self.settings):
                    self.say(f"{step.name}:")
                    environment = step_environment(self.settings, step, os.environ)
                    run_setup_step(step, self.run_dir, environment, self.say)
                catch_up = CatchUp(
                    positions,
                    self.sources,
                    before,
                    self.settings.processor.app_id,
                    self._kpi_inputs(),
                    self._sink_topics(),
                    lambda group: sink_offsets(self.warehouse_dsn, group),
                )
                self._run_services(stop, warehouse, catch_up, positions)
            after = take_snapshot(positions, self.sources, self.settings.processor.app_id, before)
            result = self._reconcile(before, after)
            return self._summary(result, warehouse)
        finally:
            self.workload.stop()
            self.supervisor.stop()
            positions.close()
            warehouse.close()
            _stop_logging_to_file(handler)

    def _hurry(self) -> None:
        self.hurried.set()
        self.supervisor.hurry()

    def _prepare_source(self) -> None:
        with connect(self.source_dsn, autocommit=True) as source:
            seeded = prepare_source(
                source, self.schema, self.options.customers, self.options.orders, seed=1
            )
        state = "seeded with" if seeded.seeded else "already holds"
        self.say(
            f"source database: {self.schema}.customers and {self.schema}.orders {state} "
            f"{seeded.customers:,} customers and {seeded.orders:,} orders"
        )

    def _run_services(
        self,
        stop: threading.Event,
        warehouse: Warehouse,
        catch_up: CatchUp,
        positions: Positions,
    ) -> None:
        if stop.is_set():
            return
        self.supervisor.start()
        self.say(f"services (logs in {self.run_dir}), metrics at:")
        for line in endpoint_lines(self.children):
            self.say(line)
        self.say(f"Prometheus scrapes them at {self.settings.prometheus.url}")
        self.workload.start()
        started = time.monotonic()
        deadline = None if self.options.duration_s is None else started + self.options.duration_s
        next_frame = started
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            self.supervisor.step()
            if time.monotonic() >= next_frame:
                self._frame(warehouse, time.monotonic() - started)
                next_frame = time.monotonic() + self.options.refresh_s
            stop.wait(0.2)
        self._drain(warehouse, catch_up, positions, started)

    def _drain(
        self, warehouse: Warehouse, catch_up: CatchUp, positions: Positions, started: float
    ) -> None:
        """Stop the producers, wait until every consumer caught up (bounded), stop the rest."""
        self.workload.stop()
        self._place_fence(catch_up, positions)
        self.supervisor.stop(self.pollers)
        timeout_s = self.options.drain_timeout_s

        def show(backlog: Backlog, elapsed_s: float) -> None:
            self._frame(warehouse, time.monotonic() - started, backlog.line(elapsed_s, timeout_s))

        self.drained = drain(
            catch_up.backlog,
            timeout_s,
            show,
            self.hurried.wait,
            self._drain_cut_short,
            interval_s=self.options.refresh_s,
        )
        if not self.drained.caught_up:
            log.warning("the consumers did not catch up: %s", self.drained.line())
        self._frame(warehouse, time.monotonic() - started, "stopping the services", force=True)
        self.screen.keep()
        self.supervisor.stop()

    def _place_fence(self, catch_up: CatchUp, positions: Positions) -> None:
        """After the workload's last commit: the change that tells when Debezium published all."""
        topic = self.settings.cdc.topic(f"{self.schema}.customers")
        try:
            watch = place_fence(
                positions, RangeReader(self.settings.kafka), self.source_dsn, self.schema, topic
            )
        except psycopg.Error as error:
            self.fence_problem = f"could not write the end-of-run fence: {error}"
            log.warning("could not write the end-of-run fence", exc_info=True)
            return
        if watch is None:
            self.fence_problem = f"no row in {self.schema}.customers to write the fence with"
            return
        self.fence = watch.fence
        catch_up.watch(watch)

    def _drain_cut_short(self) -> str | None:
        """Why waiting for the consumers is pointless, if it is."""
        self.supervisor.step()
        if self.hurried.is_set():
            return "interrupted"
        failed = [status.name for status in self.supervisor.failed()]
        consumers = [name for name in failed if name == "processor" or name.startswith("sink-")]
        if consumers:
            return f"gave up on {', '.join(consumers)}"
        return None

    def _frame(
        self, warehouse: Warehouse, elapsed: float, extra: str = "", force: bool = False
    ) -> None:
        for child in self.children:
            if child.metrics_url is not None:
                samples = scrape(child.metrics_url)
                if samples is not None:
                    self.totals.update(child.name, samples)
        of = f" of {duration(self.options.duration_s)}" if self.options.duration_s else ""
        lines = [
            f"headwater demo · {duration(elapsed)}{of} · {self.workload.describe()}",
            *stage_lines(self.view, self.totals),
            warehouse_line(warehouse.row_counts(counted_tables(self.schema))),
            self.backfill.line(self.totals, elapsed),
            services_line(self.supervisor.status()),
        ]
        if extra:
            lines.append(extra)
        self.screen.draw(lines, force)

    # -- the end ----------------------------------------------------------------------------

    def _reconcile(self, before: Snapshot, after: Snapshot) -> Reconciliation:
        offsets = {
            sink: sink_offsets(self.warehouse_dsn, group) for sink, group in self.sinks.items()
        }
        return reconcile(self.settings.kafka, self.sources, before, after, offsets, self.fence)

    def _summary(self, result: Reconciliation, warehouse: Warehouse) -> int:
        self.say()
        self.say("services at exit:")
        for line in status_lines(self.supervisor.status()):
            self.say(line)
        self.say(self.workload.summary())
        self.say(warehouse_line(warehouse.row_counts(counted_tables(self.schema))))
        if self.drained is not None:
            self.say(self.drained.line())
        self.say()
        for line in reconciliation_lines(result):
            self.say(line)
        self.say()
        for line in campaign_lines(
            warehouse.top_campaigns_by_roas(self.options.top), self.options.top
        ):
            self.say(line)
        self.say()
        problems = []
        if self.supervisor.failed():
            problems.append("gave up on " + ", ".join(s.name for s in self.supervisor.failed()))
        if self.workload.error is not None:
            problems.append(f"the workload failed: {self.workload.error}")
        if self.fence_problem is not None:
            problems.append(
                f"{self.fence_problem}, so whether Debezium published every change is unknown"
            )
        self.say(f"logs: {self.run_dir}")
        last, status = verdict(result, problems)
        self.say(last)
        return status

    def _kpi_inputs(self) -> list[str]:
        from stream_processors.kpis.contributions import contributions_topic

        return sorted(
            {t for s in self.sources for t in s.outputs}
            | {contributions_topic(self.settings.processor.app_id)}
        )

    def _sink_topics(self) -> dict[str, tuple[str, list[str]]]:
        topics: dict[str, tuple[str, list[str]]] = {}
        for name, group in self.sinks.items():
            if name == "cdc":  # the captured tables of this run, not every norm.cdc.* topic
                cdc = [t for s in self.sources if s.name == CDC_SOURCE for t in s.outputs]
                topics[name] = (group, cdc)
            else:
                topics[name] = (group, sink(name).topics(self.settings))
        return topics


def _log_to_file(path: Path) -> logging.Handler:
    """The demo's own log lines go to a file; the terminal shows warnings and worse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter(scrubber))
    root = logging.getLogger()
    for existing in root.handlers:
        existing.setLevel(logging.WARNING)
    root.addHandler(handler)
    return handler


def _stop_logging_to_file(handler: logging.Handler) -> None:
    root = logging.getLogger()
    root.removeHandler(handler)
    handler.close()
    for existing in root.handlers:
        existing.setLevel(logging.NOTSET)
