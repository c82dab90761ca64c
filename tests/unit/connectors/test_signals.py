"""The incremental-snapshot signal, as Debezium 3.x reads it."""

from __future__ import annotations

from connectors.signals import snapshot_signal


def test_a_snapshot_signal_names_the_tables() -> None:
    assert snapshot_signal(["public.orders", "public.customers"]) == {
        "data-collections": ["public.orders", "public.customers"],
        "type": "incremental",
    }


def test_a_condition_becomes_one_additional_condition_per_table() -> None:
    assert snapshot_signal(["public.orders"], "id IN (7, 9)") == {
        "data-collections": ["public.orders"],
        "type": "incremental",
        # plural, a list of objects: Debezium 3.0 removed the singular "additional-condition"
        "additional-conditions": [{"data-collection": "public.orders", "filter": "id IN (7, 9)"}],
    }
