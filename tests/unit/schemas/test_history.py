"""The schema history: a file per version, named by its fingerprint, appended on a change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema

from schemas import avro_schema, schema_json
from schemas.history import History, HistoryError, current_schemas, fingerprint, main

SAMPLE: dict[str, Any] = {
    "type": "record",
    "name": "Sample",
    "namespace": "headwater.test",
    "fields": [{"name": "id", "type": "string"}],
}


def test_the_fingerprint_is_avros_crc_64_in_single_object_byte_order() -> None:
    # the Avro specification's value for "null": 0x63dd24e7cc258f8a, written little-endian
    assert fingerprint("null") == "8a8f25cce724dd63"


def test_the_fingerprint_is_the_same_written_or_parsed() -> None:
    assert fingerprint(schema_json("norm/cdc_row")) == fingerprint(avro_schema("norm/cdc_row"))


def test_a_version_is_recorded_once_and_named_by_its_fingerprint(tmp_path: Path) -> None:
    history = History(tmp_path)
    text = json.dumps(SAMPLE, indent=2)
    version = history.record("test/sample", text)
    assert version is not None
    assert version.path == tmp_path / "test" / "sample" / f"v1-{fingerprint(SAMPLE)}.avsc"
    assert version.path.read_text() == text
    assert version.full_name == "headwater.test.Sample"
    assert history.record("test/sample", text) is None
    assert history.versions("test/sample") == (version,)


def test_docs_and_defaults_need_no_new_version(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record("test/sample", json.dumps(SAMPLE))
    documented = {**SAMPLE, "doc": "a sample", "fields": [{**SAMPLE["fields"][0], "doc": "its id"}]}
    assert history.record("test/sample", json.dumps(documented)) is None


def test_a_changed_schema_is_the_next_version(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record("test/sample", json.dumps(SAMPLE))
    changed = {**SAMPLE, "fields": [*SAMPLE["fields"], {"name": "n", "type": "long", "default": 0}]}
    version = history.record("test/sample", json.dumps(changed))
    assert version is not None
    assert [v.number for v in history.versions("test/sample")] == [1, 2]
    assert history.versions("test/sample")[-1].fingerprint == fingerprint(parse_schema(changed))
    assert history.records() == ["test/sample"]


def test_a_gap_in_the_numbering_is_refused(tmp_path: Path) -> None:
    history = History(tmp_path)
    version = history.record("test/sample", json.dumps(SAMPLE))
    assert version is not None
    version.path.rename(version.path.with_name(version.path.name.replace("v1-", "v2-")))
    with pytest.raises(HistoryError, match=r"versions \[2\] are not numbered 1..1"):
        history.versions("test/sample")


def test_a_file_not_named_as_a_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test" / "sample").mkdir(parents=True)
    (tmp_path / "test" / "sample" / "latest.avsc").write_text(json.dumps(SAMPLE))
    with pytest.raises(HistoryError, match=r"not named v<N>-<16 hex digit fingerprint>\.avsc"):
        History(tmp_path).versions("test/sample")


def test_every_current_schema_of_the_repository_has_a_history() -> None:
    history = History()
    assert set(current_schemas()) == set(history.records())
    for record, schema in current_schemas().items():
        assert history.versions(record)[-1].fingerprint == fingerprint(schema)


def test_the_command_lists_the_history(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "norm/cdc_row v1 headwater.norm.cdc.CdcRow@1fdeba69cadc06fd" in listed
