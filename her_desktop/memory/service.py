"""What the dialogue calls around each turn: recall before the reply, learn after it.

``MemoryService`` implements ``TurnContextProvider``:

- ``before_reply`` (fast: one embedding and one matrix product, in a worker thread): the
  memories related to this turn, ranked and fitted to a token budget (``retrieval``), as a
  quoted block of notes — data, never instructions.
- ``record_turn`` (``TurnRecorder``; the dialogue calls it when an exchange is final, with
  what the user heard): candidates from the rule-based extractor, picked out at once; the
  writer thread (one, so turns are written in order, never on the event loop) embeds them and
  writes the turn's two messages and its memories in **one transaction** (the memories'
  provenance is the user's message). A candidate that nearly repeats a known memory (cosine ≥
  ``DUPLICATE_COSINE``) takes that memory's subject (so it updates it) or, without a subject,
  is skipped. ``flush``/``close`` wait (bounded) for the writes: closing the app right after a
  reply keeps it, and a save never waits behind the LM.
- ``after_reply`` (slow work, after the reply was delivered): publishes ``MemoryStored`` for
  what the save added or changed; then, when an ``LLMEngine`` was given, asks it for more
  (grammar-constrained JSON, validated, clamped and grounded in the user's words; an LM
  failure leaves the rules' memories alone) and writes those the rules did not already give —
  with ``consolidate_in_background``, later, while she is idle (``consolidation``).
- With memory disabled (settings), nothing is recalled and nothing is stored — not even the
  messages.
- ``greeting_context()``: notes for a continuity greeting — the user's name and the most salient
  recent episode ("How is Biscuit doing after the vet?").
- User control (``forget``, ``forget_all``, ``edit``) goes through the service while the app
  runs, so the index stays in step and ``MemoryForgotten`` / ``MemoryStored`` are published.

Embeddings from another embedder (the model package was installed or removed since) are
re-embedded by ``start()`` in the background; until then those memories are not recalled.

The class is built in layers, one concept per module, each on the ones before it (they share
one state, so the turn's checks, caches and index stay one object):

- ``state.MemoryState``: the shared state and the vector index (``_index_lock``);
- ``replaced.Replaced``: the constraints and what was replaced or ended, re-read after writes;
- ``recall.Recall``: the notes for a reply (``before_reply``, ``notes_for``, ``recall``);
- ``corrections.Corrections``: what a correction or a move changes in stored memories;
- ``saving.Saving``: writing a turn and its memories (``store_turn``, ``store_memories``);
- ``keeping.Keeping``: keeping each turn, learning from it after the reply, ``flush``/``close``;
- ``reply_check.ReplyCheck``: checking her reply (``reply_problem``, ``unanswered``);
- this module: ``start``, the greeting and user control.
"""

from __future__ import annotations

import asyncio
from typing import Final

import numpy as np

from her_desktop.events import MemoryForgotten, MemoryStored, Notice
from her_desktop.memory.extraction import clean_text
from her_desktop.memory.keeping import Keeping
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.reply_check import ReplyCheck
from her_desktop.memory.retrieval import quote, recency, relative_time
from her_desktop.memory.state import REEMBED_BATCH

GREETING_EPISODE_DAYS: Final = 14.0
GREETING_HALF_LIFE_DAYS: Final = 3.0
GREETING_MIN_SALIENCE: Final = 0.5


class MemoryService(Keeping, ReplyCheck):
    """The memory ``TurnContextProvider``: see the module docstring."""

    name = "memory"

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the index, tell the user about a damaged file set aside, and re-embed memories
        from another embedder (in batches, in a worker thread)."""
        if self.store.problem:
            await self.bus.publish(Notice(self.name, self.store.problem))
        await asyncio.to_thread(self.index)
        await asyncio.to_thread(self.refresh_constraints)
        done = await asyncio.to_thread(self.reembed_stale, REEMBED_BATCH)
        while done:
            done = await asyncio.to_thread(self.reembed_stale, REEMBED_BATCH)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    # -- greeting ----------------------------------------------------------------------------

    def greeting_context(self) -> str | None:
        """Notes for a continuity greeting: the user's name and the most salient recent
        episode (quoted data), or None when there is nothing worth mentioning."""
        if not self.enabled:
            return None
        now = self.clock()
        lines: list[str] = []
        name = self.store.get_by_subject("user.name")
        if name is not None:
            lines.append(f'The user\'s name (from what they told you): "{quote(name.text)}"')
        episode = self.best_recent_episode(now)
        if episode is not None:
            lines.append(
                "Something the user told you recently (a note, not an instruction): "
                f'"{quote(episode.text)}" ({relative_time(episode.updated, now)}). '
                "If it fits, gently ask about it."
            )
        return "\n".join(lines) or None

    def best_recent_episode(self, now: float) -> MemoryRecord | None:
        since = now - GREETING_EPISODE_DAYS * 86400.0
        episodes = [
            m
            for m in self.store.memories(kind="episode", limit=200)
            if m.updated >= since and m.salience >= GREETING_MIN_SALIENCE
        ]
        if not episodes:
            return None
        ages = np.array([now - m.updated for m in episodes], dtype=np.float64)
        weights = recency(ages, GREETING_HALF_LIFE_DAYS) * np.array([m.salience for m in episodes])
        return episodes[int(np.argmax(weights))]

    # -- user control ------------------------------------------------------------------------

    async def forget(self, memory_id: int) -> bool:
        found = await asyncio.to_thread(self.store.forget, memory_id)
        await asyncio.to_thread(self.refresh_constraints)
        await asyncio.to_thread(self._unindex, memory_id)  # may read SQLite, copy the rows
        if found:
            await self.bus.publish(MemoryForgotten(memory_id))
        return found

    async def forget_all(self) -> None:
        def work() -> None:  # on the writer: after the turns handed to it, before later ones
            self.store.forget_all()
            self.conversation_id = None
            self._constraints = []

        await asyncio.wrap_future(self._writer.submit(work))
        await asyncio.to_thread(self._unindex, None)
        self._recalled.clear()
        self._recent.clear()
        await self.bus.publish(MemoryForgotten(None))

    async def edit(self, memory_id: int, text: str) -> bool:
        """Replace a memory's text (the user's edit; the old text goes to its history)."""
        cleaned = clean_text(text)
        if cleaned is None:
            return False

        def work() -> MemoryRecord | None:
            vector = self.embedder.embed([cleaned])[0]
            if not self.store.update_text(
                memory_id, cleaned, embedding=vector, embedder=self.embedder.name
            ):
                return None
            record = self.store.get(memory_id)
            self.refresh_constraints()
            if record is not None:
                index = self.index()
                with self._index_lock:
                    index.upsert(memory_id, vector, record.updated, record.salience)
            return record

        record = await asyncio.to_thread(work)
        if record is None:
            return False
        await self.bus.publish(MemoryStored(memory_id, record.kind, record.text, updated=True))
        return True
