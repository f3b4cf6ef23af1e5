"""The writes of one transaction (``Turn``): the statements a turn of the conversation makes.

A ``Turn`` runs its statements through whatever executes them: the connection itself on the
memory's thread (``MemoryStore.write``), or a ``turn()`` session that sends each statement to
that thread from the caller's (``sqlite_thread.py``). It commits nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from her_desktop.memory.records import NewMemory, Upserted, Vector
from her_desktop.memory.schema import MEMORY_KINDS, ROLES


class Result(Protocol):
    """What a statement gives back: a ``sqlite3.Cursor`` on the owner thread, a ``Rows``
    elsewhere (a cursor never leaves the owner thread)."""

    @property
    def lastrowid(self) -> int | None: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Executes(Protocol):
    def execute(self, sql: str, parameters: Any = (), /) -> Result: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Result: ...


def blob(vector: Vector | None) -> bytes | None:
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
        blob(memory.embedding),
        memory.embedder,
    )


class Turn:
    """The writes of one turn, inside one transaction (see ``MemoryStore.turn``)."""

    def __init__(self, conn: Executes, now: float) -> None:
        self._conn = conn
        self.now = now

    def execute(self, sql: str, parameters: Any = ()) -> Result:
        """A statement of the store's own (``MemoryStore`` methods), in this transaction."""
        return self._conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any]) -> Result:
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

    def about(self, who: str) -> list[tuple[int, str | None, str]]:
        """(id, subject, text) of the memories that may be about ``who`` (``user``,
        ``people.sister``): those keyed under it, and those without a key."""
        like = who.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
        rows = self._conn.execute(
            "SELECT id, subject, text FROM memories WHERE subject IS NULL "
            "OR subject LIKE ? ESCAPE '\\' ORDER BY updated DESC, id DESC LIMIT 500",
            (like,),
        ).fetchall()
        return [(int(i), s, str(t)) for i, s, t in rows]

    def supersede(self, old_id: int, new_id: int) -> bool:
        """Memory ``old_id`` gives way to ``new_id`` (a newer value of the same thing): its
        text and its own history become ``new_id``'s history, and it is removed. False when
        either is gone."""
        if old_id == new_id:
            return False
        both = self._conn.execute(
            "SELECT COUNT(*) FROM memories WHERE id IN (?, ?)", (old_id, new_id)
        ).fetchone()
        if both is None or int(both[0]) != 2:
            return False
        self._conn.execute(
            "UPDATE memory_history SET memory_id = ? WHERE memory_id = ?", (new_id, old_id)
        )
        self._conn.execute(
            "INSERT INTO memory_history (memory_id, text, replaced, source_message_id) "
            "SELECT ?, text, ?, source_message_id FROM memories WHERE id = ?",
            (new_id, self.now, old_id),
        )
        self._conn.execute("DELETE FROM memories WHERE id = ?", (old_id,))
        return True

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
