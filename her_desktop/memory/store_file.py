"""Custody of the memory database file: where it lives, opening it safely, and setting a damaged
one aside.

- The file is created owner-only before SQLite touches it; an existing file is checked read-only
  first (its header, ``PRAGMA quick_check``, its schema version), so a damaged or newer file is
  never changed.
- A damaged file is renamed ``memory.sqlite3.corrupt-<timestamp>`` with its ``-wal``/``-shm``
  files (:func:`set_aside`): never overwritten, never deleted.
- SQLite errors become :class:`MemoryStoreError` / :class:`MemoryStoreLocked` in plain words
  (:func:`translate`).
- :func:`connect` opens the connection with the store's settings (WAL, ``synchronous=FULL``,
  foreign keys, ``secure_delete``) and brings the schema up to date.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Final

from her_desktop.memory.schema import MIGRATIONS, SCHEMA_VERSION
from her_desktop.paths import FILE_MODE, data_dir

log = logging.getLogger(__name__)

DB_NAME: Final = "memory.sqlite3"
BUSY_TIMEOUT_S: Final = 5.0
SIDE_FILES: Final = ("-wal", "-shm")


class MemoryStoreError(Exception):
    """The memory database cannot be used. The message says what happened and what to do."""


class MemoryStoreLocked(MemoryStoreError):
    """Another program holds the memory database."""


class MemoryStoreBusy(MemoryStoreError):
    """The memory's thread did not answer within the caller's bound (a very slow disk, or a
    long write ahead of this call). Nothing of this call was kept."""


def default_path() -> Path:
    return data_dir() / DB_NAME


def connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    """Check, create (owner-only) and open the database with the store's settings, migrated to
    the current schema. Raises ``Corrupt``, ``MemoryStoreLocked`` or ``MemoryStoreError``."""
    precheck(path, timeout_s)
    create_private(path)
    try:
        conn = sqlite3.connect(
            path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    try:
        check_readable(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("memory: journal mode is %s, not WAL", mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        migrate(conn, path)
    except Corrupt:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        if is_corruption(exc):
            raise Corrupt(str(exc)) from exc
        raise translate(exc, path) from exc
    except BaseException:
        conn.close()
        raise
    for suffix in SIDE_FILES:
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").chmod(FILE_MODE)
    return conn


class Corrupt(Exception):
    """The file is not a readable SQLite database (it is set aside, never overwritten)."""


_CORRUPTION_WORDS: Final = ("not a database", "malformed", "corrupt", "file is encrypted")


def is_corruption(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _CORRUPTION_WORDS)


def translate(exc: sqlite3.Error, path: Path) -> MemoryStoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return MemoryStoreLocked(
            f"The memory file {path} is in use by another program (is her_desktop already "
            "running?). Close the other one and try again."
        )
    if "disk is full" in text or "no space" in text:
        return MemoryStoreError(
            f"The disk is full: this turn could not be saved to {path}. What was saved before "
            "is safe. Free some disk space and she will remember again."
        )
    if is_corruption(exc):
        return MemoryStoreError(
            f"The memory file {path} is damaged ({exc}). Restart her_desktop: it sets the "
            "damaged file aside and starts a fresh one."
        )
    return MemoryStoreError(
        f"The memory file {path} could not be used ({exc}). Check that the folder exists, is "
        "yours and has free space."
    )


def create_private(path: Path) -> None:
    """Create the file owner-only before SQLite does (SQLite would use the umask)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise MemoryStoreError(
            f"The memory file {path} could not be opened ({exc.strerror}). Check that the "
            "folder is yours and has free space."
        ) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        path.chmod(FILE_MODE)


SQLITE_HEADER: Final = b"SQLite format 3\x00"


def precheck(path: Path, timeout_s: float) -> None:
    """Check an existing file without changing it: its header, then a read-only connection
    (which never checkpoints nor deletes the WAL) runs ``check_readable``. Raises ``Corrupt``,
    ``MemoryStoreLocked`` or ``MemoryStoreError``."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise MemoryStoreError(
            f"The memory file {path} could not be read ({exc.strerror}). Check that it is yours."
        ) from exc
    if header != SQLITE_HEADER:
        raise Corrupt("file is not a database")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout_s)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    try:
        check_readable(conn)
        check_version(conn, path)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    finally:
        conn.close()


def check_readable(conn: sqlite3.Connection) -> None:
    """Raise ``Corrupt`` for a file SQLite cannot read as a database or whose pages fail
    ``PRAGMA quick_check``."""
    try:
        conn.execute("PRAGMA user_version").fetchone()
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        result = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not is_corruption(exc):
            raise
        raise Corrupt(str(exc)) from exc
    if result is None or str(result[0]).lower() != "ok":
        raise Corrupt(f"integrity check: {result[0] if result else 'no answer'}")


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise MemoryStoreError(
            f"The memory file {path} was written by a newer version of her_desktop (schema "
            f"{version}, this one knows {SCHEMA_VERSION}). Update her_desktop to use it."
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = check_version(conn, path)
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        log.info("memory: schema migrated to version %d", number)


def set_aside(path: Path, now: float) -> Path:
    """Rename a damaged database (and its ``-wal``/``-shm``) to
    ``<name>.corrupt-<timestamp>``; never overwrites an earlier one. Returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists() or any(Path(f"{target}{s}").exists() for s in SIDE_FILES):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    return target


def set_aside_copies(path: Path | None = None) -> list[Path]:
    """Damaged databases set aside earlier (and their side files), for the user to delete."""
    path = path or default_path()
    return sorted(p for p in path.parent.glob(f"{path.name}.corrupt-*") if p.is_file())
