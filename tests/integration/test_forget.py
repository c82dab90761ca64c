"""The PII policy and the right to erasure, on the real broker and warehouse.

A person's CleverTap events (one pseudonymised before a key rotation, two after) and their
customer row go through the real normalizers and sinks: the mirror holds the pseudonym of
their email, never the email, and neither table holds their email or phone. Then
``headwater forget --email`` removes their rows and nobody else's, tombstones their keys on
the compacted topics, records the request without the email, leaves the KPIs reconciling
with the base tables (plus the tally of what was erased), and does nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.kafka.clients import make_admin
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.raw import clevertap_key
from headwater.settings import Settings
from headwater.topology import NORM_EVENTS, norm_cdc_topic
from schemas import avro_schema
from sinks.ads import ads_writer
from sinks.cdc.mirror import MirrorWriter
from sinks.ddl import table_exists
from sinks.events import events_writer
from sinks.kpis import kpis_writer
from stream_processors.cdc.stage import transform
from stream_processors.events.normalize import clevertap
from stream_processors.output import Output
from stream_processors.topics import processor_topics
from tests.support.debezium import envelope
from tests.support.kafka_io import Record, read_all
from tests.support.kpi_reference import kpi_differences
from tests.support.services import headwater_with
from tests.support.sink_positions import topic_ends
from tests.support.sink_run import sink_run

OLD_KEY, NEW_KEY = secrets.token_hex(32), secrets.token_hex(32)
DAY = "2026-11-20"
FIELDS = [
    {"type": "int64", "optional": False, "field": "id"},
    {"type": "string", "optional": False, "field": "email"},
    {"type": "string", "optional": False, "field": "full_name"},
    {"type": "string", "optional": True, "field": "phone"},
]


@dataclass
class Person:
    customer_id: int
    email: str
    phone: str
    name: str


@dataclass
class Case:
    settings: Settings
    env: dict[str, str]
    schema: str
    campaign: str
    dsn: str
    forgotten: Person
    kept: Person
    forgotten_events: list[bytes]
    kept_events: list[bytes]

    @property
    def customers_topic(self) -> str:
        return norm_cdc_topic(self.schema, "customers")

    @property
    def orders_mirror(self) -> str:
        return f'"{self.schema}".src_orders'


def _with_key(settings: Settings, key: str, key_id: str) -> Settings:
    processor = settings.processor.model_copy(
        update={"pseudonymization_key": SecretStr(key), "pseudonymization_key_id": key_id}
    )
    return settings.model_copy(update={"processor": processor})


def _clevertap_event(
    settings: Settings, person: Person, name: str, campaign: str, n: int
) -> Output:
    record = {
        "profile": {
            "identity": person.email,
            "email": person.email,
            "phone": person.phone,
            "name": person.name,
            "platform": "Android",
        },
        "ts": 20261120101500 + n,
        "event_props": {"campaign_id": campaign, "Delivery Address": f"{n} MG Road"},
    }
    raw = {
        "source": "clevertap",
        "stream": "events",
        "account": "W8R",
        "payload": record,
        "fetched_at": "2026-11-21T00:00:00+00:00",
        "request": {"event_name": name},
    }
    key = clevertap_key(name, hashlib.sha256(f"{campaign}-{n}".encode()).hexdigest()[:32]).encode()
    [output] = clevertap(settings)("raw.clevertap.events", key, json.dumps(raw).encode())
    return output


def _customer_changes(settings: Settings, schema: str, people: list[Person]) -> list[Output]:
    outputs: list[Output] = []
    for lsn, person in enumerate(people, start=100):
        row = {"id": person.customer_id, "email": person.email, "full_name": person.name,
               "phone": person.phone}  # fmt: skip
        key, value = envelope("c", after=row, schema=schema, table="customers", fields=FIELDS,
                              lsn=lsn)  # fmt: skip
        outputs += transform(settings)(settings.cdc.topic(f"{schema}.customers"), key, value)
    return outputs


def _kpi_row(campaign: str) -> Record:
    schema = avro_schema("metrics/campaign_kpis_daily")
    zero = {"impressions": 0, "clicks": 0, "spend": "0", "conversions": "0", "orders": 0,
            "revenue": "0"}  # fmt: skip
    nulls = ("account_currency", "spend_account_currency", "ctr", "cpc", "cpm", "cpi",
             "cost_per_order", "roas", "conversion_rate")  # fmt: skip
    row = {"date": DAY, "platform": "facebook", "campaign_id": campaign, "currency": "EUR",
           "installs": 2, "signups": 1, "purchases": 1,
           "updated_at": datetime.now(UTC)} | zero | dict.fromkeys(nulls)  # fmt: skip
    key = json.dumps([DAY, "facebook", campaign]).encode()
    return key, encode(schema, row), [(SCHEMA_HEADER, schema_id(schema))]


def _records(outputs: list[Output]) -> list[Record]:
    return [(o.key, o.value, o.headers) for o in outputs]


@pytest.fixture
def case(settings: Settings, stack_env: dict[str, str]) -> Iterator[Case]:
    tag = uuid.uuid4().hex[:8]
    schema, campaign = f"forget_{tag}", f"forget{tag}"
    cdc = settings.cdc.model_copy(update={"tables": [f"{schema}.customers"]})
    base = settings.model_copy(update={"cdc": cdc})
    old, new = _with_key(base, OLD_KEY, "k1"), _with_key(base, NEW_KEY, "k2")
    new = new.model_copy(
        update={
            "privacy": new.privacy.model_copy(update={"retired_keys": {"k1": SecretStr(OLD_KEY)}})
        }
    )
    forgotten = Person(1, f"asha.{tag}@example.com", "+91 94209 11339", f"Asha {tag}")
    kept = Person(2, f"ravi.{tag}@example.com", "+91 98450 22110", f"Ravi {tag}")
    events = [
        _clevertap_event(old, forgotten, "App Installed", f"fb-{campaign}", 1),  # before rotation
        _clevertap_event(new, forgotten, "Sign Up", f"fb-{campaign}", 2),
        _clevertap_event(new, forgotten, "Charged", f"fb-{campaign}", 3),
        _clevertap_event(new, kept, "App Installed", f"fb-{campaign}", 4),
    ]
    assert settings.warehouse.dsn is not None
    dsn = settings.warehouse.dsn.get_secret_value()
    admin = make_admin(settings.kafka)
    # the processor makes norm.app.events; on a fresh cluster no processor ran yet
    norm_events = [spec for spec in processor_topics(settings) if spec.name == NORM_EVENTS]
    ensure_topics(
        admin, [TopicSpec.compacted(norm_cdc_topic(schema, "customers"), 3, 1), *norm_events]
    )
    env = stack_env | {
        "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": NEW_KEY,
        "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY_ID": "k2",
        "HEADWATER_PRIVACY__RETIRED_KEYS": json.dumps({"k1": OLD_KEY}),
        "HEADWATER_CDC__TABLES": json.dumps([f"{schema}.customers"]),
    }
    one = Case(new, env, schema, campaign, dsn, forgotten, kept,
               [e.key for e in events[:3]], [events[3].key])  # fmt: skip
    try:
        with psycopg.connect(dsn, autocommit=True) as warehouse:
            ads_writer(new).prepare(warehouse)  # the KPI reference reads it
            warehouse.execute(f'CREATE SCHEMA "{schema}"')
            warehouse.execute(
                f"CREATE TABLE {one.orders_mirror} (created_at timestamptz, campaign_id text, "
                "status text, amount numeric, currency text)"
            )
        with sink_run(settings, "forgetevents") as run:
            assert run.run(events_writer(new), _records(events)) == {}
        with sink_run(settings, "forgetmirror") as run:
            changes = _customer_changes(new, schema, [forgotten, kept])
            assert run.run(MirrorWriter(new), _records(changes)) == {}
        with sink_run(settings, "forgetkpis") as run:
            assert run.run(kpis_writer(new), [_kpi_row(campaign)]) == {}
        yield one
    finally:
        admin.delete_topics([one.customers_topic], operation_timeout=30)
        with psycopg.connect(dsn, autocommit=True) as warehouse:
            keys = [k.decode() for k in one.forgotten_events + one.kept_events]
            warehouse.execute("DELETE FROM app_events WHERE event_id = ANY(%s)", (keys,))
            warehouse.execute("DELETE FROM campaign_kpis_daily WHERE campaign_id = %s", (campaign,))
            if table_exists(warehouse, "headwater", "privacy_erased_events"):  # forget ran
                warehouse.execute(
                    "DELETE FROM headwater.privacy_erased_events WHERE campaign_id = %s",
                    (f"fb-{campaign}",),
                )
                warehouse.execute(
                    "DELETE FROM headwater.privacy_erasures WHERE pseudonym = %s",
                    (Pseudonymizer(NEW_KEY, "k2")(forgotten.email),),
                )
            warehouse.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            warehouse.execute(f'DROP TABLE IF EXISTS headwater."deleted_{schema}__customers"')


def _forget(case: Case) -> str:
    done = headwater_with("forget", "--email", case.forgotten.email, env=case.env)
    assert done.returncode == 0, f"forget:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _event_rows(case: Case, keys: list[bytes]) -> list[tuple[Any, ...]]:
    with psycopg.connect(case.dsn) as warehouse:
        return warehouse.execute(
            "SELECT event_id, user_key, t::text FROM app_events t WHERE event_id = ANY(%s) "
            "ORDER BY occurred_at",
            ([k.decode() for k in keys],),
        ).fetchall()


def _customers(case: Case) -> dict[int, dict[str, Any]]:
    with psycopg.connect(case.dsn) as warehouse:
        rows = warehouse.execute(
            f'SELECT to_jsonb(t) FROM "{case.schema}".src_customers t'
        ).fetchall()
    return {int(row[0]["id"]): row[0] for row in rows}


def _audits(case: Case, pseudonym: str) -> list[tuple[Any, ...]]:
    """The requests recorded for a pseudonym, oldest first, with each row as text."""
    with psycopg.connect(case.dsn) as warehouse:
        return warehouse.execute(
            "SELECT kind, key_ids, deleted, tombstones, t::text "
            "FROM headwater.privacy_erasures t WHERE pseudonym = %s ORDER BY id",
            (pseudonym,),
        ).fetchall()


def _tombstone_keys(case: Case, topic: str, ends: dict[tuple[str, int], int]) -> set[bytes]:
    partitions = len({p for t, p in ends if t == topic})
    start = {p: end for (t, p), end in ends.items() if t == topic}
    messages = read_all(case.settings, topic, partitions, start)
    return {m.key() for m in messages if m.value() is None and m.key() is not None}


def test_personal_data_lands_hashed_and_forget_erases_a_person(case: Case) -> None:
    people = (case.forgotten, case.kept)
    new, old = Pseudonymizer(NEW_KEY, "k2"), Pseudonymizer(OLD_KEY, "k1")
    # The policy: the mirror has the email's pseudonym, no name; nothing has email or phone.
    customers = _customers(case)
    assert customers[1]["email"] == new(case.forgotten.email)
    assert customers[2]["phone"] == new(case.kept.phone)
    assert "full_name" not in customers[1]
    rows = _event_rows(case, case.forgotten_events + case.kept_events)
    texts = [json.dumps(c) for c in customers.values()] + [row[2] for row in rows]
    for person in people:
        for personal in (person.email, person.phone, person.name, "MG Road"):
            assert not any(personal in text for text in texts), personal
    # The rotation: the event before it under k1, those after under k2.
    assert [row[1] for row in rows[:3]] == [old(case.forgotten.email)] + 2 * [
        new(case.forgotten.email)
    ]
    campaigns = {case.campaign}
    assert kpi_differences(case.dsn, case.orders_mirror, campaigns) == []

    topics = [NORM_EVENTS, case.customers_topic]
    ends = {tp: end for topic in topics for tp, end in topic_ends(case.settings, topic).items()}
    out = _forget(case)
    assert "deleted 3 rows from app_events" in out
    assert f"deleted 1 rows from {case.schema}.src_customers" in out

    assert _event_rows(case, case.forgotten_events) == []
    assert [row[0] for row in _event_rows(case, case.kept_events)] == [
        k.decode() for k in case.kept_events
    ]
    assert set(_customers(case)) == {2}
    assert _tombstone_keys(case, NORM_EVENTS, ends) >= set(case.forgotten_events)
    assert _tombstone_keys(case, case.customers_topic, ends) == {b'{"id":1}'}
    with psycopg.connect(case.dsn) as warehouse:
        resurrect_guard = warehouse.execute(
            f'SELECT count(*) FROM headwater."deleted_{case.schema}__customers" WHERE id = 1'
        ).fetchone()
    [(kind, key_ids, deleted, tombstones, text)] = _audits(case, new(case.forgotten.email))
    assert (kind, key_ids) == ("email", ["k2", "k1"])
    assert deleted == {"app_events": 3, f"{case.schema}.src_customers": 1}
    assert tombstones == {NORM_EVENTS: 3, case.customers_topic: 1}
    assert case.forgotten.email not in text
    assert resurrect_guard == (1,)
    # KPIs keep the erased events (aggregates), and reconcile through the erasure's tally:
    assert kpi_differences(case.dsn, case.orders_mirror, campaigns) == []
    assert kpi_differences(case.dsn, case.orders_mirror, campaigns, with_erased=False) != []

    # Idempotent: the second request finds nothing, deletes nothing, and is recorded.
    again = _forget(case)
    assert re.search(r"deleted 0 rows from app_events", again)
    first, second = _audits(case, new(case.forgotten.email))
    assert first[2]["app_events"] == 3
    assert second[2:4] == ({"app_events": 0, f"{case.schema}.src_customers": 0},
                           {NORM_EVENTS: 0, case.customers_topic: 0})  # fmt: skip
    assert [row[0] for row in _event_rows(case, case.kept_events)] != []
    assert kpi_differences(case.dsn, case.orders_mirror, campaigns) == []
