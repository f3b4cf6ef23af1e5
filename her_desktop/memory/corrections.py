"""What a turn changes in stored memories (a layer of ``MemoryService``, used by ``saving``).

A correction ("it's Ana, not Anna"), a move ("the pottery class moved to Thursdays", a breakup),
a person named by name ("Mira moved to Berlin" after "My sister is called Mira.") and "there"
("I no longer work there.") are each resolved against the stored memories they refer to.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Final

from her_desktop.memory.extraction import Candidate
from her_desktop.memory.grounding import stem, words
from her_desktop.memory.recall import Recall
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.rules import WHEN_SPAN
from her_desktop.memory.state import protected

RESCHEDULE_CANDIDATES: Final = 5
RESCHEDULE_COSINE: Final = 0.4
"""a rescheduling with no word in common with a timed memory moves it when this close"""
PARTNER_NAME: Final = re.compile(
    r"^people\.(?:wife|husband|partner|girlfriend|boyfriend|fiance)\.name$"
)
STATEMENT_WORDS: Final = 6
"""a correction no memory holds is kept when it is at least this long (a statement)"""


class Corrections(Recall):
    """A turn's corrections and moves: see the module docstring."""

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
