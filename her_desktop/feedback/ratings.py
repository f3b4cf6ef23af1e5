"""👍 / 👎 on a reply, and the style note learned from them.

A rating is kept with its exchange as a preference memory whose subject names the turn
(``feedback:<turn id>``) and whose text says what was rated ("👎 on a 5-sentence reply with a
question: "…" — too long"). It is listed, shown and forgotten like any memory; forgetting a rating
removes only the rating (it has no source message, so the exchange itself stays).

``learned_notes`` aggregates the ratings into at most a few plain notes (for length, questions
and humour) once the evidence agrees (``MIN_EVIDENCE`` ratings pointing the same way). The
notes are shown to the user with the rules, and undone by forgetting the ratings
(``forget_ratings``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.records import MemoryRecord, NewMemory
from her_desktop.memory.store import MemoryStore

SUBJECT_PREFIX: Final = "feedback:"
MIN_EVIDENCE: Final = 2
EXCERPT_CHARS: Final = 80
LONG_SENTENCES: Final = 3

_TEXT = re.compile(
    r"^(?P<thumb>👍|👎) on a (?P<n>\d+)-sentence reply(?P<q> with a question)?: "
    r"\"(?P<excerpt>.*?)\"(?: — (?P<why>.*))?$",
    re.DOTALL,
)
_WHY_LONG = re.compile(r"\b(too long|long|wordy|rambl\w*|verbose|shorter|too much)\b", re.I)
_WHY_SHORT = re.compile(r"\b(too short|short|curt|terse|more detail|longer)\b", re.I)
_WHY_QUESTIONS = re.compile(r"\b(questions?|asking|nosy|prying)\b", re.I)
_WHY_FUNNY = re.compile(r"\b(funny|joke|jokes|humou?r|laughed|lol|haha)\b", re.I)


@dataclass(frozen=True, slots=True)
class Rating:
    turn_id: int
    good: bool
    sentences: int
    question: bool
    excerpt: str
    why: str = ""
    memory_id: int | None = None

    def text(self) -> str:
        q = " with a question" if self.question else ""
        thumb = "👍" if self.good else "👎"
        why = f" — {self.why}" if self.why else ""
        return f'{thumb} on a {self.sentences}-sentence reply{q}: "{self.excerpt}"{why}'


def count_sentences(text: str) -> int:
    return max(1, len(re.findall(r"[.!?…]+(?:\s|$)", text.strip() + " "))) if text.strip() else 0


def rating_for(turn_id: int, reply: str, good: bool, why: str = "") -> Rating:
    reply = " ".join(reply.split())
    excerpt = reply if len(reply) <= EXCERPT_CHARS else reply[: EXCERPT_CHARS - 1] + "…"
    why = " ".join(why.split())[:200]
    return Rating(
        turn_id, good, count_sentences(reply), "?" in reply, excerpt.replace('"', "'"), why
    )


def from_record(record: MemoryRecord) -> Rating | None:
    if not (record.subject or "").startswith(SUBJECT_PREFIX):
        return None
    m = _TEXT.match(record.text)
    if m is None:
        return None
    try:
        turn_id = int((record.subject or "")[len(SUBJECT_PREFIX) :])
    except ValueError:
        return None
    return Rating(
        turn_id,
        m.group("thumb") == "👍",
        int(m.group("n")),
        bool(m.group("q")),
        m.group("excerpt"),
        m.group("why") or "",
        record.id,
    )


def save(store: MemoryStore, rating: Rating) -> int:
    """Store (or replace: one rating per reply) ``rating``. Blocking: call in a worker thread."""
    with store.turn() as tx:
        upserted = tx.upsert_memory(
            NewMemory(
                kind="preference",
                text=rating.text(),
                subject=f"{SUBJECT_PREFIX}{rating.turn_id}",
                confidence=1.0,
                salience=0.1,
            ),
            source_message_id=None,
        )
    return upserted.id


def load(store: MemoryStore) -> list[Rating]:
    """Every rating, oldest first. Blocking."""
    found = [from_record(r) for r in store.memories(limit=100_000)]
    return sorted((r for r in found if r is not None), key=lambda r: r.memory_id or 0)


def forget_rating(store: MemoryStore, turn_id: int) -> bool:
    """Take back the rating of one reply. Blocking."""
    record = store.get_by_subject(f"{SUBJECT_PREFIX}{turn_id}")
    return record is not None and store.forget(record.id)


def forget_ratings(store: MemoryStore) -> int:
    """Undo what was learned: forget every rating. Returns how many. Blocking."""
    ratings = load(store)
    for r in ratings:
        if r.memory_id is not None:
            store.forget(r.memory_id)
    return len(ratings)


def learned_notes(ratings: Iterable[Rating]) -> list[str]:
    """What the ratings agree on, as short notes for the prompt and the user."""
    shorter = longer = fewer_q = humour_good = humour_bad = 0
    for r in ratings:
        if r.why and _WHY_LONG.search(r.why) and not r.good:
            shorter += 2
        elif r.why and _WHY_SHORT.search(r.why) and not r.good:
            longer += 2
        elif r.sentences >= LONG_SENTENCES:
            shorter += 0 if r.good else 1
            longer += 1 if r.good else 0
        if not r.good and (r.question and (not r.why or _WHY_QUESTIONS.search(r.why))):
            fewer_q += 1
        if r.why and _WHY_FUNNY.search(r.why):
            humour_good += 1 if r.good else 0
            humour_bad += 0 if r.good else 1
    notes: list[str] = []
    if shorter >= MIN_EVIDENCE and shorter > longer:
        notes.append("Prefers short replies.")
    elif longer >= MIN_EVIDENCE and longer > shorter:
        notes.append("Likes fuller, more detailed replies.")
    if fewer_q >= MIN_EVIDENCE:
        notes.append("Prefers fewer questions back.")
    if humour_good >= MIN_EVIDENCE and humour_good > humour_bad:
        notes.append("Enjoys a bit of humour.")
    elif humour_bad >= MIN_EVIDENCE:
        notes.append("Prefers less joking.")
    return notes
