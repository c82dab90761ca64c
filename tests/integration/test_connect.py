"""Kafka Connect: the worker answers and has the Debezium PostgreSQL connector installed."""

from __future__ import annotations

import requests

from control.stack.kafka import DEBEZIUM_POSTGRES
from headwater.settings import Settings


def test_connect_lists_the_debezium_postgres_plugin(settings: Settings) -> None:
    reply = requests.get(f"{settings.connect.url}/connector-plugins", timeout=10)
    reply.raise_for_status()
    plugins = {plugin["class"]: plugin for plugin in reply.json()}
    assert DEBEZIUM_POSTGRES in plugins
    assert plugins[DEBEZIUM_POSTGRES]["type"] == "source"
    assert plugins[DEBEZIUM_POSTGRES]["version"].startswith("3.")


def test_connect_validates_a_debezium_config(settings: Settings) -> None:
    """Connect can load and run the plugin's own config validation."""
    reply = requests.put(
        f"{settings.connect.url}/connector-plugins/PostgresConnector/config/validate",
        json={"connector.class": DEBEZIUM_POSTGRES, "topic.prefix": "cdc"},
        timeout=30,
    )
    reply.raise_for_status()
    result = reply.json()
    assert result["name"] == DEBEZIUM_POSTGRES
    errors = {
        config["value"]["name"]: config["value"]["errors"]
        for config in result["configs"]
        if config.get("value") and config["value"]["errors"]
    }
    # Required and missing: the plugin's own validation really ran.
    assert {"database.hostname", "database.user", "database.dbname"} <= set(errors)
    assert result["error_count"] >= 3
