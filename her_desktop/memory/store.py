"""The memory database's SQL API: conversations, messages, memories and mood samples.

``MemoryStore`` reads and writes the tables; underneath it, ``sqlite_thread.py`` runs every
statement on the connection's own thread with a bound (``write``, ``turn()``, ``_run``), the
statements of one transaction are ``turn.py``, the values are ``records.py``, and the file's
custody (opening it safely, setting a damaged one aside, errors in plain words) is
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
- Threads: every call waits at most ``call_timeout_s`` for the memory's thread, then raises
  ``MemoryStoreBusy`` in plain words (``sqlite_thread.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any, Final

import numpy as np

from her_desktop.memory.records import EmbeddingTable, HistoryEntry, MemoryRecord, MoodRow, Vector
from her_desktop.memory.schema import SCHEMA_VERSION
from her_desktop.memory.sqlite_thread import LONG_TIMEOUT_S as LONG_TIMEOUT_S
from her_desktop.memory.sqlite_thread import Clock as Clock
from her_desktop.memory.sqlite_thread import SQLiteThread
from her_desktop.memory.store_file import set_aside_copies
from her_desktop.memory.turn import Turn as Turn
from her_desktop.memory.turn import blob
from her_desktop.paths import overwrite_with_zeros

_MEMORY_COLUMNS: Final = (
    "id, kind, subject, text, created, updated, source_message_id, valence, arousal, salience, "
    "confidence"
)


def _record(row: sqlite3.Row | tuple[Any, ...]) -> MemoryRecord:
    return MemoryRecord(*row)


class MemoryStore(SQLiteThread):
    """The memory database (see the module docstring for the policy)."""

    # -- writing -----------------------------------------------------------------------------

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
                (text, tx.now, blob(embedding), embedder, memory_id),
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
        params = [(blob(vec), embedder, memory_id) for memory_id, vec in rows]
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
