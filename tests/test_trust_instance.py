"""Two her_desktop at once: the second refuses politely; a crashed one never blocks a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from her_desktop.instance import LOCK_NAME, AlreadyRunning, acquire_single_instance

HOLDER = r"""
import sys, time
from pathlib import Path
from her_desktop.instance import acquire_single_instance
lock = acquire_single_instance(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(120)
"""


def test_second_acquire_refuses_and_release_frees(tmp_path: Path) -> None:
    first = acquire_single_instance(tmp_path)
    with pytest.raises(AlreadyRunning) as info:
        acquire_single_instance(tmp_path)
    assert info.value.pid == os.getpid()
    assert str(info.value).startswith(f"her_desktop is already running (pid {os.getpid()})")
    first.release()
    assert not first.held
    with acquire_single_instance(tmp_path) as again:
        assert again.held
    assert (tmp_path / LOCK_NAME).exists()  # never deleted: only the OS lock counts


def test_lock_file_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with acquire_single_instance(data):
        assert (data.stat().st_mode & 0o777) == 0o700
        assert ((data / LOCK_NAME).stat().st_mode & 0o777) == 0o600


def test_a_stale_lock_file_with_a_dead_pid_does_not_block(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("999999\n")
    with acquire_single_instance(tmp_path) as lock:
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        assert lock.held


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_another_process_holds_it_until_killed(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning) as info:
            acquire_single_instance(tmp_path)
        assert info.value.pid == proc.pid
        assert f"(pid {proc.pid})" in str(info.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with acquire_single_instance(tmp_path) as lock:  # the OS freed it with the process
        assert lock.held


def test_unwritable_data_dir_is_a_plain_error(tmp_path: Path) -> None:
    from her_desktop.instance import InstanceLockError

    target = tmp_path / "file-not-dir"
    target.write_text("x")
    with pytest.raises(InstanceLockError):
        acquire_single_instance(target)
