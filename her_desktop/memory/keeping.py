"""Keeping each turn, and learning more from it later (a layer of ``MemoryService``).

``record_turn`` (``TurnRecorder``; the dialogue calls it when an exchange is final, with what the
user heard) hands the turn to the writer thread (one, so turns are written in order, never on
the event loop: ``saving``). ``after_reply`` publishes ``MemoryStored`` for what the save added or
changed; then, with an LM, asks it for more — at once, or later while she is idle
(``consolidate_in_background``, ``consolidation``). ``flush``/``close`` wait (bounded) for the
writes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Sequence
from typing import Final

from her_desktop.events import MemoryForgotten, MemoryStored
from her_desktop.llm.base import LLMError
from her_desktop.memory.consolidation import MAX_PENDING, Consolidator, Pending
from her_desktop.memory.extraction import Candidate
from her_desktop.memory.saving import SavedTurn, Saving, StoredMemory
from her_desktop.memory.state import RECALL_CACHE_TURNS

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S: Final = 5.0
"""How long closing waits for the last turns to be written."""


def _log_failure(future: concurrent.futures.Future[SavedTurn]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("memory: a turn could not be kept", exc_info=future.exception())


class Keeping(Saving):
    """Keeping turns and learning from them: see the module docstring."""

    def record_turn(self, turn_id: int, user_text: str, reply_text: str) -> None:
        """Keep this exchange (``TurnRecorder``): the rules' memories are picked out now and the
        messages and those memories are written by the writer thread, in one transaction, in
        the order the turns came. Never blocks; ``flush`` waits for the writes."""
        if not self.enabled or not user_text.strip() or turn_id in self._saves:
            return
        candidates = self.rules.extract(user_text)
        save = self._writer.submit(self.store_turn, turn_id, user_text, reply_text, candidates)
        save.add_done_callback(_log_failure)
        self._saves[turn_id] = save
        while len(self._saves) > RECALL_CACHE_TURNS * 4:
            self._saves.pop(next(iter(self._saves)))

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        """Publish what the turn's save stored; then, with an LM, its grounded proposals."""
        if not self.enabled or not user_text.strip():
            return
        if turn_id not in self._saves:
            self.record_turn(turn_id, user_text, reply_text)
        save = self._saves.get(turn_id)
        if save is None:
            return
        # shielded: a cancelled after-reply (the app closing) never cancels the write itself
        saved = await asyncio.shield(asyncio.wrap_future(save))
        await self._publish(saved.stored)
        for memory_id in saved.superseded:  # now the history of the newer value
            await self.bus.publish(MemoryForgotten(memory_id))
        if self.lm is None:
            return
        known = [(r.subject, r.text) for r in self._recalled.pop(turn_id, [])]
        known += [(s, t) for s, t in self._recent if (s, t) not in known]
        if self.consolidator is not None:  # read by the LM later, while she is idle
            have = {c.subject for c in saved.candidates if c.subject}
            have |= {c.text.casefold() for c in saved.candidates}
            self.consolidator.submit(
                Pending(saved.user_message_id, user_text, tuple(known), frozenset(have))
            )
            return
        try:
            proposed = await self.lm.extract(user_text, known)
        except (LLMError, TimeoutError) as exc:
            log.warning("memory: LM extraction failed, rules only: %s", exc)
            return
        have = {c.subject for c in saved.candidates if c.subject}
        have |= {c.text.casefold() for c in saved.candidates}
        extra = [c for c in proposed if c.subject not in have and c.text.casefold() not in have]
        if not extra:
            return
        more = self._writer.submit(self.store_memories, saved.user_message_id, extra)
        stored: list[StoredMemory] = await asyncio.shield(asyncio.wrap_future(more))
        await self._publish(stored)

    def consolidate_in_background(self) -> Consolidator | None:
        """Read each turn with the LM while she is idle (``consolidation``) instead of right
        after the reply: where the engine can work in a side context. Call on the loop."""
        if self.lm is None or not self.lm.engine.works_in_background:
            return None
        self.consolidator = Consolidator(
            self.bus, self.lm, self.learned, finished=self._consolidated
        )
        self.consolidator.start()
        self._resuming = asyncio.create_task(self.resume_pending(), name="memory:resume")
        return self.consolidator

    async def resume_pending(self) -> int:
        """Queue again the messages the background LM had not read when the app last closed
        (kept in the store with their turns): read at the first idle time. Returns how many."""
        if self.consolidator is None or not self.enabled:
            return 0
        items = await asyncio.to_thread(self._pending_items)
        for item in items:
            self.consolidator.submit(item)
        if items:
            log.info("memory: %d message(s) from before the restart queued for reading", len(items))
        return len(items)

    def _pending_items(self) -> list[Pending]:
        items: list[Pending] = []
        for message_id, text in self.store.pending(MAX_PENDING):
            stored = self.store.sourced_from(message_id)
            have = {r.subject for r in stored if r.subject} | {r.text.casefold() for r in stored}
            known = tuple((r.subject, r.text) for r in self.recall_by_words(text, 4))
            items.append(Pending(message_id, text, known, frozenset(have)))
        return items

    async def _consolidated(self, item: Pending) -> None:
        """A message read by the background LM leaves the persisted queue (writer thread)."""
        if item.message_id is None:
            return
        done = self._writer.submit(self.store.done_pending, item.message_id)
        await asyncio.shield(asyncio.wrap_future(done))

    async def learned(self, source_message_id: int | None, found: Sequence[Candidate]) -> None:
        """Store what the background LM found in a kept message (writer thread), announce it."""
        more = self._writer.submit(self.store_memories, source_message_id, list(found))
        stored: list[StoredMemory] = await asyncio.shield(asyncio.wrap_future(more))
        await self._publish(stored)

    async def _publish(self, stored: Sequence[StoredMemory]) -> None:
        for item in stored:
            if item.status == "same":
                continue
            await self.bus.publish(
                MemoryStored(
                    item.memory_id,
                    item.candidate.kind,
                    item.candidate.text,
                    updated=item.status == "updated",
                )
            )

    async def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait (at most ``timeout_s``) for the turns handed to the writer to be written.
        False when some were still being written."""
        pending = [f for f in self._saves.values() if not f.done()]
        if not pending:
            return True
        _, left = await asyncio.to_thread(concurrent.futures.wait, pending, timeout_s)
        return not left

    async def close(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Stop the background reading, write what is pending (bounded), then stop the writer
        thread."""
        if self._resuming is not None:
            self._resuming.cancel()
            await asyncio.gather(self._resuming, return_exceptions=True)
        if self.consolidator is not None:
            await self.consolidator.close()
        if not await self.flush(timeout_s):
            log.warning("memory: a turn was still being written when the app closed")
        self._writer.shutdown(wait=False, cancel_futures=False)
