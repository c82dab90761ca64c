from typing import Any

import pytest
from pydantic import SecretStr

from headwater.errors import RejectedRecord
from headwater.privacy.policy import (
    Action,
    Category,
    CdcPolicy,
    UndeclaredField,
    apply_to_cdc_row,
    clevertap_field,
)
from headwater.privacy.pseudonyms import Pseudonymizer
from headwater.settings import Settings

PSEUDONYMIZE = Pseudonymizer("k" * 32, "k1")


def _row(**columns: Any) -> dict[str, Any]:
    return {
        "source_schema": "public",
        "source_table": "customers",
        "primary_key": ["id"],
        "columns": [
            {"name": n, "sql_type": "int8" if n == "id" else "varchar(80)", "nullable": True,
             "unchanged": False, "value": v}
            for n, v in columns.items()
        ],
    }  # fmt: skip


def _applied(row: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    changed = apply_to_cdc_row(row, CdcPolicy(settings or Settings()), PSEUDONYMIZE)
    return {c["name"]: c for c in changed["columns"]}


def test_keep_passes_a_column_as_it_is() -> None:
    columns = _applied(_row(id=7, city="Pune"))
    assert columns["city"]["value"] == "Pune"
    assert columns["city"]["sql_type"] == "varchar(80)"


def test_hash_replaces_the_value_by_its_pseudonym_as_text() -> None:
    columns = _applied(_row(id=7, email="c7@example.com", phone=None))
    assert columns["email"]["value"] == PSEUDONYMIZE("c7@example.com")
    assert columns["email"]["sql_type"] == "text"  # a varchar(80) could not hold it
    assert columns["phone"]["value"] is None  # NULL stays NULL
    assert columns["phone"]["sql_type"] == "text"


def test_drop_leaves_the_column_out() -> None:
    columns = _applied(_row(id=7, full_name="Zoë Ångström", birth_date=9000))
    assert set(columns) == {"id"}


def test_a_setting_overrides_the_default_per_column() -> None:
    settings = Settings(
        privacy={
            "cdc_columns": {
                "public.customers.email": "keep",
                "public.customers.city": "drop",
                "public.customers.full_name": "hash",
            }
        }
    )
    columns = _applied(_row(id=7, email="c7@example.com", city="Pune", full_name="Zoë"), settings)
    assert columns["email"]["value"] == "c7@example.com"
    assert "city" not in columns
    assert columns["full_name"]["value"] == PSEUDONYMIZE("Zoë")


def test_a_primary_key_column_cannot_be_hashed_or_dropped() -> None:
    settings = Settings(privacy={"cdc_columns": {"public.customers.id": "hash"}})
    with pytest.raises(RejectedRecord, match=r"primary-key column public\.customers\.id"):
        _applied(_row(id=7), settings)


def test_a_column_to_hash_without_a_key_is_refused() -> None:
    with pytest.raises(RejectedRecord, match="is to be hashed: no key"):
        apply_to_cdc_row(_row(id=7, email="a@b.c"), CdcPolicy(Settings()), None)


def test_forget_finds_the_hashed_email_columns() -> None:
    policy = CdcPolicy(Settings(privacy={"cdc_columns": {"shop.users.email_address": "keep"}}))
    assert policy.hashed_columns("public", "customers", Category.EMAIL) == [
        "email",
        "email_address",
    ]
    assert policy.hashed_columns("shop", "users", Category.EMAIL) == ["email"]


def test_the_clevertap_normalizer_reads_only_declared_fields() -> None:
    record = {"profile": {"identity": "301", "email": "c@x.io", "platform": "iOS"}}
    assert clevertap_field(record, "profile.identity", Action.HASH) == "301"
    assert clevertap_field(record, "profile.platform", Action.KEEP) == "iOS"
    with pytest.raises(UndeclaredField):
        clevertap_field(record, "profile.email", Action.KEEP)
    with pytest.raises(UndeclaredField):
        clevertap_field(record, "profile.identity", Action.KEEP)  # declared hash, not keep


def test_the_settings_refuse_an_unknown_action_or_a_bad_column_name() -> None:
    with pytest.raises(ValueError, match="drop"):
        Settings(privacy={"cdc_columns": {"public.customers.email": "encrypt"}})
    with pytest.raises(ValueError, match=r"schema\.table\.column"):
        Settings(privacy={"cdc_columns": {"customers.email": "hash"}})
    assert Settings(privacy={"retired_keys": {"k1": SecretStr("x")}}).privacy.retired_keys
