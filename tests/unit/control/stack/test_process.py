import sys
from pathlib import Path

from control.stack.process import ManagedProcess, log_tail, pid_alive, wait_gone


def _sleeper(tmp_path: Path) -> list[str]:
    script = tmp_path / "sleeper.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    return [sys.executable, str(script)]


def test_started_process_is_tracked_and_stopped(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", tmp_path, marker=str(tmp_path))
    pid = process.start(_sleeper(tmp_path))
    assert process.pid() == pid
    process.stop(timeout_s=5)
    assert not pid_alive(pid)
    assert not process.pid_file.exists()
    assert process.pid() is None


def test_stale_pid_of_a_foreign_process_is_never_claimed(tmp_path: Path) -> None:
    process = ManagedProcess("other", tmp_path, marker=str(tmp_path / "not-in-argv"))
    process.pid_file.write_text("1\n")  # pid 1 exists but is not ours
    assert process.pid() is None
    process.stop()  # must not signal pid 1
    assert pid_alive(1)


def test_death_is_explained_from_the_log(tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text("import sys\nprint('bad config: listeners', flush=True)\nsys.exit(3)\n")
    process = ManagedProcess("dies", tmp_path, marker=str(tmp_path))
    pid = process.start([sys.executable, str(script)])
    assert wait_gone(pid, 10)
    assert not process.running()
    assert "bad config: listeners" in log_tail(process.log_file)


def test_dead_pid_file_is_cleared(tmp_path: Path) -> None:
    process = ManagedProcess("gone", tmp_path, marker=str(tmp_path))
    pid = process.start([sys.executable, "-c", "pass"])
    assert wait_gone(pid, 10)
    assert process.pid() is None
    assert not process.pid_file.exists()
