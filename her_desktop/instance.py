"""One her_desktop at a time per data dir: an OS file lock on ``data_dir() / "her_desktop.lock"``.

Policy:

- The lock is an advisory OS lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on
  a small file in the data dir. The OS releases it when the process ends in any way (crash,
  ``kill -9``, power cut), so a stale lock file never blocks the next start: only a *held* lock
  does. The file itself is never deleted (deleting it would let a third process lock a new
  file while the second still holds the old one).
- The holder writes its pid into the file (after locking), so the second instance can say who
  is running: "her_desktop is already running (pid 1234)".
- :func:`acquire_single_instance` never waits: it takes the lock or raises
  :class:`AlreadyRunning` at once. Other failures (a read-only data dir) raise
  :class:`InstanceLockError` with a plain message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from typing import IO, Final

from her_desktop.paths import FILE_MODE, ensure_private_dir

LOCK_NAME: Final = "her_desktop.lock"


class InstanceLockError(Exception):
    """The single-instance lock could not be taken for a reason other than another instance."""


class AlreadyRunning(InstanceLockError):
    """Another her_desktop holds the lock for this data dir."""

    def __init__(self, pid: int | None, path: Path) -> None:
        self.pid = pid
        self.path = path
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"her_desktop is already running{who}. Switch to that window, or close it and "
            "start again."
        )


def _try_lock(handle: IO[bytes]) -> bool:
    """Take an exclusive lock without waiting; False when another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:  # BlockingIOError is EAGAIN/EWOULDBLOCK
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _unlock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        with contextlib.suppress(OSError):
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    # on Windows the first byte is the locked one; the pid follows it
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits and len(digits) < 10 else None


class InstanceLock:
    """A held single-instance lock. ``release()`` (or leaving the ``with`` block) frees it."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self._handle: IO[bytes] | None = handle

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        _unlock(handle)
        handle.close()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a forgotten lock is released with the object
        self.release()


def acquire_single_instance(data_dir: Path) -> InstanceLock:
    """Take the lock for ``data_dir`` or raise :class:`AlreadyRunning` (another instance holds
    it) / :class:`InstanceLockError` (the lock file cannot be created). Never waits."""
    path = data_dir / LOCK_NAME
    try:
        ensure_private_dir(data_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise InstanceLockError(
            f"Could not create the lock file {path} ({exc.strerror}). Check that the folder "
            "is yours and writable."
        ) from exc
    handle = os.fdopen(fd, "r+b", buffering=0)
    try:
        locked = _try_lock(handle)
    except OSError as exc:
        handle.close()
        raise InstanceLockError(
            f"Could not lock {path} ({exc.strerror}). Check that the folder is on a local disk."
        ) from exc
    if not locked:
        handle.close()
        raise AlreadyRunning(_read_pid(path), path)
    try:
        handle.seek(0)
        handle.truncate()
        prefix = b" " if sys.platform == "win32" else b""  # the locked byte on Windows
        handle.write(prefix + f"{os.getpid()}\n".encode("ascii"))
    except OSError:
        pass  # the pid is only for the message; the lock is what counts
    return InstanceLock(path, handle)
