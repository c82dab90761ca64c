"""The compiled fast path against the reference normalizer, on real Debezium envelopes.

``corpus/envelopes.jsonl`` holds records a real Debezium 3.6 PostgreSQL connector wrote on
the local stack (every column type the mirror supports, unchanged TOAST values, a
primary-key change, deletes and their tombstones, truncates, a composite key), synthetic
envelopes from ``tests/support/debezium.py``, and rejects made by corrupting real ones; with
the outputs (or the rejection reason) the normalizer gave for each when it was captured.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from headwater.errors import RejectedRecord
from stream_processors.cdc.compiled import CompiledNormalizer
from stream_processors.cdc.normalize import normalize, normalize_reference
from stream_processors.output import Output

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "corpus" / "envelopes.jsonl").read_text().splitlines()
]


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _as_json(outputs: list[Output]) -> list[dict[str, Any]]:
    def text(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode()

    return [
        {
            "topic": o.topic,
            "key": text(o.key),
            "value": text(o.value),
            "headers": [[name, text(value)] for name, value in o.headers],
        }
        for o in outputs
    ]


def _outcome(function: Any, key: bytes | None, value: bytes | None) -> Any:
    try:
        return _as_json(function(key, value))
    except RejectedRecord as rejected:
        return rejected.reason


def test_the_corpus_covers_what_it_claims() -> None:
    cases = [case["case"] for case in CORPUS]
    assert sum(case.startswith("debezium") for case in cases) >= 15
    assert sum(case.startswith("reject") for case in cases) >= 8
    real = [c for c in CORPUS if c["case"].startswith("debezium") and c["value"] is not None]
    ops = {json.loads(_bytes(c["value"]) or b"")["payload"]["op"] for c in real}
    assert {"c", "u", "d", "t"} <= ops


@pytest.mark.parametrize("case", CORPUS, ids=[c["case"] for c in CORPUS])
def test_fast_and_reference_paths_give_the_captured_outputs(case: dict[str, Any]) -> None:
    key, value = _bytes(case["key"]), _bytes(case["value"])
    expected = case.get("rejected", case.get("outputs"))
    assert _outcome(normalize_reference, key, value) == expected
    assert _outcome(normalize, key, value) == expected
    # a second pass runs from the learned schema prefix, not the first-record path
    assert _outcome(normalize, key, value) == expected


def test_the_fast_path_handles_every_row_change_of_the_real_connector() -> None:
    compiled = CompiledNormalizer()
    handled = 0
    for case in CORPUS:
        value = _bytes(case["value"])
        if not case["case"].startswith("debezium") or value is None or "outputs" not in case:
            continue
        if json.loads(value)["payload"]["op"] == "t":
            continue
        for _ in range(2):
            outputs = compiled(_bytes(case["key"]), value)
            assert outputs is not None, case["case"]
            assert _as_json(outputs) == case["outputs"]
        handled += 1
    assert handled >= 10


def test_a_key_without_its_schema_gives_the_same_output_key() -> None:
    case = next(c for c in CORPUS if c["case"] == "debezium pairs" and "outputs" in c)
    key = json.loads(_bytes(case["key"]) or b"")
    bare = json.dumps(key["payload"], ensure_ascii=False).encode()
    for function in (normalize, normalize_reference):
        outputs = function(bare, _bytes(case["value"]))
        assert _as_json(outputs) == case["outputs"]
