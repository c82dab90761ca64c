"""The policy per personal field: drop it, keep a keyed hash of it, or keep it.

Declared here, once: for CleverTap events (:data:`CLEVERTAP_FIELDS`, fixed: the normalized
record has no place for anything else) and for captured CDC columns (:data:`CDC_COLUMNS`,
defaults by column name, overridden per ``schema.table.column`` with
``HEADWATER_PRIVACY__CDC_COLUMNS``). The processor applies it before anything reaches a
``norm.*`` topic; ``headwater forget`` reads it to know where a person's pseudonyms are;
the topic setup reads it to shorten the retention of raw topics holding personal data.
``docs/privacy.md`` is the reader's version of these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from headwater.errors import RejectedRecord, Terminal
from headwater.settings import Settings


class Action(StrEnum):
    """What the processor does with a field."""

    DROP = "drop"  # never leaves the processor
    HASH = "hash"  # replaced by its pseudonym (headwater.privacy.pseudonyms), as text
    KEEP = "keep"  # passes as it is: not personal


class Category(StrEnum):
    """What kind of personal data a field holds (``headwater forget --email`` looks for
    the pseudonym of the address in the hashed columns of category ``email``)."""

    IDENTITY = "identity"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"
    ADDRESS = "address"
    IP = "ip"
    BIRTH_DATE = "birth_date"


#: CleverTap export fields (``profile.*``, ``event_props.*``) the normalizer may read, and
#: how. Every other field, in the profile or among the event properties, is dropped.
CLEVERTAP_FIELDS: Final[Mapping[str, Action]] = {
    "profile.identity": Action.HASH,
    "profile.objectId": Action.HASH,
    "profile.platform": Action.KEEP,
    "event_props.utm_source": Action.KEEP,
    "event_props.utm_campaign": Action.KEEP,
    "event_props.campaign_id": Action.KEEP,
    "event_props.Amount": Action.KEEP,
    "event_props.Currency": Action.KEEP,
    # named for the reader: dropped like every field not listed
    "profile.email": Action.DROP,
    "profile.phone": Action.DROP,
    "profile.name": Action.DROP,
    "event_props.*": Action.DROP,
}


@dataclass(frozen=True)
class ColumnRule:
    """The default for a captured column of this name, in any table."""

    category: Category
    action: Action


#: Captured columns that hold personal data, by name, in whatever table they appear.
CDC_COLUMNS: Final[Mapping[str, ColumnRule]] = {
    "email": ColumnRule(Category.EMAIL, Action.HASH),
    "email_address": ColumnRule(Category.EMAIL, Action.HASH),
    "phone": ColumnRule(Category.PHONE, Action.HASH),
    "phone_number": ColumnRule(Category.PHONE, Action.HASH),
    "mobile": ColumnRule(Category.PHONE, Action.HASH),
    "full_name": ColumnRule(Category.NAME, Action.DROP),
    "first_name": ColumnRule(Category.NAME, Action.DROP),
    "last_name": ColumnRule(Category.NAME, Action.DROP),
    "address": ColumnRule(Category.ADDRESS, Action.DROP),
    "street_address": ColumnRule(Category.ADDRESS, Action.DROP),
    "address_line1": ColumnRule(Category.ADDRESS, Action.DROP),
    "address_line2": ColumnRule(Category.ADDRESS, Action.DROP),
    "ip": ColumnRule(Category.IP, Action.DROP),
    "ip_address": ColumnRule(Category.IP, Action.DROP),
    "birth_date": ColumnRule(Category.BIRTH_DATE, Action.DROP),
}


class UndeclaredField(Terminal):
    """The normalizer read a field the policy does not let it read: a bug to fix here first."""


def clevertap_field(record: Mapping[str, Any], path: str, action: Action) -> Any:
    """The value at ``object.field`` of a CleverTap record, read for ``action`` (which must be
    what :data:`CLEVERTAP_FIELDS` declares for it)."""
    if CLEVERTAP_FIELDS.get(path) is not action or action is Action.DROP:
        raise UndeclaredField(f"{path} is not declared {action} in CLEVERTAP_FIELDS")
    name, _, field = path.partition(".")
    container = record.get(name)
    return container.get(field) if isinstance(container, Mapping) else None


class CdcPolicy:
    """The action for each captured column: the override, the default by name, or keep."""

    def __init__(self, settings: Settings) -> None:
        self._overrides = {
            name: Action(action) for name, action in settings.privacy.cdc_columns.items()
        }

    def action(self, schema: str, table: str, column: str) -> Action:
        """What the processor does with this column of this table."""
        override = self._overrides.get(f"{schema}.{table}.{column}")
        if override is not None:
            return override
        rule = CDC_COLUMNS.get(column)
        return rule.action if rule is not None else Action.KEEP

    def hashed_columns(self, schema: str, table: str, category: Category) -> list[str]:
        """The columns of a table that hold the pseudonym of a value of ``category``
        (defaults by name, and overrides to ``hash`` of a column of that name)."""
        names = {name for name, rule in CDC_COLUMNS.items() if rule.category is category}
        names |= {
            name.rsplit(".", 1)[1]
            for name in self._overrides
            if name.startswith(f"{schema}.{table}.") and name.rsplit(".", 1)[1] in names
        }
        return sorted(n for n in names if self.action(schema, table, n) is Action.HASH)

    def candidates(self, schema: str, table: str) -> list[str]:
        """The names of the columns of a table the policy may not keep as they are."""
        names = set(CDC_COLUMNS)
        names |= {
            n.rsplit(".", 1)[1] for n in self._overrides if n.startswith(f"{schema}.{table}.")
        }
        return sorted(n for n in names if self.action(schema, table, n) is not Action.KEEP)


def apply_to_cdc_row(
    record: dict[str, Any], policy: CdcPolicy, pseudonymize: Callable[[str], str] | None
) -> dict[str, Any]:
    """A ``CdcRow`` with the policy applied to its columns: dropped ones left out, hashed
    ones replaced by their pseudonym (type ``text``). ``pseudonymize`` is a
    :class:`~headwater.privacy.pseudonyms.Pseudonymizer`; without one, a record with a column
    to hash is refused."""
    schema, table = record["source_schema"], record["source_table"]
    columns = []
    for column in record["columns"]:
        action = policy.action(schema, table, column["name"])
        if action is Action.KEEP:
            columns.append(column)
            continue
        if column["name"] in record["primary_key"]:
            raise RejectedRecord(
                f"primary-key column {schema}.{table}.{column['name']} cannot be {action}ed: "
                "the mirror could not find its row"
            )
        if action is Action.HASH:
            if pseudonymize is None:
                raise RejectedRecord(f"{schema}.{table}.{column['name']} is to be hashed: no key")
            columns.append(_hashed(column, pseudonymize))
    return {**record, "columns": columns}


def _hashed(column: dict[str, Any], pseudonymize: Callable[[str], str]) -> dict[str, Any]:
    value = column["value"]
    if value is not None:
        text = value.hex() if isinstance(value, bytes) else str(value)
        value = pseudonymize(text)
    return {**column, "sql_type": "text", "value": value}
