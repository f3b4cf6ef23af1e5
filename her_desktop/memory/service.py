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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from her_desktop.bus import Bus
from her_desktop.events import MemoryForgotten, MemoryStored, Notice
from her_desktop.llm.base import LLMEngine, LLMError
from her_desktop.memory.answered import (
    Asked,
    asked,
    bare,
    check,
    dont_know,
    theirs,
)
from her_desktop.memory.changed import Change, called, read_change, revise
from her_desktop.memory.consolidation import MAX_PENDING, Consolidator, Pending, worth_reading
from her_desktop.memory.constraints import (
    CONSTRAINT_PREFIXES,
    Constraint,
    constraints_from,
    offended,
)
from her_desktop.memory.embeddings import Embedder
from her_desktop.memory.extraction import Candidate, LMExtractor, clean_text
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.index import Vector, VectorIndex
from her_desktop.memory.person import Told, speaks_as_user, told_phrases
from her_desktop.memory.questions import (
    QUESTION_WORDS,
    answers,
    asks_about_told,
    is_self_question,
    shared,
)
from her_desktop.memory.records import MemoryRecord, NewMemory, Upserted
from her_desktop.memory.retrieval import (
    DEFAULT_BUDGET_TOKENS,
    DEFAULT_LIMIT,
    DEFAULT_WEIGHTS,
    HEADER,
    Scored,
    Weights,
    format_notes,
    quote,
    rank,
    recency,
    relative_time,
    second_person,
)
from her_desktop.memory.rules import WHEN_SPAN, RuleExtractor
from her_desktop.memory.slots import (
    KEPT_PREFIXES,
    Held,
    asks_past,
    changing,
    current,
    slot_of,
    supersedes,
)
from her_desktop.memory.store import Clock, MemoryStore, Turn
from her_desktop.memory.whom import asked_about, mentions
from her_desktop.sentences import split_sentences
from her_desktop.turn_context import ReplyProblem

log = logging.getLogger(__name__)

DUPLICATE_COSINE: Final = 0.92
"""A candidate this close to a known memory repeats it (takes its subject, or is skipped)."""
SAME_TEXT_COSINE: Final = 0.97
"""A candidate with its own subject this close to a known memory takes the known subject (the
LM named the same thing with another key)."""
REEMBED_BATCH: Final = 64
RECALL_CACHE_TURNS: Final = 8
CHANGE_SCAN: Final = 2000
"""the newest notes read for what changed (``changed``)"""
RECENT_SUBJECTS: Final = 4
GREETING_EPISODE_DAYS: Final = 14.0
GREETING_HALF_LIFE_DAYS: Final = 3.0
GREETING_MIN_SALIENCE: Final = 0.5
UNKNOWN_NOTE: Final = (
    "- (No note answers this question about the user: you do not know it yet. Say so and ask.)"
)
UNKNOWN_INSTRUCTION: Final = (
    "The notes do not say this about the user: do not guess. Say in one short sentence that "
    "you don't know it yet, and ask them."
)
HEARD_MESSAGES: Final = 200
"""the user's messages of this conversation kept for ``answered`` (their own words)"""
PROTECTED_PREFIXES: Final = ("style:", "feedback:")
"""subjects other services own (her_desktop.feedback: how she talks, ratings): memory never
re-files, corrects or quotes them as notes"""
RECALL_BUDGET_S: Final = 0.9
"""Recall by meaning gets this long (the dialogue waits 1.5 s at most); then by words."""
RESCHEDULE_CANDIDATES: Final = 5
RESCHEDULE_COSINE: Final = 0.4
"""a rescheduling with no word in common with a timed memory moves it when this close"""
PARTNER_NAME: Final = re.compile(
    r"^people\.(?:wife|husband|partner|girlfriend|boyfriend|fiance)\.name$"
)
VALUE_WORDS: Final = re.compile(r"(?<=\s)(?:(?-i:[A-Z])[\w'-]+|\d[\w'-]*)")
"""the words of a text that are values: names, places, numbers (not its first word)"""
STATEMENT_WORDS: Final = 6
"""a correction no memory holds is kept when it is at least this long (a statement)"""
FLUSH_TIMEOUT_S: Final = 5.0
"""How long closing waits for the last turns to be written."""


@dataclass(frozen=True, slots=True)
class Recalled:
    record: MemoryRecord
    scored: Scored


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


def _log_failure(future: concurrent.futures.Future[SavedTurn]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("memory: a turn could not be kept", exc_info=future.exception())


class MemoryService:
    """The memory ``TurnContextProvider``: see the module docstring."""

    name = "memory"

    def __init__(
        self,
        bus: Bus,
        store: MemoryStore,
        embedder: Embedder,
        *,
        engine: LLMEngine | None,
        enabled: bool,
        clock: Clock = time.time,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        limit: int = DEFAULT_LIMIT,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> None:
        self.bus = bus
        self.store = store
        self.embedder = embedder
        self.enabled = enabled
        self.clock = clock
        self.budget_tokens = budget_tokens
        self.limit = limit
        self.weights = weights
        self.rules = RuleExtractor()
        self.lm = LMExtractor(engine) if engine is not None else None
        self.consolidator: Consolidator | None = None
        """set by ``consolidate_in_background``: the LM reads turns while she is idle"""
        self.conversation_id: int | None = None
        """set only once a conversation's first turn is committed"""
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="memory-write")
        self._saves: dict[int, concurrent.futures.Future[SavedTurn]] = {}
        self._constraints: list[Constraint] = []
        self._asked: Asked | None = None
        """this turn's question about the user, and what her answer may say (``answered``)"""
        self._answered = False
        """her reply to ``_asked`` has answered it, or said she does not know"""
        self._heard: list[str] = []
        """the user's messages in this conversation (their own words: ``answered``)"""
        self._told: list[Told] = []
        """the first-person phrases of this turn's recalled memories (``person``)"""
        self._stale: dict[str, float] = {}
        """the words of replaced texts, and when each was last replaced"""
        self._stale_values: dict[str, float] = {}
        """replaced values (names, places, numbers) and when they were replaced"""
        """words of replaced values ("Denver" after "I moved to Austin")"""
        self._changes: list[Change] | None = None
        """the notes that say a value is over or was wrong (``changed``), newest first; None
        until first read"""
        self._read: dict[int, tuple[str, Change | None]] = {}
        """each note's text when it was last read for a change, and the change"""
        self._index: VectorIndex | None = None
        self._index_lock = threading.Lock()
        """Guards ``_index``'s rows for the few statements of a change or of taking a view
        (copy on write); never held across SQLite, an embedding or ranking."""
        self._recalled: OrderedDict[int, list[MemoryRecord]] = OrderedDict()
        self._recent: list[tuple[str, str]] = []
        self._resuming: asyncio.Task[int] | None = None

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

    def index(self) -> VectorIndex:
        """The in-memory index, loaded from the store on first use (a worker thread: it reads
        SQLite; two first uses may both load, the first one kept)."""
        with self._index_lock:
            if self._index is not None:
                return self._index
        table = self.store.embeddings(self.embedder.name, self.embedder.dim)
        loaded = VectorIndex.from_table(table, self.embedder.dim)
        with self._index_lock:
            if self._index is None:
                self._index = loaded
            return self._index

    def reembed_stale(self, batch: int = REEMBED_BATCH) -> int:
        """Embed up to ``batch`` memories that have no embedding from this embedder."""
        stale = self.store.stale(self.embedder.name, self.embedder.dim, limit=batch)
        if not stale:
            return 0
        vectors = self.embedder.embed([text for _, text in stale])
        rows = [(memory_id, vectors[i]) for i, (memory_id, _) in enumerate(stale)]
        self.store.set_embeddings(rows, self.embedder.name)
        records = self.store.get_many([memory_id for memory_id, _ in rows])
        index = self.index()
        with self._index_lock:
            for memory_id, vector in rows:
                record = records.get(memory_id)
                if record is not None:
                    index.upsert(memory_id, vector, record.updated, record.salience)
        return len(rows)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    # -- before the reply --------------------------------------------------------------------

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
        records = [r for r in records if not protected(r.subject)]
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

        if question:  # the older notes a newer one says changed are history (``slots``)
            records = current(records, user_text, answering)
        if not asks_past(user_text):  # an old value is not handed as current (``changed``)
            revised = revise(records, self._changes_now(), user_text, answering, kept=_kept)
            records, standing_in = revised.notes, revised.standing_in
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

    # -- checking her reply (ReplyGuard) ---------------------------------------------------

    def refresh_constraints(self) -> None:
        """Re-read the stored allergies, things avoided and dislikes, and the words of values
        that were replaced since (in a worker thread)."""
        self._constraints = constraints_from(self.store.with_subject_prefix(CONSTRAINT_PREFIXES))
        stale: dict[str, float] = {}
        values: dict[str, float] = {}
        for old, new, replaced in self.store.replaced_values():
            now = {stem(w) for w in words(new)}
            gone = {stem(w) for w in words(old) if w not in FUNCTION_WORDS and stem(w) not in now}
            for w in gone:
                stale[w] = max(stale.get(w, 0.0), replaced)
            for w in VALUE_WORDS.findall(" " + old[1:]):  # "Biscuit", "Denver", "9th"
                if stem(w.lower()) in gone:
                    values[stem(w.lower())] = max(values.get(stem(w.lower()), 0.0), replaced)
        self._stale = stale
        self._stale_values = values
        self._changes = self._read_changes()

    def _changes_now(self) -> list[Change]:
        if self._changes is None:
            self._changes = self._read_changes()
        return self._changes

    def _read_changes(self) -> list[Change]:
        """The notes that say a value is over or was wrong (``changed.read_change``; each
        note is read again only when its text changed)."""
        out: list[Change] = []
        seen: set[int] = set()
        for record in self.store.memories(limit=CHANGE_SCAN):
            seen.add(record.id)
            if _kept(record):
                continue
            known = self._read.get(record.id)
            if known is not None and known[0] == record.text:
                change = known[1]
            else:
                change = read_change(record)
                if change is not None and change.gone and change.old:
                    older = [r for w in change.old for r in self.store.search_text(w, limit=20)]
                    change = dataclasses.replace(change, called=called(change, older))
                self._read[record.id] = (record.text, change)
            if change is not None:
                out.append(dataclasses.replace(change, record=record))
        for gone in self._read.keys() - seen:
            del self._read[gone]
        return out

    def _outdated(self, record: MemoryRecord) -> bool:
        """A note that names a value replaced since: an episode naming any word of a replaced
        text ("My friends in Denver threw me a party" after "I moved to Austin"), or another
        keyed note naming the replaced value itself (a name, a place, a number) and written
        before it was replaced ("Biscuit sleeps in his basket" after the puppy's rename)."""
        said = {stem(w) for w in words(record.text)}
        if record.subject is None:
            if any(record.updated < self._stale[w] for w in said & self._stale.keys()):
                return True  # told before the change
            # told with the change ("we call her Ziggy now, Whiskers didn't fit"): only when it
            # names the replaced value itself, not a word of how it was said ("I drive a…")
            values = self._stale_values.items()
            return any(record.updated <= when for w, when in values if w in said)
        return any(
            record.updated < replaced for w, replaced in self._stale_values.items() if w in said
        )

    def guarding(self) -> bool:
        return self.enabled and (
            bool(self._constraints) or self._asked is not None or bool(self._told)
        )

    def reply_problem(self, sentence: str) -> ReplyProblem | None:
        """A reply sentence that suggests what the user is allergic to, avoids or dislikes;
        or a sentence that states a recalled memory as her own (said back in the second
        person: ``person``); or, when the user asked about themselves, a sentence that
        asserts what they never told her (a guess, a value in no note nor in their words, a
        replaced value): she says she does not know it yet and asks instead (``answered``)."""
        if not self.enabled:
            return None
        found = offended(sentence, self._constraints)
        if found is not None:
            return ReplyProblem(found.instruction, found.reminder)
        if speaks_as_user(sentence, self._told):  # "I work at St. Mary's…": the user's fact
            return ReplyProblem("", second_person(sentence), rewrite=True)
        a = self._asked
        if a is None:
            return None
        fixed = theirs(sentence, a)  # "I don't know when my birthday is": the user's birthday
        verdict = check(fixed, a)
        told = self._told_answer(a)
        if verdict in ("invented", "replaced"):  # a guess, a value never told, a replaced one
            if self._answered:
                return ReplyProblem(UNKNOWN_INSTRUCTION, "")  # the reply ends before it
            self._answered = True  # what the note says, or that she doesn't know yet
            return ReplyProblem(
                UNKNOWN_INSTRUCTION, told or dont_know(a.question), rewrite=True, answer=bool(told)
            )
        if verdict == "dont_know" and told is not None and not self._answered:
            self._answered = True  # "I don't know yet" though a note answers it: the note
            return ReplyProblem("", told, rewrite=True, answer=True)
        if verdict == "dont_know" and bare(fixed):
            self._answered = True  # "I don't know yet.": what, and her question (never a repeat)
            return ReplyProblem("", dont_know(a.question), rewrite=True)
        if verdict in ("answer", "dont_know"):
            self._answered = True
        elif a.unknown and not self._answered and fixed.rstrip().endswith("?"):
            self._answered = True  # her question ends the reply: say first she doesn't know
            return ReplyProblem("", dont_know(a.question), rewrite=True)
        return ReplyProblem("", fixed, rewrite=True) if fixed != sentence else None

    def unanswered(self, said: str) -> str | None:
        """What she says when her reply to a question about the user (``said``: what of it
        was kept) holds no answer: the note that answers it (second person), or that she does
        not know it yet (``ReplyCloser``)."""
        a = self._asked
        if not self.enabled or a is None:
            return None
        if any(check(theirs(x, a), a) in ("answer", "dont_know") for x in split_sentences(said)):
            return None
        return self._told_answer(a) or dont_know(a.question)

    @staticmethod
    def _told_answer(a: Asked) -> str | None:
        """The note that answers ``a`` (second person), when one does and saying it asserts
        only what is current: what she says in place of a guess or a "don't know"."""
        if a.unknown or a.answer is None or check(a.answer, a) != "answer":
            return None
        return a.answer

    # -- keeping the turn --------------------------------------------------------------------

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

    def _corrections(
        self, corrections: Sequence[Candidate]
    ) -> tuple[list[tuple[int, Candidate]], list[Candidate]]:
        """ "it's Ana, not Anna": each stored memory with the old word, with the new one (the
        store keeps the old text as history). A correction no memory holds is kept as what
        the user said (an episode) when it is a whole statement ("I meant Ripon, not
        Harrogate, …"), else dropped ("It's Ana, not Anna." says nothing on its own)."""
        out: list[tuple[int, Candidate]] = []
        unmatched: list[Candidate] = []
        for c in corrections:
            assert c.replaces is not None
            old, new = c.replaces
            word = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)", re.IGNORECASE)
            before = len(out)
            for record in self.store.search_text(old, limit=20):
                if not word.search(record.text) or record.id in {i for i, _ in out}:
                    continue
                if protected(record.subject):
                    continue
                fixed = Candidate(
                    record.kind,
                    word.sub(new, record.text),
                    record.subject,
                    max(record.confidence, c.confidence),
                    record.valence,
                    record.salience,
                )
                out.append((record.id, fixed))
            if len(out) == before and len(c.text.split()) >= STATEMENT_WORDS:
                unmatched.append(dataclasses.replace(c, kind="episode", replaces=None))
        return out, unmatched

    def _moves(
        self, moves: Sequence[Candidate]
    ) -> tuple[list[tuple[int, Candidate]], list[Candidate]]:
        """ "the pottery class moved to Thursdays": the newest memory about the topic that says
        when it is gets the new day or time (the old text goes to its history). A move with no
        such memory is kept as an episode."""
        out: list[tuple[int, Candidate]] = []
        unmatched: list[Candidate] = []
        for c in moves:
            assert c.moves is not None
            topic, when = c.moves
            stems = {stem(w) for w in topic.split()}
            found: dict[int, MemoryRecord] = {}
            for w in topic.split():
                for record in self.store.search_text(stem(w), limit=20):
                    if protected(record.subject):
                        continue
                    if not when or WHEN_SPAN.search(record.text):  # no time: "I sold the Fiat"
                        found[record.id] = record
            best: MemoryRecord | None = None
            best_key: tuple[int, int, float] = (0, 0, 0.0)
            for record in found.values():
                shared = len(stems & {stem(w) for w in words(record.text)})
                # what ended replaces the current value (a keyed fact) before an episode
                keyed = int(not when and record.subject is not None)
                if shared and (shared, keyed, record.updated) > best_key:
                    best, best_key = record, (shared, keyed, record.updated)
            if best is None and when:  # "the wedding got moved…": "getting married in May"
                best = self._timed_by_meaning(c.text)
            if best is None:
                unmatched.append(dataclasses.replace(c, moves=None))
                continue
            if not when and PARTNER_NAME.match(best.subject or ""):
                out += self._exes(best)  # a breakup: "my girlfriend is a dentist" → "ex-"
            if not when:  # the memory about it is replaced by what the user says now
                fixed = Candidate(
                    best.kind, c.text, best.subject, c.confidence, best.valence, best.salience
                )
                out.append((best.id, fixed))
                continue
            span = WHEN_SPAN.search(best.text)
            assert span is not None
            new_when = when
            prep = re.match(r"(on|every|at|in) ", span.group(0), re.IGNORECASE)
            if prep and not re.match(r"(on|every|at|in|next) ", when, re.IGNORECASE):
                new_when = f"{prep.group(1)} {when}"
            text = best.text[: span.start()] + new_when + best.text[span.end() :]
            fixed = Candidate(
                best.kind, text, best.subject, max(best.confidence, c.confidence),
                best.valence, best.salience,
            )  # fmt: skip
            out.append((best.id, fixed))
        return out, unmatched

    def _timed_by_meaning(self, text: str) -> MemoryRecord | None:
        """The memory saying when something is that a rescheduling is closest to in meaning
        (no shared word: "the wedding" and "getting married in May"), if close enough."""
        for found in self.recall(text, limit=RESCHEDULE_CANDIDATES):
            record = found.record
            if protected(record.subject) or not WHEN_SPAN.search(record.text):
                continue
            if found.scored.relevance >= RESCHEDULE_COSINE:
                return record
        return None

    def _exes(self, ended: MemoryRecord) -> list[tuple[int, Candidate]]:
        """After a breakup (``ended``: the partner's name), the partner's other facts say
        "my ex-girlfriend" (the old text goes to each one's history)."""
        base = (ended.subject or "").removesuffix(".name")
        noun = base.split(".")[-1]
        out: list[tuple[int, Candidate]] = []
        mine = re.compile(rf"\b([Mm]y) {re.escape(noun)}\b")
        for record in self.store.with_subject_prefix((f"{base}.",)):
            if record.id == ended.id or not mine.search(record.text):
                continue
            text = mine.sub(rf"\1 ex-{noun}", record.text)
            fixed = Candidate(
                record.kind, text, record.subject, record.confidence, record.valence,
                record.salience,
            )  # fmt: skip
            out.append((record.id, fixed))
        return out

    def _who_is_named(self, c: Candidate) -> Candidate:
        """ "Mira moved to Berlin" (``people.named.mira.home``): when a stored memory names
        Mira ("My sister is called Mira."), the subject is the sister's home."""
        if c.subject is None or not c.subject.startswith("people.named."):
            return c
        _, _, slug, field = c.subject.split(".", 3)
        name = c.text.split(" ", 1)[0]
        for record in self.store.search_text(name, limit=20):
            subject = record.subject or ""
            m = re.match(rf"^My (?P<noun>[\w ]+?) is called {re.escape(name)}\.$", record.text)
            if m and subject.endswith(".name"):
                rest = c.text.split(" ", 1)[1]
                return dataclasses.replace(
                    c,
                    subject=f"{subject.removesuffix('.name')}.{field}",
                    text=f"My {m['noun']} {rest}",
                )
            if subject.startswith("people.") and subject.endswith(f".{slug}"):
                return dataclasses.replace(c, subject=f"{subject}.{field}")
        return c

    def _fill_there(self, c: Candidate) -> Candidate:
        """ "I no longer work there." names the place from the value it replaces."""
        if c.subject is None or not c.text.endswith(" there."):
            return c
        record = self.store.get_by_subject(c.subject)
        if record is None or "no longer" in record.text:
            return c
        m = re.search(r"\b(at|in|for) (.+?)[.!]*$", record.text)
        if m is None:
            return c
        return dataclasses.replace(c, text=f"{c.text[: -len('there.')]}{m[1]} {m[2]}.")

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

    def _unindex(self, memory_id: int | None) -> None:
        """Remove a memory from the index (None: all of them). A worker thread."""
        index = self.index()
        with self._index_lock:
            if memory_id is None:
                index.clear()
            else:
                index.remove(memory_id)

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


def _kept(record: MemoryRecord) -> bool:
    """A note no change hides (constraints, other services' notes)."""
    return record.subject is not None and record.subject.startswith(KEPT_PREFIXES)


def protected(subject: str | None) -> bool:
    """A subject another service owns (``PROTECTED_PREFIXES``)."""
    return subject is not None and subject.startswith(PROTECTED_PREFIXES)
