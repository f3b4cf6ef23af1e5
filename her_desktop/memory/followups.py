"""Updates that name the old value and none of the question's words.

Asked "what's my cat called?", recall finds "My cat is 2, grey, they'd named her smoke." but
not the later "we've renamed her pebble though, smoke didn't suit her." — it says neither
"cat" nor "called", and is far from the question in meaning. Asked "where do I work now?",
it finds "I'm a backend dev at a fintech called Quillpay" but not "leaving quillpay, starting
at a climate startup called Terrawatt". What links the update to the note it changes is the
old value, named again. So for the best recalled notes, ``follow`` looks for newer notes
naming their value (a name: ``whom.names_in``, or what they say something is called) and
takes one as the note's replacement when it tells a change ("renamed", "switched", "instead":
``slots.changing``) or says that value is over where it names it ("leaving quillpay":
``slots.ended``). A newer note that only mentions the value ("Quillpay's party was fun")
replaces nothing and is not added.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.questions import NAME_ASKED, WHERE_ASKED
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.slots import WISHED, changing, ended
from her_desktop.memory.whom import names_in

__all__ = ["FOLLOW_FROM", "FOLLOW_SCAN", "Followup", "follow", "value_asked", "value_words"]

FOLLOW_FROM: Final = 3
"""the best recalled notes whose values are followed"""
FOLLOW_SCAN: Final = 8
"""a word more memories than this name is too common to be a value"""

_GIVEN_AS: Final = re.compile(
    r"\b(?:called|named|renamed|name is|name's)\s+(?:(?:her|him|it|them)\s+)?([\w'&-]+)",
    re.IGNORECASE,
)
_CLAUSE: Final = re.compile(r"[,;.!?]+|\s(?:but|though|and|so|cos|because)\s", re.IGNORECASE)


def value_words(text: str) -> set[str]:
    """The words ``text`` gives as a value: the names in it ("Exeter", "Quillpay") and what
    it says something is called ("they'd named her smoke": smoke)."""
    out = {n for n in names_in([text]) if len(n) >= 3}
    out |= {m.group(1).lower().removesuffix("'s") for m in _GIVEN_AS.finditer(text)}
    return {w for w in out if w not in FUNCTION_WORDS and len(w) >= 3}


_PLACED: Final = re.compile(r"\b(?:in|at|from|to|near)\b", re.IGNORECASE)


def value_asked(question: str, older: str, value: str) -> bool:
    """The question asks for ``value`` of the ``older`` note, not for something else the note
    also says: a name asked ("what's my cat called") and the value given as one ("named her
    smoke"); a place asked ("where do I work") and the value said where a place is ("at a
    fintech called Quillpay"); else the question's words in the value's clause. ("What's
    kwabena's girlfriend called": not Bristol, though "he's moving to Bristol with his
    girlfriend, a lovely girl called Efua" says both.)"""
    clause = next((c for c in _CLAUSE.split(older.lower()) if value in words(c)), "")
    if NAME_ASKED.search(question):
        return any(
            m.group(1).lower().removesuffix("'s") == value for m in _GIVEN_AS.finditer(older)
        )
    if WHERE_ASKED.search(question):
        return _PLACED.search(clause) is not None
    asked = {stem(w) for w in words(question) if w not in FUNCTION_WORDS} - {stem(value)}
    return bool(asked & {stem(w) for w in words(clause)})


def _ends(newer: str, value: str) -> bool:
    """``newer`` says ``value`` is over where it names it ("leaving quillpay, starting at…")."""
    return any(value in words(clause) and ended(clause) for clause in _CLAUSE.split(newer.lower()))


@dataclass(frozen=True, slots=True)
class Followup:
    """``newer`` replaces ``older``: it names ``value``, a value ``older`` gives."""

    older: MemoryRecord
    newer: MemoryRecord
    value: str


def follow(
    records: Sequence[MemoryRecord],
    question: str,
    naming: Callable[[str], list[MemoryRecord]],
) -> list[Followup]:
    """The replacements of the first ``FOLLOW_FROM`` of ``records`` (see the module
    docstring); ``naming(word)``: the memories whose text has ``word``, newest first, at most
    ``FOLLOW_SCAN + 1``. A note is replaced by its newest replacement; a replacement already
    among ``records`` is still followed (it takes the older one's place)."""
    asked = {stem(w) for w in words(question)}
    out: list[Followup] = []
    for older in records[:FOLLOW_FROM]:
        best: Followup | None = None
        for value in sorted(value_words(older.text)):
            if stem(value) in asked or not value_asked(question, older.text, value):
                continue  # "what's jonno's fiancée called": jonno is whom, not a value
            found = [r for r in naming(value) if value in words(r.text)]
            if len(found) > FOLLOW_SCAN:
                continue
            for newer in found:
                if newer.updated <= older.updated or newer.id == older.id:
                    continue
                if WISHED.search(newer.text):  # "thinking of leaving quillpay": not yet
                    continue
                if not (changing(newer.text) or _ends(newer.text, value)):
                    continue
                if best is None or newer.updated > best.newer.updated:
                    best = Followup(older, newer, value)
        if best is not None:
            out.append(best)
    return out
