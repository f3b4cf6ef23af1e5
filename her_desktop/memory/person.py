"""Her reply must not take the user's facts for her own.

The small LM, handed notes about the user ("Your work at St. Mary's as a night nurse"), sometimes
answers in the user's voice: "I work at St. Mary's as a night nurse." A sentence of hers speaks
as the user when it opens one of a stored memory's own first-person phrases ("I work", "my dog",
"I'm allergic": the pronoun and the word after it, as the user said them) and shares another
content word with that memory. Such a sentence is said back in the second person ("You work at
St. Mary's…"): a Python rewrite, no second LM pass. Her own first person ("I'm glad your dog
Pepper is well", "I love that") opens no phrase of the user's, so it stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words

__all__ = ["Told", "speaks_as_user", "told_phrases"]

_PRONOUNS: Final = {
    "i": "i", "i'm": "i", "i've": "i", "i'd": "i", "i'll": "i", "me": "i",
    "my": "my", "mine": "my", "we": "i", "we're": "i", "we've": "i", "our": "my",
}  # fmt: skip
_AUXILIARIES: Final = frozenset(
    {"am", "was", "have", "had", "do", "did", "will", "would", "also", "still"}
)
_QUESTION: Final = re.compile(r"\?\s*$")


@dataclass(frozen=True, slots=True)
class Told:
    """One stored memory, as the check needs it."""

    phrases: frozenset[tuple[str, str]]
    """(pronoun, stem of the word after it) as the user said them: ("i", "work"), ("my", "dog")"""
    content: frozenset[str]
    """stems of its other content words"""


def _phrases(text: str) -> tuple[set[tuple[str, str]], set[str]]:
    said = words(text)
    phrases: set[tuple[str, str]] = set()
    for i, word in enumerate(said):
        pronoun = _PRONOUNS.get(word)
        if pronoun is None:
            continue
        j = i + 1
        while j < len(said) and said[j] in _AUXILIARIES:  # "I am allergic", "I still work"
            j += 1
        if j < len(said) and said[j] not in _PRONOUNS:
            phrases.add((pronoun, stem(said[j])))
    content = {stem(w) for w in said if w not in FUNCTION_WORDS and w not in _PRONOUNS}
    return phrases, content


def told_phrases(texts: Iterable[str]) -> list[Told]:
    """The first-person phrases of stored memories (the user's words, first person)."""
    told = []
    for text in texts:
        phrases, content = _phrases(text)
        if phrases:
            told.append(Told(frozenset(phrases), frozenset(content)))
    return told


def speaks_as_user(sentence: str, told: Sequence[Told]) -> bool:
    """True when ``sentence`` (hers) states one of these memories as if it were her own."""
    if not told or _QUESTION.search(sentence):  # "Do I remember your dog's name?" is hers
        return False
    phrases, content = _phrases(sentence)
    if not phrases:
        return False
    for memory in told:
        shared = phrases & memory.phrases
        if not shared:
            continue
        opened = {word for _, word in shared}
        if (content - opened) & (memory.content - opened):
            return True
    return False
