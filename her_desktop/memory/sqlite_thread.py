"""The memory's SQLite connection on its own thread: bounded calls and transactions.

One thread owns the connection (a :class:`~her_desktop.native_calls.NativeCalls` named
``memory-sqlite``): every read and write runs there, one at a time, and the caller waits at most
``call_timeout_s`` (a slow write never holds the asyncio loop longer than that; past it the
caller gets ``MemoryStoreBusy`` in plain words). The resource outlives a slow call, so the
thread is never abandoned: a job that had not started is cancelled, a running one is
interrupted (``sqlite3.Connection.interrupt``, the ``on_timeout`` hook) and a write whose caller
gave up rolls back instead of committing (``native_calls.given_up``). No lock is held anywhere
across a SQLite call.

- ``write(fn)`` runs a whole transaction on the thread in one hop.
- ``with turn() as tx:`` keeps a transaction open on the thread while the caller's block runs:
  its statements are sent there one by one (``_Session``), and a turn left idle for
  ``TX_IDLE_S`` is rolled back. Keep slow work (embedding) out of the block.

:class:`SQLiteThread` is the base of ``MemoryStore`` (``store.py``, the SQL API); opening the
file safely is ``store_file.py``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, Self, TypeVar

from her_desktop.memory.store_file import (
    BUSY_TIMEOUT_S,
    Corrupt,
    MemoryStoreBusy,
    MemoryStoreError,
    connect,
    default_path,
    set_aside,
    translate,
)
from her_desktop.memory.turn import Turn
from her_desktop.native_calls import NativeCalls, NativeJob, NativeTimeout, given_up
from her_desktop.paths import ensure_private_dir

log = logging.getLogger(__name__)

Clock = Callable[[], float]
T = TypeVar("T")

THREAD_NAME: Final = "memory-sqlite"
CALL_TIMEOUT_S: Final = 10.0
"""How long a caller waits for the memory's thread: the jobs queued before its own, and its own
(SQLite's busy timeout, 5 s, is inside it)."""
LONG_TIMEOUT_S: Final = 120.0
"""Opening (integrity check, migration), ``VACUUM`` and closing: the whole file is read."""
TX_IDLE_S: Final = 10.0
"""An open ``turn()`` whose caller sends nothing for this long is rolled back (its thread died
or hung); the memory's thread goes on with the other jobs."""

CLOSED: Final = "The memory is closed (the app is shutting down)."


class _Rows:
    """A statement's result, read whole on the owner thread (a cursor never leaves it)."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows: list[Any] = cursor.fetchall()
        self.lastrowid: int | None = cursor.lastrowid
        self.rowcount: int = cursor.rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows


_END = object()


class _Session:
    """An open ``turn()``: its statements run on the owner thread, inside one transaction that
    stays open there (and holds the other jobs back) until the caller commits or rolls back."""

    def __init__(self, db: SQLiteThread) -> None:
        self.db = db
        self.jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.over = False
        """Its transaction was rolled back for want of statements: later ones fail at once."""

    def serve(self) -> None:
        """On the owner thread: run the caller's statements until it ends the session (or
        sends nothing for ``TX_IDLE_S``); a transaction left open is rolled back."""
        conn = self.db._conn
        try:
            while True:
                try:
                    item = self.jobs.get(timeout=TX_IDLE_S)
                except queue.Empty:
                    log.warning("memory: a write was left open for %.0f s; rolled back", TX_IDLE_S)
                    self.over = True
                    return
                if item is _END:
                    return
                assert isinstance(item, NativeJob)
                self.db._calls.run_nested(item)
        finally:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()

    def run(self, fn: Callable[[sqlite3.Connection], T], timeout: float) -> T:
        """Run ``fn(connection)`` in the session and wait at most ``timeout`` for it."""
        if self.over:
            raise MemoryStoreBusy(
                f"This change to the memory file {self.db.path} waited too long between its "
                "steps and was undone; what was saved before is safe."
            )
        job = NativeJob(lambda: fn(self.db._conn))
        self.jobs.put(job)
        return self.db._wait(job, timeout)

    def end(self) -> None:
        self.jobs.put(_END)


class _SessionConnection:
    """The connection as a ``turn()``'s ``Turn`` sees it off the owner thread: each statement
    is sent to the session and its whole result comes back."""

    def __init__(self, session: _Session, timeout: float) -> None:
        self._session = session
        self._timeout = timeout

    def execute(self, sql: str, parameters: Any = (), /) -> _Rows:
        return self._session.run(lambda conn: _Rows(conn.execute(sql, parameters)), self._timeout)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _Rows:
        rows = list(parameters)
        return self._session.run(lambda conn: _Rows(conn.executemany(sql, rows)), self._timeout)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()


def _nothing_to_interrupt() -> None:
    """While the file opens there is no connection to interrupt: a slow open is waited out."""


class SQLiteThread:
    """The connection, its owner thread, and transactions on it (see the module docstring)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        clock: Clock = time.time,
        calls: NativeCalls | None = None,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self._conn = conn
        """Used on the owner thread only (opened with ``check_same_thread=False`` so that the
        thread that opened it may hand it over)."""
        self.path = path
        self.clock = clock
        self.call_timeout_s = call_timeout_s
        self.problem: str | None = None
        """Set when a damaged file was set aside at open: a message for the user."""
        self.set_aside: Path | None = None
        self._calls = calls or NativeCalls(THREAD_NAME, on_timeout=conn.interrupt)
        self._calls.on_timeout = conn.interrupt  # a statement past its caller's bound stops
        self._sessions: dict[int, _Session] = {}
        """The open ``turn()`` of each thread (a thread reads inside its own transaction).
        Each thread adds and removes only its own key: no lock needed."""
        self._closed = False

    # -- opening and closing -----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        clock: Clock = time.time,
        timeout_s: float = BUSY_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> Self:
        """Open (or create) the database; set a damaged one aside and start afresh. The file is
        opened on the store's own thread (bounded)."""
        path = path or default_path()
        ensure_private_dir(path.parent)
        calls = NativeCalls(THREAD_NAME, on_timeout=_nothing_to_interrupt)
        try:
            try:
                conn = cls._connect(calls, path, timeout_s)
            except Corrupt as exc:
                moved = set_aside(path, clock())
                conn = cls._connect(calls, path, timeout_s)
                db = cls(conn, path, clock=clock, calls=calls, call_timeout_s=call_timeout_s)
                db.set_aside = moved
                db.problem = (
                    f"Your memory file was damaged and could not be read ({exc}). It was set "
                    f"aside as {moved.name} (nothing was deleted) and a fresh memory was started."
                )
                log.warning("memory: %s", db.problem)
                return db
        except BaseException:
            calls.close()
            raise
        return cls(conn, path, clock=clock, calls=calls, call_timeout_s=call_timeout_s)

    @staticmethod
    def _connect(calls: NativeCalls, path: Path, timeout_s: float) -> sqlite3.Connection:
        try:
            return calls.call(lambda: connect(path, timeout_s), timeout=LONG_TIMEOUT_S)
        except NativeTimeout as exc:
            raise MemoryStoreBusy(
                f"The memory file {path} took more than {LONG_TIMEOUT_S:.0f} s to open (is the "
                "disk very slow or busy?). Memory is off for now; restart to try again."
            ) from exc

    def close(self) -> None:
        """Checkpoint and close the file on its thread (bounded), then end the thread."""
        if self._closed:
            return
        self._closed = True

        def close() -> None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

        try:
            self._calls.call(close, timeout=LONG_TIMEOUT_S)
        except NativeTimeout:
            log.error("memory: the file did not close within %.0f s", LONG_TIMEOUT_S)
        finally:
            self._calls.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls on the owner thread -----------------------------------------------------------

    def _wait(self, job: NativeJob[T], timeout: float) -> T:
        """Wait (bounded) for a job on the owner thread; errors in plain words."""
        try:
            return self._calls.wait(job, timeout)
        except NativeTimeout as exc:
            raise MemoryStoreBusy(
                f"The memory file {self.path} did not answer within {timeout:.0f} s (is the disk "
                "very slow or busy?). This was not saved or read; what was saved before is safe."
            ) from exc
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def _run(self, fn: Callable[[sqlite3.Connection], T], timeout: float | None = None) -> T:
        """Run ``fn(connection)`` on the owner thread (inside this thread's open ``turn()``, if
        any) and wait at most ``timeout`` (default ``call_timeout_s``)."""
        bound = self.call_timeout_s if timeout is None else timeout
        if self._calls.in_worker():
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
        session = self._sessions.get(threading.get_ident())
        if session is not None:
            return session.run(fn, bound)
        if self._closed:
            raise MemoryStoreError(CLOSED)
        return self._wait(self._calls.start(lambda: fn(self._conn)), bound)

    def write(self, fn: Callable[[Turn], T], *, timeout: float | None = None) -> T:
        """Run ``fn`` in one transaction on the owner thread (one hop: its statements need no
        round trips); commits when it returns, rolls back when it raises."""

        def job(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(Turn(conn, self.clock()))
                if given_up():  # the caller was told it was not saved: keep it so
                    raise NativeTimeout("the caller stopped waiting")
                conn.commit()
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.rollback()
                raise
            return result

        return self._run(job, timeout)

    @contextlib.contextmanager
    def turn(self) -> Iterator[Turn]:
        """One transaction: everything written through the ``Turn`` commits together on exit,
        or nothing does (an exception rolls back and propagates). Its statements run on the
        owner thread; each waits at most ``call_timeout_s``."""
        ident = threading.get_ident()
        if self._calls.in_worker() or ident in self._sessions:
            raise RuntimeError("memory: a turn() inside a transaction")
        if self._closed:
            raise MemoryStoreError(CLOSED)
        session = _Session(self)
        timeout = self.call_timeout_s
        self._calls.submit(session.serve)
        self._sessions[ident] = session
        try:
            session.run(lambda conn: conn.execute("BEGIN IMMEDIATE"), timeout)
            try:
                yield Turn(_SessionConnection(session, timeout), self.clock())
                session.run(lambda conn: conn.commit(), timeout)
            except BaseException as exc:
                with contextlib.suppress(MemoryStoreError):
                    session.run(_rollback, timeout)
                if isinstance(exc, sqlite3.Error):  # e.g. "database or disk is full"
                    raise translate(exc, self.path) from exc
                raise
        finally:
            del self._sessions[ident]
            session.end()
