"""The style service: hears corrections, keeps them as preference memories, shapes every reply.

It is a ``TurnContextProvider`` (before each reply: parse the user's turn for corrections,
reload the stored rules, give the prompt the style block) and the dialogue's ``ReplyShaper``
(the reply's token cap, the one-time confirmation, the Python check of each sentence), and a
``ReplyGuard`` for the language asked, on every sentence of the reply: an English first
sentence has the LM asked once more (a second English start is taken as it comes), an English
sentence later ends the reply before it (Python cannot translate it). Bounded: one second try
per reply.

Storage: each rule is a memory of kind ``preference`` with subject ``style:<kind>`` and, as text,
the rule in the user's words (``corrections.canonical``), so the memory view and
``her-desktop memory`` list, edit and forget it like any memory; the rules are re-read from the
store before every reply, so an edit or a forget applies to the next turn. The memory's source
is the user message that said it (linked after the turn is saved). With memory off
(``remember=False`` or no store) the rules last for the session only.

All store work runs in worker threads; the service never holds a lock across it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from her_desktop.feedback import ratings as rating_store
from her_desktop.feedback.corrections import Correction, canonical, clauses, parse, subject
from her_desktop.feedback.language import VoiceLanguage
from her_desktop.feedback.ratings import Rating, learned_notes, rating_for
from her_desktop.feedback.style import (
    IN_LANGUAGE,
    ReplyCheck,
    Style,
    confirmation,
    in_language,
    wrong_language,
)
from her_desktop.memory.records import MemoryRecord, NewMemory
from her_desktop.memory.store import MemoryStore
from her_desktop.turn_context import ReplyProblem

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "style:"


@dataclass
class TurnShape:
    """One reply's shape (the ``turn_context.ReplyShape`` protocol)."""

    opening: str
    complete: bool
    style: Style
    user_text: str = ""
    check: ReplyCheck = field(init=False)

    said: int = field(init=False, default=0)
    """sentences that passed the language check (the opening counts as one)"""
    retried: bool = field(init=False, default=False)
    """the LM was asked once more for this reply (never twice)"""
    taken: bool = field(init=False, default=False)
    """the second try began in English too: taken as it comes, unchecked"""

    def __post_init__(self) -> None:
        self.check = self.style.check(self.user_text)

    def restart(self) -> None:
        """Count the reply's sentences from the start again (the LM is asked once more)."""
        self.check = self.style.check(self.user_text)

    def max_tokens(self, cap: int) -> int:
        return self.style.max_tokens(cap)

    def sentence(self, text: str) -> str | None:
        return self.check.sentence(text)


def style_records(store: MemoryStore) -> list[MemoryRecord]:
    """The stored style rules, oldest first. Blocking."""
    records = [
        r
        for r in store.memories(limit=100_000)  # any kind: the memory service may re-file it
        if (r.subject or "").startswith(SUBJECT_PREFIX)
    ]
    return sorted(records, key=lambda r: (r.updated, r.id))


def read_style(store: MemoryStore) -> Style:
    """The style as stored now: the rules (re-read from their text, so the user's edits count)
    and the notes learned from ratings. Blocking."""
    corrections = [c for r in style_records(store) for c in parse(r.text)[:1]]
    style = Style.from_corrections(corrections)
    notes = tuple(learned_notes(rating_store.load(store)))
    return dataclasses.replace(style, learned=notes)


class StyleService:
    name = "style"

    def __init__(self, store: MemoryStore | None, *, remember: bool = True) -> None:
        self.store = store
        self.remember = remember and store is not None
        self.style = Style()
        self._session: list[Correction] = []
        """rules heard but not (yet) stored"""
        self._heard: dict[int, tuple[list[Correction], bool]] = {}
        """turn id → (corrections heard in it, whether they were all the turn said)"""
        self._ratings: list[Rating] = []
        """ratings kept for this session only (memory off)"""
        self.voice_language: VoiceLanguage | None = None
        """her hearing and voice, switched when the asked language changes (with voice on)"""
        self._language_notes: dict[int, str] = {}
        """turn id → what to say about the switch (spoken French needs another model…)"""
        self._pending_note = ""
        self._shape: TurnShape | None = None
        """the reply being shaped now (its first sentence's language is checked once)"""

    def use_store(self, store: MemoryStore | None, *, remember: bool = True) -> None:
        """Keep the rules in ``store`` (opened after the service was made)."""
        self.store = store
        self.remember = remember and store is not None

    async def refresh(self) -> None:
        """Read the stored rules now (at start: the greeting and the pace follow them)."""
        self.style = await asyncio.to_thread(self._current)

    async def attach_voice(self, switch: VoiceLanguage) -> None:
        """Her hearing and voice follow the asked language from now on (the stored one at
        once; what is missing is said on the next reply)."""
        await asyncio.to_thread(switch.survey)
        self.voice_language = switch
        self._pending_note = await switch.switch(self.style.language)

    # -- the dialogue's provider -----------------------------------------------------------

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        found = parse(user_text)
        if found:
            found = [self._absolute(c) for c in found]
            only = len(found) == len(clauses(user_text))
            self._heard[turn_id] = (found, only)
            self._session += found
            if self.remember:  # stored at once: it counts even if the app closes right after
                try:
                    await asyncio.to_thread(self._persist, found)
                except Exception:  # kept for the session; the conversation goes on
                    log.exception("style: could not store the rules")
        self.style = await asyncio.to_thread(self._current)
        if self.voice_language is not None:
            note = await self.voice_language.switch(self.style.language)
            note = " ".join(n for n in (self._pending_note, note) if n)
            self._pending_note = ""
            if note:
                self._language_notes[turn_id] = note
        return self.style.block() or None

    def preview_notes(self, user_text: str) -> str | None:
        """The style block ``before_reply`` would give for ``user_text`` now (the stored rules,
        and the corrections these words make, folded in as if heard), with nothing stored or
        switched (``turn_context.NotesPreview``; a worker thread: it reads the store)."""
        found = [self._absolute(c) for c in parse(user_text)]
        return self._current(found).block() or None

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        heard = self._heard.pop(turn_id, None)
        if heard is None or not self.remember:
            return
        await asyncio.to_thread(self._link_source, turn_id, heard[0])

    # -- the dialogue's shaper -------------------------------------------------------------

    def shape(self, turn_id: int, user_text: str) -> TurnShape | None:
        found, only = self._heard.get(turn_id, ([], False))
        if found:  # in force now, even if reading the store ran out of its time budget
            folded = Style.from_corrections([*self.style.rules(), *found])
            self.style = dataclasses.replace(folded, learned=self.style.learned)
        note = self._language_notes.pop(turn_id, "")
        if self.style.empty and not note and not found:  # ("back to English" empties it)
            self._shape = None
            return None
        opening = " ".join(n for n in (confirmation(found), note, in_language(found)) if n)
        self._shape = TurnShape(opening, bool(found) and only, self.style, user_text)
        self._shape.said = 1 if opening else 0  # after an opening, nothing to retry
        return self._shape

    # -- the dialogue's guard: the language asked ------------------------------------------

    def guarding(self) -> bool:
        return self.style.language is not None

    def reply_problem(self, sentence: str) -> ReplyProblem | None:
        """A sentence of hers in English when another language was asked (every sentence is
        checked; a short English opening such as "Sure!" counts at the start). At the start,
        the dialogue asks the LM once more with the instruction after the user's message (the
        small model follows an instruction there better than a note before it); a second try that
        starts in English too is taken as it comes (its content is not lost). Later in the
        reply, an English sentence ends the reply before it (the replacement is empty)."""
        shape, language = self._shape, self.style.language
        if shape is None or language is None or shape.taken:
            return None
        start = shape.said == 0
        if not wrong_language(sentence, language, opening=start):
            shape.said += 1
            return None
        instruction = f"Reply only in {language}, as the user asked, not in English."
        if not start:
            return ReplyProblem(instruction=instruction, replacement="")
        if shape.retried:  # the second try is taken as it comes: its content is not lost
            shape.taken = True
            return None
        shape.retried = True
        shape.restart()  # the retry's sentences are counted afresh
        return ReplyProblem(instruction=instruction, replacement=IN_LANGUAGE.get(language, ""))

    # -- settings the app reads ------------------------------------------------------------

    @property
    def tts_rate(self) -> float:
        return self.style.tts_rate

    # -- ratings ---------------------------------------------------------------------------

    async def rate(self, turn_id: int, reply: str, good: bool, why: str = "") -> Rating:
        """👍/👎 on the reply of ``turn_id``; a second rating of the same reply replaces it."""
        rating = rating_for(turn_id, reply, good, why)
        if self.remember and self.store is not None:
            await asyncio.to_thread(rating_store.save, self.store, rating)
        else:
            self._ratings = [r for r in self._ratings if r.turn_id != turn_id] + [rating]
        self.style = await asyncio.to_thread(self._current)
        return rating

    async def unrate(self, turn_id: int) -> bool:
        """Take back the rating of ``turn_id``'s reply. False when there was none."""
        before = len(self._ratings)
        self._ratings = [r for r in self._ratings if r.turn_id != turn_id]
        found = len(self._ratings) < before
        if self.remember and self.store is not None:
            found = (
                await asyncio.to_thread(rating_store.forget_rating, self.store, turn_id) or found
            )
        self.style = await asyncio.to_thread(self._current)
        return found

    async def undo_learned(self) -> int:
        """Forget every rating (and so what was learned from them)."""
        count = len(self._ratings)
        self._ratings.clear()
        if self.remember and self.store is not None:
            count += await asyncio.to_thread(rating_store.forget_ratings, self.store)
        self.style = await asyncio.to_thread(self._current)
        return count

    # -- blocking work (worker threads) ----------------------------------------------------

    def _absolute(self, c: Correction) -> Correction:
        if c.kind == "tts_rate" and c.relative:
            base = Style.from_corrections([*self.style.rules(), *self._session])
            return Correction("tts_rate", round(base.tts_rate * float(c.value), 2))
        return c

    def _current(self, heard: Sequence[Correction] = ()) -> Style:
        """The rules in force: the stored ones, then this session's (and ``heard``)."""
        stored = Style()
        if self.store is not None and self.remember:
            try:
                stored = read_style(self.store)
            except Exception:  # a store problem must not stop the conversation
                log.exception("style: could not read the stored rules")
        style = Style.from_corrections([*stored.rules(), *self._session, *heard])
        notes = list(stored.learned)
        notes += [n for n in learned_notes(self._ratings) if n not in notes]
        return dataclasses.replace(style, learned=tuple(notes))

    def _persist(self, found: list[Correction]) -> None:
        assert self.store is not None
        with self.store.turn() as tx:
            for c in found:
                tx.upsert_memory(
                    NewMemory(
                        kind="preference",
                        text=canonical(c),
                        subject=subject(c),
                        confidence=1.0,
                        salience=0.9,
                    ),
                    source_message_id=None,
                )
        stored = set(found)
        self._session = [c for c in self._session if c not in stored]

    def _link_source(self, turn_id: int, found: list[Correction]) -> None:
        """Provenance: the memory service has saved the turn by now (it runs first); link each
        rule to the user message that said it."""
        assert self.store is not None
        source = next(
            (
                int(m["id"])
                for m in reversed(self.store.messages())
                if m["turn_id"] == turn_id and m["role"] == "user"
            ),
            None,
        )
        if source is None:
            return
        for c in found:
            record = self.store.get_by_subject(subject(c))
            if record is not None and record.text == canonical(c):
                self.store.set_source(record.id, source)
