"""``headwater stack env`` without a running stack says so and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.services import headwater_with


@pytest.mark.parametrize("exists", [False, True], ids=["no state folder", "an empty one"])
def test_stack_env_without_a_stack_creates_nothing_and_says_to_start_one(
    tmp_path: Path, exists: bool
) -> None:
    state = tmp_path / "stack"
    if exists:
        state.mkdir()
    done = headwater_with(
        "stack", "env", env={"HEADWATER_STACK__STATE_DIR": str(state)}, timeout=60
    )

    assert done.returncode != 0, done.stdout
    assert done.stdout == ""  # nothing for a shell to eval
    assert done.stderr.splitlines() == [
        f"headwater: no stack is running in {state} (HEADWATER_STACK__STATE_DIR): "
        "run `headwater stack up`"
    ]
    assert sorted(tmp_path.rglob("*")) == ([state] if exists else [])  # no folder, no password
