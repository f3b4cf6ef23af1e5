"""The memory database: conversations, messages, memories and mood samples in one SQLite file.

This module is the SQL API; the values it reads and writes are in ``records.py``, and the
file's custody (opening it safely, setting a damaged one aside, errors in plain words) in
``store_file.py``.

Policy:

- One file, ``data_dir() / "memory.sqlite3"``, owner-only (``0o600``; SQLite gives its ``-wal``
  and ``-shm`` files the same mode). WAL journal, ``synchronous=FULL``, foreign keys on, and
  ``secure_delete`` on, so deleted text is overwritten in the file rather than left in free pages.
- Schema versioned with ``PRAGMA user_version`` (see ``schema.py``).
- **One transaction per turn**: ``with store.turn() as tx:`` writes the turn's messages, memories
  and mood sample together, or nothing (an exception rolls back). A crash or ``kill -9`` loses at
  most the turn in progress; what was committed before stays.
- **A corrupt file is set aside, never overwritten or deleted**: it is renamed
  ``memory.sqlite3.corrupt-<timestamp>`` (with its ``-wal``/``-shm`` files), a fresh database is
  started, and ``store.problem`` says so in plain words for the app to show.
- **A locked file** (another her_desktop holding it) raises ``MemoryStoreLocked`` with a message
  saying what to do; a file we cannot open for other reasons raises ``MemoryStoreError``. Neither
  touches the file.
- Forgetting really deletes: ``forget`` removes the memory, its history and the messages it was
  learned from; ``forget_all`` empties every table and then ``VACUUM``s, and both truncate the
  WAL, so the text is gone from the files' bytes.
- Threads: one thread owns the connection (``owner.OwnerThread``): every read and write runs
  there, one at a time, and the caller waits at most ``call_timeout_s`` (a slow write never
  holds the asyncio loop longer than that; past it the caller gets ``MemoryStoreBusy`` in plain
  words, and the job is cancelled, or interrupted and rolled back). No lock is held anywhere
  across a SQLite call. ``with store.turn() as tx:`` keeps its transaction open on that thread
  while the caller's block runs (its statements are sent there one by one); an abandoned one is
  rolled back after ``TX_IDLE_S``. Keep slow work (embedding) out of the block.
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
from typing import Any, Final, Protocol, TypeVar

import numpy as np

from her_desktop.memory.owner import Job, OwnerClosed, OwnerThread, OwnerTimeout, given_up
from her_desktop.memory.records import (
    EmbeddingTable,
    HistoryEntry,
    MemoryRecord,
    MoodRow,
    NewMemory,
    Upserted,
    Vector,
)
from her_desktop.memory.schema import MEMORY_KINDS, ROLES, SCHEMA_VERSION
from her_desktop.memory.store_file import (
    BUSY_TIMEOUT_S,
    Corrupt,
    MemoryStoreBusy,
    MemoryStoreError,
    connect,
    default_path,
    set_aside,
    set_aside_copies,
    translate,
)
from her_desktop.paths import ensure_private_dir, overwrite_with_zeros

log = logging.getLogger(__name__)

Clock = Callable[[], float]
T = TypeVar("T")

CALL_TIMEOUT_S: Final = 10.0
"""How long a caller waits for the memory's thread: the jobs queued before its own, and its own
(SQLite's busy timeout, 5 s, is inside it)."""
LONG_TIMEOUT_S: Final = 120.0
"""Opening (integrity check, migration), ``VACUUM`` and closing: the whole file is read."""
TX_IDLE_S: Final = 10.0
"""An open ``turn()`` whose caller sends nothing for this long is rolled back (its thread died
or hung); the memory's thread goes on with the other jobs."""


class _Result(Protocol):
    """What a statement gives back: a ``sqlite3.Cursor`` on the owner thread, a ``_Rows``
    elsewhere (a cursor never leaves the owner thread)."""

    @property
    def lastrowid(self) -> int | None: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class _Executes(Protocol):
    def execute(self, sql: str, parameters: Any = (), /) -> _Result: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _Result: ...


class _Rows:
    """A statement's result, read whole on the owner thread."""

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

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.over = False
        """Its transaction was rolled back for want of statements: later ones fail at once."""

    def serve(self) -> None:
        """On the owner thread: run the caller's statements until it ends the session (or
        sends nothing for ``TX_IDLE_S``); a transaction left open is rolled back."""
        conn = self.store._conn
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
                assert isinstance(item, Job)
                item.run()
        finally:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()

    def run(self, fn: Callable[[sqlite3.Connection], T], timeout: float) -> T:
        """Run ``fn(connection)`` in the session and wait at most ``timeout`` for it."""
        if self.over:
            raise MemoryStoreBusy(
                f"This change to the memory file {self.store.path} waited too long between its "
                "steps and was undone; what was saved before is safe."
            )
        job = Job(lambda: fn(self.store._conn), detached=False)
        self.jobs.put(job)
        return self.store._wait(job, timeout)

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


_MEMORY_COLUMNS: Final = (
    "id, kind, subject, text, created, updated, source_message_id, valence, arousal, salience, "
    "confidence"
)


def _record(row: sqlite3.Row | tuple[Any, ...]) -> MemoryRecord:
    return MemoryRecord(*row)


def _blob(vector: Vector | None) -> bytes | None:
    if vector is None:
        return None
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _weights_and_vector(memory: NewMemory) -> tuple[Any, ...]:
    """The columns valence, arousal, salience, confidence, embedding, embedder (in order)."""
    return (
        memory.valence,
        memory.arousal,
        memory.salience,
        memory.confidence,
        _blob(memory.embedding),
        memory.embedder,
    )


class Turn:
    """The writes of one turn, inside one transaction (see ``MemoryStore.turn``)."""

    def __init__(self, conn: _Executes, now: float) -> None:
        self._conn = conn
        self.now = now

    def execute(self, sql: str, parameters: Any = ()) -> _Result:
        """A statement of the store's own (``MemoryStore`` methods), in this transaction."""
        return self._conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any]) -> _Result:
        return self._conn.executemany(sql, parameters)

    def new_conversation(self, title: str | None = None) -> int:
        cur = self._conn.execute(
            "INSERT INTO conversations (started, title) VALUES (?, ?)", (self.now, title)
        )
        return int(cur.lastrowid or 0)

    def add_message(
        self, conversation_id: int, role: str, text: str, *, turn_id: int | None = None
    ) -> int:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        cur = self._conn.execute(
            "INSERT INTO messages (conversation_id, turn_id, role, text, ts) "
            "VALUES (?, ?, ?, ?, ?)",
            (conversation_id, turn_id, role, text, self.now),
        )
        return int(cur.lastrowid or 0)

    def add_pending(self, message_id: int) -> None:
        """Queue a kept user message for the background LM (``consolidation``): the queue
        survives a restart."""
        self._conn.execute(
            "INSERT OR IGNORE INTO pending_consolidation (message_id, queued) VALUES (?, ?)",
            (message_id, self.now),
        )

    def upsert_memory(self, memory: NewMemory, *, source_message_id: int | None) -> Upserted:
        """Add ``memory``; where one with the same subject exists, update it instead (the old
        text is kept in ``memory_history``)."""
        if memory.kind not in MEMORY_KINDS:
            raise ValueError(f"unknown memory kind {memory.kind!r}")
        if memory.subject is not None:
            row = self._conn.execute(
                "SELECT id, text, confidence, salience FROM memories WHERE subject = ?",
                (memory.subject,),
            ).fetchone()
            if row is not None:
                return self._update(row, memory, source_message_id)
        cur = self._conn.execute(
            "INSERT INTO memories (kind, subject, text, created, updated, source_message_id, "
            "valence, arousal, salience, confidence, embedding, embedder) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                memory.kind,
                memory.subject,
                memory.text,
                self.now,
                self.now,
                source_message_id,
                *_weights_and_vector(memory),
            ),
        )
        return Upserted(int(cur.lastrowid or 0), "added")

    def correct(
        self, memory_id: int, memory: NewMemory, *, source_message_id: int | None
    ) -> Upserted:
        """Replace memory ``memory_id``'s text (a correction: the old text goes to its
        history); "same" when there is no such memory any more."""
        row = self._conn.execute(
            "SELECT id, text, confidence, salience FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        if row is None:
            return Upserted(memory_id, "same")
        return self._update(row, memory, source_message_id)

    def _update(
        self, row: tuple[Any, ...], memory: NewMemory, source_message_id: int | None
    ) -> Upserted:
        memory_id, old_text, old_confidence, old_salience = row
        if old_text.strip().casefold() == memory.text.strip().casefold():
            self._conn.execute(
                "UPDATE memories SET updated = ?, confidence = ?, salience = ? WHERE id = ?",
                (
                    self.now,
                    max(old_confidence, memory.confidence),
                    max(old_salience, memory.salience),
                    memory_id,
                ),
            )
            return Upserted(memory_id, "same")
        self._conn.execute(
            "INSERT INTO memory_history (memory_id, text, replaced, source_message_id) "
            "SELECT id, text, ?, source_message_id FROM memories WHERE id = ?",
            (self.now, memory_id),
        )
        self._conn.execute(
            "UPDATE memories SET kind = ?, text = ?, updated = ?, source_message_id = ?, "
            "valence = ?, arousal = ?, salience = ?, confidence = ?, embedding = ?, embedder = ? "
            "WHERE id = ?",
            (
                memory.kind,
                memory.text,
                self.now,
                source_message_id,
                *_weights_and_vector(memory),
                memory_id,
            ),
        )
        return Upserted(memory_id, "updated", previous_text=old_text)

    def add_mood_sample(
        self, ts: float, valence: float, arousal: float, label: str, turn_id: int | None = None
    ) -> None:
        self._conn.execute(
            "INSERT INTO mood_samples (ts, valence, arousal, label, turn_id) "
            "VALUES (?, ?, ?, ?, ?)",
            (ts, valence, arousal, label, turn_id),
        )

    def revise_mood_sample(
        self, ts: float, valence: float, arousal: float, label: str, turn_id: int | None
    ) -> bool:
        cursor = self._conn.execute(
            "UPDATE mood_samples SET valence = ?, arousal = ?, label = ? "
            "WHERE ts = ? AND turn_id IS ?",
            (valence, arousal, label, ts, turn_id),
        )
        return cursor.rowcount > 0


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.rollback()


class MemoryStore:
    """The memory database (see the module docstring for the policy)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        clock: Clock = time.time,
        owner: OwnerThread | None = None,
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
        self._owner = owner or OwnerThread("memory-sqlite")
        self._owner.on_timeout = conn.interrupt  # a statement past its caller's bound stops
        self._sessions: dict[int, _Session] = {}
        """The open ``turn()`` of each thread (a thread reads inside its own transaction).
        Each thread adds and removes only its own key: no lock needed."""
        self._closed = False

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        clock: Clock = time.time,
        timeout_s: float = BUSY_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
    ) -> MemoryStore:
        """Open (or create) the database; set a damaged one aside and start afresh. The file is
        opened on the store's own thread (bounded)."""
        path = path or default_path()
        ensure_private_dir(path.parent)
        owner = OwnerThread("memory-sqlite")
        try:
            try:
                conn = cls._connect(owner, path, timeout_s)
            except Corrupt as exc:
                moved = set_aside(path, clock())
                conn = cls._connect(owner, path, timeout_s)
                store = cls(conn, path, clock=clock, owner=owner, call_timeout_s=call_timeout_s)
                store.set_aside = moved
                store.problem = (
                    f"Your memory file was damaged and could not be read ({exc}). It was set "
                    f"aside as {moved.name} (nothing was deleted) and a fresh memory was started."
                )
                log.warning("memory: %s", store.problem)
                return store
        except BaseException:
            owner.close()
            raise
        return cls(conn, path, clock=clock, owner=owner, call_timeout_s=call_timeout_s)

    @staticmethod
    def _connect(owner: OwnerThread, path: Path, timeout_s: float) -> sqlite3.Connection:
        try:
            return owner.call(lambda: connect(path, timeout_s), timeout=LONG_TIMEOUT_S)
        except OwnerTimeout as exc:
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
            self._owner.call(close, timeout=LONG_TIMEOUT_S)
        except OwnerTimeout:
            log.error("memory: the file did not close within %.0f s", LONG_TIMEOUT_S)
        finally:
            self._owner.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the owner thread --------------------------------------------------------------------

    def _wait(self, job: Job[T], timeout: float) -> T:
        """Wait (bounded) for a job on the owner thread; errors in plain words."""
        try:
            return self._owner.wait(job, timeout)
        except OwnerTimeout as exc:
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
        if self._owner.in_worker():
            try:
                return fn(self._conn)
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
        session = self._sessions.get(threading.get_ident())
        if session is not None:
            return session.run(fn, bound)
        try:
            job = self._owner.start(lambda: fn(self._conn))
        except OwnerClosed as exc:
            raise MemoryStoreError("The memory is closed (the app is shutting down).") from exc
        return self._wait(job, bound)

    def write(self, fn: Callable[[Turn], T], *, timeout: float | None = None) -> T:
        """Run ``fn`` in one transaction on the owner thread (one hop: its statements need no
        round trips); commits when it returns, rolls back when it raises."""

        def job(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(Turn(conn, self.clock()))
                if given_up():  # the caller was told it was not saved: keep it so
                    raise OwnerTimeout("the caller stopped waiting")
                conn.commit()
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.rollback()
                raise
            return result

        return self._run(job, timeout)

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def turn(self) -> Iterator[Turn]:
        """One transaction: everything written through the ``Turn`` commits together on exit,
        or nothing does (an exception rolls back and propagates). Its statements run on the
        owner thread; each waits at most ``call_timeout_s``."""
        ident = threading.get_ident()
        if self._owner.in_worker() or ident in self._sessions:
            raise RuntimeError("memory: a turn() inside a transaction")
        session = _Session(self)
        timeout = self.call_timeout_s
        try:
            self._owner.submit(session.serve)
        except OwnerClosed as exc:
            raise MemoryStoreError("The memory is closed (the app is shutting down).") from exc
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

    def add_mood_sample(
        self, ts: float, valence: float, arousal: float, label: str, turn_id: int | None = None
    ) -> None:
        """Keep one mood sample (its own transaction)."""
        self.write(lambda tx: tx.add_mood_sample(ts, valence, arousal, label, turn_id))

    def revise_mood_sample(
        self, ts: float, valence: float, arousal: float, label: str, turn_id: int | None
    ) -> bool:
        """Replace the mood sample of ``turn_id`` at ``ts`` (a better estimate of that turn
        arrived; its own transaction). False when there is none."""
        return self.write(lambda tx: tx.revise_mood_sample(ts, valence, arousal, label, turn_id))

    def update_text(
        self, memory_id: int, text: str, *, embedding: Vector | None, embedder: str | None
    ) -> bool:
        """The user edited a memory: new text (the old one goes to the history). False when
        there is no such memory."""

        def work(tx: Turn) -> bool:
            if tx.execute("SELECT id FROM memories WHERE id = ?", (memory_id,)).fetchone() is None:
                return False
            tx.execute(
                "INSERT INTO memory_history (memory_id, text, replaced, source_message_id) "
                "SELECT id, text, ?, source_message_id FROM memories WHERE id = ?",
                (tx.now, memory_id),
            )
            tx.execute(
                "UPDATE memories SET text = ?, updated = ?, confidence = 1.0, embedding = ?, "
                "embedder = ? WHERE id = ?",
                (text, tx.now, _blob(embedding), embedder, memory_id),
            )
            return True

        return self.write(work)

    def set_source(self, memory_id: int, message_id: int) -> None:
        """Link a memory stored before its turn was saved (a style rule, ``feedback``) to the
        message it was learned from."""
        self.write(
            lambda tx: tx.execute(
                "UPDATE memories SET source_message_id = ? WHERE id = ?", (message_id, memory_id)
            )
        )

    def set_embeddings(self, rows: list[tuple[int, Vector]], embedder: str) -> None:
        """Store re-computed embeddings (a change of embedder)."""
        params = [(_blob(vec), embedder, memory_id) for memory_id, vec in rows]
        self.write(
            lambda tx: tx.executemany(
                "UPDATE memories SET embedding = ?, embedder = ? WHERE id = ?", params
            )
        )

    def forget(self, memory_id: int) -> bool:
        """Delete one memory, its history, and the messages of the turns it was learned from.
        False when there is no such memory."""

        def work(tx: Turn) -> bool:
            sources = tx.execute(
                "SELECT source_message_id FROM memories WHERE id = ? "
                "UNION SELECT source_message_id FROM memory_history WHERE memory_id = ?",
                (memory_id, memory_id),
            ).fetchall()
            found = tx.execute("DELETE FROM memories WHERE id = ?", (memory_id,)).rowcount > 0
            for (message_id,) in sources:
                if message_id is None:
                    continue
                tx.execute(
                    "DELETE FROM messages WHERE id IN (SELECT m.id FROM messages m JOIN messages "
                    "s ON s.id = ? WHERE m.id = s.id OR (m.conversation_id = s.conversation_id "
                    "AND m.turn_id IS NOT NULL AND m.turn_id = s.turn_id))",
                    (message_id,),
                )
            return found

        found = self.write(work)
        self.checkpoint()
        return found

    def forget_all(self) -> None:
        """Delete everything: memories, their history, conversations, messages, mood samples;
        then ``VACUUM`` and truncate the WAL so no trace remains in the files; and the damaged
        copies set aside earlier (:func:`set_aside_copies`), zeroed, then deleted."""

        def work(tx: Turn) -> None:
            for table in (
                "pending_consolidation", "memory_history", "memories", "messages",
                "conversations", "mood_samples",
            ):  # fmt: skip
                tx.execute(f"DELETE FROM {table}")

        def wipe(conn: sqlite3.Connection) -> None:
            conn.execute("VACUUM")
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for copy in set_aside_copies(self.path):
                overwrite_with_zeros(copy)
                copy.unlink(missing_ok=True)

        self.write(work)
        self._run(wipe, LONG_TIMEOUT_S)

    def pending(self, limit: int) -> list[tuple[int, str]]:
        """The user messages still queued for the background LM, oldest first: the newest
        ``limit`` (the older ones are let go: the rules kept their memories)."""

        def work(tx: Turn) -> list[Any]:
            rows = tx.execute(
                "SELECT p.message_id, m.text FROM pending_consolidation p "
                "JOIN messages m ON m.id = p.message_id ORDER BY p.message_id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            tx.execute(
                "DELETE FROM pending_consolidation WHERE message_id NOT IN "
                "(SELECT message_id FROM pending_consolidation ORDER BY message_id DESC LIMIT ?)",
                (limit,),
            )
            return rows

        rows = self.write(work)
        return [(int(r[0]), str(r[1])) for r in reversed(rows)]

    def done_pending(self, message_id: int) -> None:
        """The background LM has read this message."""
        self.write(
            lambda tx: tx.execute(
                "DELETE FROM pending_consolidation WHERE message_id = ?", (message_id,)
            )
        )

    def sourced_from(self, message_id: int) -> list[MemoryRecord]:
        """The memories whose source is this message."""
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE source_message_id = ?", (message_id,)
        )
        return [_record(r) for r in rows]

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (forgotten text leaves the WAL)."""

        def work(conn: sqlite3.Connection) -> None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._run(work, LONG_TIMEOUT_S)

    # -- reading -----------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(sql, params).fetchall())

    def get(self, memory_id: int) -> MemoryRecord | None:
        rows = self._query(f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id = ?", (memory_id,))
        return _record(rows[0]) if rows else None

    def get_by_subject(self, subject: str) -> MemoryRecord | None:
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE subject = ?",
            (subject,),
        )
        return _record(rows[0]) if rows else None

    def get_many(self, ids: list[int]) -> dict[int, MemoryRecord]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE id IN ({marks})",
            tuple(ids),
        )
        return {int(r[0]): _record(r) for r in rows}

    def memories(
        self, *, kind: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[MemoryRecord]:
        """Newest first."""
        where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories {where} "
            "ORDER BY updated DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_record(r) for r in rows]

    def with_subject_prefix(
        self, prefixes: tuple[str, ...], *, limit: int = 200
    ) -> list[MemoryRecord]:
        """Memories whose subject starts with one of ``prefixes``, newest first."""
        if not prefixes:
            return []
        where = " OR ".join("subject LIKE ? ESCAPE '\\'" for _ in prefixes)
        patterns = tuple(
            p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for p in prefixes
        )
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE {where} "
            "ORDER BY updated DESC, id DESC LIMIT ?",
            (*patterns, limit),
        )
        return [_record(r) for r in rows]

    def search_text(self, query: str, *, limit: int = 50) -> list[MemoryRecord]:
        """Memories whose text or subject contains ``query`` (case-insensitive), newest first."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._query(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE text LIKE ? ESCAPE '\\' "
            "OR subject LIKE ? ESCAPE '\\' ORDER BY updated DESC LIMIT ?",
            (pattern, pattern, limit),
        )
        return [_record(r) for r in rows]

    def history(self, memory_id: int) -> list[HistoryEntry]:
        rows = self._query(
            "SELECT text, replaced, source_message_id FROM memory_history WHERE memory_id = ? "
            "ORDER BY id",
            (memory_id,),
        )
        return [HistoryEntry(*r) for r in rows]

    def replaced_texts(self, *, limit: int = 500) -> list[tuple[str, str]]:
        """(old text, current text) of each memory's earlier versions, newest first."""
        rows = self._query(
            "SELECT h.text, m.text FROM memory_history h JOIN memories m ON m.id = h.memory_id "
            "ORDER BY h.id DESC LIMIT ?",
            (limit,),
        )
        return [(str(old), str(new)) for old, new in rows]

    def replaced_values(self, *, limit: int = 500) -> list[tuple[str, str, float]]:
        """(old text, current text, when it was replaced) of each memory's earlier versions,
        newest first."""
        rows = self._query(
            "SELECT h.text, m.text, h.replaced FROM memory_history h "
            "JOIN memories m ON m.id = h.memory_id ORDER BY h.id DESC LIMIT ?",
            (limit,),
        )
        return [(str(old), str(new), float(when)) for old, new, when in rows]

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM memories")[0][0])

    def embeddings(self, embedder: str, dim: int) -> EmbeddingTable:
        """Every memory embedded by ``embedder`` (others are stale: see ``stale``)."""
        rows = self._query(
            "SELECT id, updated, salience, embedding FROM memories "
            "WHERE embedder = ? AND length(embedding) = ?",
            (embedder, dim * 4),
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        updated = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
        salience = np.fromiter((r[2] for r in rows), dtype=np.float32, count=len(rows))
        vectors = np.empty((len(rows), dim), dtype=np.float32)
        for i, r in enumerate(rows):
            vectors[i] = np.frombuffer(r[3], dtype=np.float32)
        return EmbeddingTable(ids, vectors, updated, salience)

    def stale(self, embedder: str, dim: int, *, limit: int = 100) -> list[tuple[int, str]]:
        """(id, text) of memories without an embedding from ``embedder``."""
        rows = self._query(
            "SELECT id, text FROM memories WHERE embedder IS NOT ? OR embedding IS NULL "
            "OR length(embedding) != ? LIMIT ?",
            (embedder, dim * 4, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def messages(self, conversation_id: int | None = None) -> list[dict[str, Any]]:
        where, params = (
            ("WHERE conversation_id = ?", (conversation_id,)) if conversation_id else ("", ())
        )
        rows = self._query(
            f"SELECT id, conversation_id, turn_id, role, text, ts FROM messages {where} "
            "ORDER BY id",
            params,
        )
        keys = ("id", "conversation_id", "turn_id", "role", "text", "ts")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def mood_samples(self, since: float) -> list[MoodRow]:
        """Mood samples with ``ts >= since``, oldest first."""
        rows = self._query(
            "SELECT ts, valence, arousal, label, turn_id FROM mood_samples WHERE ts >= ? "
            "ORDER BY ts, id",
            (since,),
        )
        return [MoodRow(*r) for r in rows]

    def export(self) -> dict[str, Any]:
        """Everything the store keeps about the user, as JSON-ready data (no embeddings)."""
        memories = []
        for m in self.memories(limit=-1):
            item: dict[str, Any] = {
                "id": m.id,
                "kind": m.kind,
                "subject": m.subject,
                "text": m.text,
                "created": m.created,
                "updated": m.updated,
                "source_message_id": m.source_message_id,
                "valence": m.valence,
                "arousal": m.arousal,
                "salience": m.salience,
                "confidence": m.confidence,
                "history": [
                    {
                        "text": h.text,
                        "replaced": h.replaced,
                        "source_message_id": h.source_message_id,
                    }
                    for h in self.history(m.id)
                ],
            }
            memories.append(item)
        conversations = [
            {"id": r[0], "started": r[1], "title": r[2]}
            for r in self._query("SELECT id, started, title FROM conversations ORDER BY id")
        ]
        moods = [
            {
                "ts": s.ts,
                "valence": s.valence,
                "arousal": s.arousal,
                "label": s.label,
                "turn_id": s.turn_id,
            }
            for s in self.mood_samples(float("-inf"))
        ]
        return {
            "format": "her_desktop-memory-export",
            "schema_version": SCHEMA_VERSION,
            "exported": self.clock(),
            "memories": memories,
            "conversations": conversations,
            "messages": self.messages(),
            "mood_samples": moods,
        }
