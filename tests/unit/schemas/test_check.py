"""``python -m schemas.check``: a compatible change passes, a disallowed one is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.check import check, incompatibilities
from schemas.history import History, record_current
from tests.support.avro_samples import SAMPLE, changed

OPTIONAL_COUNTRY = {"name": "country", "type": ["null", "string"], "default": None}


def test_a_compatible_pair_has_no_incompatibility() -> None:
    assert incompatibilities(changed(SAMPLE, country=OPTIONAL_COUNTRY), SAMPLE) == []


@pytest.mark.parametrize(
    ("after", "named"),
    [
        (changed(SAMPLE, country={"name": "country", "type": "string"}),
         "reader_field_missing_default_value at /fields/6: country"),
        (changed(SAMPLE, count={"name": "count", "type": "string"}),
         "type_mismatch at /fields/1/type: reader type: string not compatible with writer "
         "type: int"),
        (changed(SAMPLE, label=None, title={"name": "title", "type": "string"}),
         "reader_field_missing_default_value at /fields/5: title"),
        (changed(SAMPLE, ratio={"name": "ratio", "type": "int"}),
         "type_mismatch at /fields/2/type"),
        (changed(SAMPLE, kind={"name": "kind",
                               "type": {"type": "enum", "name": "Kind", "symbols": ["a"]}}),
         "missing_enum_symbols at /fields/4/type/symbols: {'b'}"),
        (changed(SAMPLE, label={"name": "label", "type": "string"}),
         "reader type: string not compatible with writer type: null"),
        (changed(SAMPLE, at={"name": "at",
                             "type": {"type": "long", "logicalType": "timestamp-millis"}}),
         "logical type at /at: timestamp-micros written, timestamp-millis read"),
        ({**SAMPLE, "name": "Renamed"}, "name_mismatch at /name: expected: headwater.test.Sample"),
    ],
    ids=["add without default", "int to string", "rename without alias", "narrow float to int",
         "remove an enum symbol", "drop a union branch", "another logical type",
         "rename the record"],
)  # fmt: skip
def test_a_disallowed_change_is_named(after: dict[str, Any], named: str) -> None:
    found = incompatibilities(after, SAMPLE)
    assert found, "no incompatibility found"
    assert named in "\n".join(found)


def _tree(root: Path, schema: dict[str, Any]) -> Path:
    """A schemas folder holding ``test/sample.avsc``."""
    (root / "test").mkdir(parents=True, exist_ok=True)
    path = root / "test" / "sample.avsc"
    path.write_text(json.dumps(schema, indent=2))
    return path


def test_a_recorded_compatible_history_passes(tmp_path: Path) -> None:
    _tree(tmp_path, SAMPLE)
    record_current(tmp_path)
    _tree(tmp_path, changed(SAMPLE, country=OPTIONAL_COUNTRY))
    assert [v.number for v in record_current(tmp_path)] == [2]
    assert check(tmp_path) == []


def test_a_change_that_is_not_recorded_fails(tmp_path: Path) -> None:
    _tree(tmp_path, SAMPLE)
    record_current(tmp_path)
    _tree(tmp_path, changed(SAMPLE, country=OPTIONAL_COUNTRY))
    [problem] = check(tmp_path)
    assert problem.startswith("test/sample: the current schema (")
    assert "is not the last recorded version" in problem
    assert "python -m schemas.history record" in problem


def test_a_recorded_incompatible_change_fails(tmp_path: Path) -> None:
    _tree(tmp_path, SAMPLE)
    record_current(tmp_path)
    _tree(tmp_path, changed(SAMPLE, count={"name": "count", "type": "string"}))
    record_current(tmp_path)
    [problem] = check(tmp_path)
    first = History(tmp_path / "history").versions("test/sample")[0]
    assert problem.startswith(f"test/sample: cannot read v1 ({first.fingerprint}): type_mismatch")


def test_a_logical_type_changed_under_the_same_encoding_fails(tmp_path: Path) -> None:
    """The fingerprint does not see logical types: the history cannot tell the versions
    apart, so the check compares the current schema with the recorded one."""
    _tree(tmp_path, SAMPLE)
    record_current(tmp_path)
    _tree(tmp_path, changed(SAMPLE, at={"name": "at", "type": "long"}))
    assert record_current(tmp_path) == []
    [problem] = check(tmp_path)
    assert "logical type at /at: timestamp-micros written, none read" in problem


def test_an_edited_recorded_version_fails(tmp_path: Path) -> None:
    _tree(tmp_path, SAMPLE)
    [version] = record_current(tmp_path)
    version.path.write_text(json.dumps(changed(SAMPLE, count={"name": "count", "type": "long"})))
    [problem] = check(tmp_path)
    assert "a recorded version was edited" in problem


def test_the_repository_schemas_pass() -> None:
    assert check() == []
