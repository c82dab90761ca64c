"""The CDC metrics read from the real Kafka Connect and the real source database."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from connectors.deployment import apply_connector
from connectors.monitor import STATES, CdcCollector
from connectors.source_setup import setup_source
from tests.conftest import wait_for
from tests.integration.connectors.conftest import CdcSandbox


def _collector(sandbox: CdcSandbox, connector: str, dsn: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(CdcCollector(sandbox.client, connector, dsn, sandbox.tag))
    return registry


def _states(registry: CollectorRegistry, connector: str) -> dict[str, float | None]:
    return {
        state: registry.get_sample_value(
            "headwater_cdc_connector_state", {"connector": connector, "state": state}
        )
        for state in STATES
    }


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_connector_state_and_slot_lag_follow_a_stop_and_a_resume(sandbox: CdcSandbox) -> None:
    settings = sandbox.settings("customers", "orders")
    setup_source(settings)
    apply_connector(settings, sandbox.client)
    name, slot = settings.cdc.connector_name, sandbox.tag
    registry = _collector(sandbox, name, sandbox.admin_dsn)

    states = wait_for(
        lambda: (s := _states(registry, name))["RUNNING"] == 1.0 and s,
        what="the running connector exported as RUNNING",
    )
    assert sum(v or 0.0 for v in states.values()) == 1.0, states
    task = {"connector": name, "task": "0", "state": "RUNNING"}
    assert _value(registry, "headwater_cdc_task_state", **task) == 1.0
    assert _value(registry, "headwater_cdc_connect_up") == 1.0
    assert _value(registry, "headwater_cdc_source_up") == 1.0
    assert _value(registry, "headwater_cdc_replication_slot_active", slot=slot) == 1.0

    sandbox.client.stop(name)
    wait_for(lambda: _states(registry, name)["STOPPED"] == 1.0, what="STOPPED exported")
    assert _states(registry, name)["RUNNING"] == 0.0
    wait_for(
        lambda: _value(registry, "headwater_cdc_replication_slot_active", slot=slot) == 0.0,
        what="the slot released by the stopped connector",
    )
    retained_before = _value(registry, "headwater_cdc_replication_slot_lag_bytes", slot=slot)
    assert retained_before is not None
    sandbox.sql(
        "INSERT INTO {schema}.customers SELECT g, 'filler ' || g, repeat('x', 500) "
        "FROM generate_series(1000, 3000) g"
    )
    retained_after = _value(registry, "headwater_cdc_replication_slot_lag_bytes", slot=slot)
    assert retained_after is not None
    assert retained_after > retained_before + 500 * 2000, "the stopped slot keeps the new WAL"

    sandbox.client.resume(name)
    wait_for(lambda: _states(registry, name)["RUNNING"] == 1.0, what="RUNNING again")
    wait_for(
        lambda: (
            (
                _value(registry, "headwater_cdc_replication_slot_confirmed_lag_bytes", slot=slot)
                or float("inf")
            )
            < retained_after
        ),
        timeout_s=60,
        what="the resumed connector confirming the WAL it kept",
    )


def test_a_missing_connector_and_an_unreachable_database_are_exported_as_such(
    sandbox: CdcSandbox,
) -> None:
    name = f"missing-{sandbox.tag}"
    registry = _collector(sandbox, name, "postgresql://nobody@127.0.0.1:1/none")
    states = _states(registry, name)
    assert states["NOT_FOUND"] == 1.0
    assert sum(v or 0.0 for v in states.values()) == 1.0
    assert _value(registry, "headwater_cdc_connect_up") == 1.0
    assert _value(registry, "headwater_cdc_source_up") == 0.0
    assert _value(registry, "headwater_cdc_replication_slot_active", slot=sandbox.tag) is None
