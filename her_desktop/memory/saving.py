"""Writing a turn and its memories (a layer of ``MemoryService``; on the writer thread).

``store_turn`` embeds the candidates the rules picked out and writes the turn's two messages
and its memories in **one transaction** (the memories' provenance is the user's message). A
candidate that nearly repeats a known memory (cosine ≥ ``DUPLICATE_COSINE``) takes that
memory's subject (so it updates it) or, without a subject, is skipped (``_resolve``). A value
told again makes the older one its history (``slots.supersedes``). ``store_memories`` writes
what the LM found later in a kept message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from her_desktop.memory.consolidation import worth_reading
from her_desktop.memory.corrections import Corrections
from her_desktop.memory.extraction import Candidate
from her_desktop.memory.index import Vector
from her_desktop.memory.records import NewMemory, Upserted
from her_desktop.memory.slots import Held, changing, slot_of, supersedes
from her_desktop.memory.state import protected
from her_desktop.memory.store import Turn

DUPLICATE_COSINE: Final = 0.92
"""A candidate this close to a known memory repeats it (takes its subject, or is skipped)."""
SAME_TEXT_COSINE: Final = 0.97
"""A candidate with its own subject this close to a known memory takes the known subject (the
LM named the same thing with another key)."""
RECENT_SUBJECTS: Final = 4


@dataclass(frozen=True, slots=True)
class StoredMemory:
    memory_id: int
    status: str
    candidate: Candidate


@dataclass(frozen=True, slots=True)
class SavedTurn:
    """What ``store_turn`` wrote: the user's message (the provenance of what is learned from
    it later), the candidates kept and the memories stored."""

    user_message_id: int | None
    candidates: list[Candidate]
    stored: list[StoredMemory]
    superseded: tuple[int, ...] = ()
    """memories that gave way to a newer value told in this turn (now its history: ``slots``)"""


class Saving(Corrections):
    """Writing turns and memories: see the module docstring."""

    def store_turn(
        self, turn_id: int, user_text: str, reply_text: str, candidates: Sequence[Candidate]
    ) -> SavedTurn:
        """Embed, de-duplicate and write one turn (see the module docstring). A failed write
        leaves no trace: the conversation is started again by the next turn."""
        if not self.enabled:
            return SavedTurn(None, [], [])
        fixes, unmatched = self._corrections([c for c in candidates if c.replaces])
        moved, unmoved = self._moves([c for c in candidates if c.moves])
        fixes += moved
        unmatched += unmoved
        plain = [
            self._who_is_named(self._fill_there(c))
            for c in candidates
            if not c.replaces and not c.moves
        ]
        plain += unmatched
        kept, vectors = self._resolve(plain)
        if fixes:
            fix_vectors = self.embedder.embed([c.text for _, c in fixes])
            vectors = np.vstack([vectors, fix_vectors]).astype(np.float32)
        conversation_id = self.conversation_id
        results: list[tuple[Upserted, Candidate, int]] = []
        with self.store.turn() as tx:
            if conversation_id is None:
                conversation_id = tx.new_conversation()
            user_id = tx.add_message(conversation_id, "user", user_text, turn_id=turn_id)
            if self.consolidator is not None and worth_reading(user_text):
                tx.add_pending(user_id)  # read by the LM later, even after a restart
            if reply_text.strip():
                tx.add_message(conversation_id, "assistant", reply_text, turn_id=turn_id)
            for i, c in enumerate(kept):
                results.append(
                    (tx.upsert_memory(self._new(c, vectors[i]), source_message_id=user_id), c, i)
                )
            for j, (memory_id, c) in enumerate(fixes, start=len(kept)):
                memory = self._new(c, vectors[j])
                results.append((tx.correct(memory_id, memory, source_message_id=user_id), c, j))
            gone = _supersede(tx, results, change_told=changing(user_text))
            now = tx.now
        self.conversation_id = conversation_id  # only once it is committed
        results = [r for r in results if r[0].id not in gone]
        stored = self._indexed(results, vectors, now)
        for memory_id in gone:
            self._unindex(memory_id)
        self.refresh_constraints()
        return SavedTurn(user_id, kept, stored, tuple(gone))

    def store_memories(
        self, source_message_id: int | None, candidates: Sequence[Candidate]
    ) -> list[StoredMemory]:
        """Embed, de-duplicate and write memories learned later from a kept user message."""
        if not self.enabled:
            return []
        kept, vectors = self._resolve(list(candidates))
        if not kept:
            return []
        with self.store.turn() as tx:
            results = [
                (
                    tx.upsert_memory(self._new(c, vectors[i]), source_message_id=source_message_id),
                    c,
                    i,
                )
                for i, c in enumerate(kept)
            ]
            gone = _supersede(tx, results, change_told=False)
            now = tx.now
        results = [r for r in results if r[0].id not in gone]
        stored = self._indexed(results, vectors, now)
        for memory_id in gone:
            self._unindex(memory_id)
        self.refresh_constraints()
        return stored

    def _new(self, c: Candidate, vector: Vector) -> NewMemory:
        return NewMemory(
            kind=c.kind,
            text=c.text,
            subject=c.subject,
            confidence=c.confidence,
            valence=c.valence,
            salience=c.salience,
            embedding=vector,
            embedder=self.embedder.name,
        )

    def _indexed(
        self, results: list[tuple[Upserted, Candidate, int]], vectors: Vector, now: float
    ) -> list[StoredMemory]:
        index = self.index()
        with self._index_lock:
            for upserted, c, i in results:
                if upserted.status != "same":
                    index.upsert(upserted.id, vectors[i], now, c.salience)
        for _, c, _ in results:
            if c.subject:
                self._recent = [(c.subject, c.text), *self._recent][:RECENT_SUBJECTS]
        return [StoredMemory(u.id, u.status, c) for u, c, _ in results]

    def _resolve(self, candidates: list[Candidate]) -> tuple[list[Candidate], Vector]:
        """Embed the candidates; drop repeats within the turn; a near-repeat of a known memory
        takes its subject (or, without one, is dropped)."""
        if not candidates:
            return [], np.zeros((0, self.embedder.dim), dtype=np.float32)
        vectors = self.embedder.embed([c.text for c in candidates])
        keep: list[int] = []
        out: list[Candidate] = []
        index = self.index()
        with self._index_lock:
            view = index.view()  # copy on write: compared unlocked
        sims = view.vectors @ vectors.T if len(view.ids) else None
        ids = view.ids
        best_records = (
            self.store.get_many(
                [int(ids[int(np.argmax(sims[:, j]))]) for j in range(len(candidates))]
            )
            if sims is not None
            else {}
        )
        for j, c in enumerate(candidates):
            if any(float(vectors[k] @ vectors[j]) >= DUPLICATE_COSINE for k in keep):
                continue
            if sims is not None:
                best = int(np.argmax(sims[:, j]))
                record = best_records.get(int(ids[best]))
                similarity = float(sims[best, j])
                if record is not None and protected(record.subject):
                    pass  # another service's rule: never taken over (style:, feedback:)
                elif record is not None and similarity >= DUPLICATE_COSINE:
                    if c.subject is None and record.subject is None:
                        continue  # the same episode told again
                    if c.subject is None or (
                        record.subject is not None and similarity >= SAME_TEXT_COSINE
                    ):
                        c = dataclasses.replace(c, subject=record.subject)
            keep.append(j)
            out.append(c)
        return out, vectors[keep]


def _supersede(
    tx: Turn, results: Sequence[tuple[Upserted, Candidate, int]], *, change_told: bool
) -> list[int]:
    """The memories that give way to a value written in this turn (``slots.supersedes``):
    each becomes the history of the newer one, in the same transaction. Returns their ids."""
    this_turn = {u.id for u, _, _ in results}
    gone: list[int] = []
    for upserted, c, _ in results:
        if upserted.status == "same" or upserted.id in gone or protected(c.subject):
            continue
        slot = slot_of(c.subject, c.text)
        if slot is None:
            continue
        new = Held(c.subject, c.text)
        for old_id, subject, text in tx.about(slot.who):
            if old_id == upserted.id or old_id in gone or protected(subject):
                continue
            old = Held(subject, text)
            same_turn = old_id in this_turn
            if supersedes(new, old, same_turn=same_turn, change_told=change_told) and (
                tx.supersede(old_id, upserted.id)
            ):
                gone.append(old_id)
    return gone
