"""`headwater stack env` without a running stack changes nothing and says there is none."""

from pathlib import Path

from tests.support.services import headwater_with


def test_stack_env_without_a_stack_creates_nothing_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = headwater_with("stack", "env", env={"HEADWATER_STACK__STATE_DIR": str(state)})
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""  # nothing for `eval` to export
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("headwater: no stack is running")
    assert "headwater stack up" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no state folder, no password file


def test_stack_env_secure_without_a_stack_creates_no_password_either(tmp_path: Path) -> None:
    done = headwater_with(
        "stack", "env", "--secure", env={"HEADWATER_STACK__STATE_DIR": str(tmp_path / "s")}
    )
    assert done.returncode == 3, done.stderr
    assert list(tmp_path.iterdir()) == []
