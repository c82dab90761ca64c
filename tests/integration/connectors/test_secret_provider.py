"""The connector's password reaches Debezium through the worker's config provider only:
neither Connect's REST API nor any record of its config, offset or status topics holds it,
and changes still stream."""

from __future__ import annotations

from connectors.client import ConnectClient
from connectors.debezium_postgres import password_file
from connectors.deployment import apply_connector
from connectors.source_setup import setup_source
from tests.integration.connectors.conftest import CdcSandbox
from tests.support.kafka_io import read_topic
from tests.support.private_connect import PrivateConnect


def test_password_is_a_provider_reference_and_cdc_streams(
    sandbox: CdcSandbox, own_connect: PrivateConnect
) -> None:
    settings = own_connect.settings(sandbox.settings("customers", "orders"))
    client = sandbox.client = ConnectClient(own_connect.url)
    setup_source(settings)
    try:
        result = apply_connector(settings, client)
        assert result.action == "created"
        assert result.status.running

        secret = own_connect.secrets_dir / password_file(settings.cdc)
        assert secret.read_text() == sandbox.password
        assert secret.stat().st_mode & 0o077 == 0  # owner-only
        deployed = client.get_config(settings.cdc.connector_name)
        assert deployed is not None
        assert deployed["database.password"] == f"${{dir:{own_connect.secrets_dir}:{secret.name}}}"
        assert sandbox.password not in str(deployed)

        sandbox.sql("INSERT INTO {schema}.customers VALUES (4, 'Dee', 'dee@example.com')")
        records = sandbox.consume(
            [sandbox.topic("customers")],
            lambda records: any(r.key == {"id": 4} for r in records),
            what="the new customer streamed through the connector",
        )
        assert {r.key["id"] for r in records if r.key} == {1, 2, 3, 4}

        searched = 0
        for topic in own_connect.topics:
            for message in read_topic(settings, topic):
                searched += 1
                raw = (message.key() or b"") + (message.value() or b"")
                raw += b"".join(value or b"" for _, value in message.headers() or [])
                assert sandbox.password.encode() not in raw, topic
        assert searched > 0
    finally:
        sandbox.cleanup(settings)


def test_a_changed_password_restarts_the_unchanged_connector(
    sandbox: CdcSandbox, own_connect: PrivateConnect
) -> None:
    first = own_connect.settings(sandbox.settings("customers"))
    client = sandbox.client = ConnectClient(own_connect.url)
    setup_source(first)
    try:
        assert apply_connector(first, client).action == "created"
        sandbox.password = f"{sandbox.password}-rotated"
        rotated = own_connect.settings(sandbox.settings("customers"))
        setup_source(rotated)  # the role's password changes with the setting
        result = apply_connector(rotated, client)
        assert result.action == "restarted"
        assert result.status.running
        assert (own_connect.secrets_dir / password_file(rotated.cdc)).read_text() == (
            sandbox.password
        )
        sandbox.sql("INSERT INTO {schema}.customers VALUES (5, 'Eve', NULL)")
        sandbox.consume(
            [sandbox.topic("customers")],
            lambda records: any(r.key == {"id": 5} for r in records),
            what="a change streamed with the rotated password",
        )
    finally:
        sandbox.cleanup(first)
