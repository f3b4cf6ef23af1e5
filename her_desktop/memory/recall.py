"""The notes for a reply (a layer of ``MemoryService``).

``before_reply`` (fast: one embedding and one matrix product, in a worker thread): the memories
related to this turn, ranked and fitted to a token budget (``retrieval``), as a quoted block of
notes — data, never instructions. By meaning (``recall``) and by shared words
(``recall_by_words``; alone when the CPU is too busy). For a question about the user, the notes
that answer it come first, and when none does the block says she does not know it yet; the
turn's question is kept for the reply check (``reply_check``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.answered import asked
from her_desktop.memory.changed import revise
from her_desktop.memory.followups import FOLLOW_SCAN, follow
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.kinds import MEMBERS, kind_asked
from her_desktop.memory.person import told_phrases
from her_desktop.memory.questions import (
    answers,
    asks_about_told,
    fits_slots,
    is_self_question,
    shared,
)
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.replaced import Replaced
from her_desktop.memory.retrieval import HEADER, Scored, format_notes, rank, second_person
from her_desktop.memory.slots import asks_past, current, in_place_of
from her_desktop.memory.state import RECALL_CACHE_TURNS, is_kept, protected
from her_desktop.memory.whom import asked_about, mentions
from her_desktop.memory.words import QUESTION_WORDS

log = logging.getLogger(__name__)

UNKNOWN_NOTE: Final = (
    "- (No note answers this question about the user: you do not know it yet. Say so and ask.)"
)
HEARD_MESSAGES: Final = 200
"""the user's messages of this conversation kept for ``answered`` (their own words)"""
RECALL_BUDGET_S: Final = 0.9
"""Recall by meaning gets this long (the dialogue waits 1.5 s at most); then by words."""
KIND_SCAN: Final = 500
"""how many of the newest memories a question asking for a kind ("what hobby") reads"""
KIND_LIMIT: Final = 3


@dataclass(frozen=True, slots=True)
class Recalled:
    record: MemoryRecord
    scored: Scored


class Recall(Replaced):
    """Recall and the notes for a reply: see the module docstring."""

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        if not self.enabled or not user_text.strip():
            return None
        self._answered = False  # until the notes are read (late on a busy CPU, or never, when
        self._asked = (  # the reply starts without them): only the user's words ground it
            asked(user_text, [], [*self._heard, user_text], self._stale, unknown=False)
            if is_self_question(user_text)
            else None
        )
        work = asyncio.ensure_future(asyncio.to_thread(self.notes_for, user_text, turn_id))
        try:
            return await asyncio.wait_for(asyncio.shield(work), RECALL_BUDGET_S)
        except TimeoutError:  # a busy CPU: the embedding is late; the words are enough
            log.info("memory: recall by meaning was slow; recalling by words")
            return await asyncio.to_thread(self.notes_for, user_text, turn_id, by_words=True)

    def preview_notes(self, user_text: str) -> str | None:
        """The notes ``before_reply`` would give for ``user_text`` now (recall by meaning and
        by words), with nothing of the turn's checks set (``turn_context.NotesPreview``; a
        worker thread)."""
        if not self.enabled or not user_text.strip():
            return None
        return self.notes_for(user_text)

    def notes_for(
        self, user_text: str, turn_id: int | None = None, *, by_words: bool = False
    ) -> str | None:
        """The quoted block of related memories for ``user_text`` (None when none). When the
        user asks about themselves and no note answers it, the block says she does not know
        it yet (so she says so instead of guessing). ``by_words``: recall by shared words
        only (no embedding: the fallback when the CPU is too busy)."""
        if by_words:
            records = self.recall_by_words(user_text)
        else:
            records = [r.record for r in self.recall(user_text)]
            seen = {r.id for r in records}  # and what shares its words ("marathon", "Bea")
            records += [r for r in self.recall_by_words(user_text, 4) if r.id not in seen]
            seen |= {r.id for r in records}  # and the newest naming one of the kind asked
            records += [r for r in self.recall_by_kind(user_text) if r.id not in seen]
        records = [r for r in records if not protected(r.subject)]
        closest = records[0].id if records else None  # first in meaning (or words)
        if turn_id is not None:
            self._recalled[turn_id] = records
            self._told = told_phrases(r.text for r in records)  # ``reply_problem``
            while len(self._recalled) > RECALL_CACHE_TURNS:
                self._recalled.popitem(last=False)
        if self._stale:  # a note naming a replaced value would contradict the update
            records = [r for r in records if not self._outdated(r)]
        question = is_self_question(user_text) or asks_about_told(user_text, records)
        # "where is greta living now": a note about where the user lives does not answer it
        whom = asked_about(user_text, [r.text for r in records]) if question else frozenset()

        standing_in: frozenset[int] = frozenset()  # set by ``revise`` below

        def answering(asked: str, r: MemoryRecord) -> bool:
            return r.id in standing_in or (answers(asked, r) and mentions(r.text, whom))

        in_place: frozenset[int] = frozenset()
        if question:  # the older notes a newer one says changed are history (``slots``)
            kept = current(records, user_text, answering)
            gone = [r for r in records if r not in kept and answering(user_text, r)]
            records, in_place = kept, in_place_of(gone, kept, user_text)
        if not asks_past(user_text):  # an old value is not handed as current (``changed``)
            revised = revise(records, self._changes_now(), user_text, answering, kept=is_kept)
            records, standing_in = revised.notes, revised.standing_in | in_place
        if question and not asks_past(user_text):  # an update naming the old value
            records, standing_in = self._followed(
                records, user_text, answering, standing_in, closest
            )
        if question:  # the notes that answer it first, the latest first (an update wins);
            # about someone else, the note sharing most of the question first ("what does
            # elodie do on saturdays": her ballet on saturdays, not her birthday cake)
            records.sort(
                key=lambda r: (
                    not answering(user_text, r),
                    -shared(user_text, r) if whom else 0,
                    -r.updated,
                )
            )
        notes = format_notes(records, self.clock(), budget_tokens=self.budget_tokens)
        unknown = question and not any(answering(user_text, r) for r in records)
        if turn_id is not None:  # her reply to this turn must not guess (``reply_problem``)
            self._heard = [*self._heard[-HEARD_MESSAGES:], user_text]
            self._answered = False
            self._asked = (
                asked(
                    user_text,
                    [r.text for r in records],
                    self._heard,
                    self._stale,
                    unknown=unknown,
                    answer=next(
                        (second_person(r.text) for r in records if answering(user_text, r)),
                        None,
                    ),
                    whom=whom,
                )
                if question
                else None
            )
        if unknown:
            return f"{notes or HEADER}\n{UNKNOWN_NOTE}"
        return notes

    def _followed(
        self,
        records: list[MemoryRecord],
        question: str,
        answering: Callable[[str, MemoryRecord], bool],
        standing_in: frozenset[int],
        closest: int | None,
    ) -> tuple[list[MemoryRecord], frozenset[int]]:
        """``records`` with each note an update replaces (``followups``) in its place: the
        update answers the question when the note did, or when the note was the closest in
        meaning and the update is the kind of thing asked (``fits_slots``)."""
        ups = follow(records, question, lambda w: self.store.search_text(w, limit=FOLLOW_SCAN + 1))
        out = list(records)
        standing = set(standing_in)
        for up in ups:
            if protected(up.newer.subject):
                continue
            stands = answering(question, up.older) or (
                up.older.id == closest and fits_slots(question, up.newer)
            )
            out = [r for r in out if r.id != up.newer.id]
            out = [up.newer if r.id == up.older.id else r for r in out]
            if stands:
                standing.add(up.newer.id)
        return out, frozenset(standing)

    def recall_by_words(self, text: str, limit: int | None = None) -> list[MemoryRecord]:
        """Memories sharing content words with ``text`` (most shared first, then newest)."""
        asked = [w for w in words(text) if w not in FUNCTION_WORDS | QUESTION_WORDS]
        found: dict[int, tuple[int, MemoryRecord]] = {}
        for word in dict.fromkeys(stem(w) for w in asked if len(w) >= 3):
            for record in self.store.search_text(word, limit=20):
                count, _ = found.get(record.id, (0, record))
                found[record.id] = (count + 1, record)
        ranked = sorted(found.values(), key=lambda cr: (-cr[0], -cr[1].updated))
        return [record for _, record in ranked[: limit or self.limit]]

    def recall_by_kind(self, question: str, limit: int = KIND_LIMIT) -> list[MemoryRecord]:
        """The newest memories naming one of the kind ``question`` asks for ("what hobby…":
        "signed up for pottery"; ``kinds``), among the latest ``KIND_SCAN``."""
        kind = kind_asked(question)
        if kind is None:
            return []
        members = MEMBERS[kind]
        found = [r for r in self.store.memories(limit=KIND_SCAN) if members & set(words(r.text))]
        return found[:limit]

    def recall(self, text: str, limit: int | None = None) -> list[Recalled]:
        """Related memories, best first (ranking in ``retrieval``)."""
        query = self.embedder.embed([text])[0]
        index = self.index()
        with self._index_lock:
            view = index.view()  # unchanged by later writes (copy on write): ranked unlocked
        scored = rank(
            view,
            query,
            now=self.clock(),
            min_relevance=self.embedder.min_relevance,
            limit=limit or self.limit,
            weights=self.weights,
        )
        records = self.store.get_many([s.memory_id for s in scored])
        return [Recalled(records[s.memory_id], s) for s in scored if s.memory_id in records]
