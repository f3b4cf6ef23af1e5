"""The rules' text helpers: sentences and clauses, trimmed objects and places, subject slugs,
salience and valence.
"""

from __future__ import annotations

import re
from typing import Final

from her_desktop.memory.extraction import Candidate, normalize_subject
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.rules.vocabulary import (
    ABBREVIATIONS,
    HEAVY_WORDS,
    MAX_CLAUSE_WORDS,
    MAX_OBJECT_WORDS,
    MAX_SENTENCE_CHARS,
    MAX_SUBJECT_WORDS,
    NEGATIVE_WORDS,
    NOT_NAMES,
    PLACE_END,
    POSITIVE_WORDS,
    TIME_WORDS,
    UPDATE_WORDS,
)
from her_desktop.sentences import split_sentences


def _split_sentences(text: str) -> list[str]:
    """Sentences by the reply splitter (``sentences``: "St. Mary's", "Dr. Lee", "3.5" are
    not cut), then cut again where casual typing goes on in lower case ("i'm fine. my dog…")
    or at a semicolon."""
    text = text.replace("’", "'")
    out: list[str] = []
    for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
        start = 0
        for m in re.finditer(r"(?<=[;!?])\s+|(?<=[.])\s+(?=[a-z])|\n+", sentence):
            before = sentence[start : m.start()].rstrip(".").rsplit(None, 1)
            after_dot = sentence[m.start() - 1] == "."
            if after_dot and before and before[-1].lower().strip("'") in ABBREVIATIONS:
                continue  # "st. mary's", "dr. lee"
            out.append(sentence[start : m.start()])
            start = m.end()
        out.append(sentence[start:])
    parts = [p.strip(" ;") for p in out if p.strip(" ;")]
    return [statement(c) for p in parts for c in _long_cut(p)]


_TAG_QUESTION: Final = re.compile(
    r"[,\s]*\b(?:did i (?:tell|mention)(?: (?:you|that|it))?(?: already)?|you know|right|"
    r"can you believe (?:it|that)|isn't it|innit|eh|ok|okay|yeah|lol)\s*[?!]+\s*$",
    re.IGNORECASE,
)
_ASKING_START: Final = re.compile(
    r"^(?:(?:so|and|but|oh|um+|uh+|hey|ok|okay|well|also|anyway)[,\s]+)*(?:what|who|whom|whose|"
    r"where|when|why|how|which|is|are|am|was|were|do|does|did|can|could|would|will|should|"
    r"shall|have|has|had|may|might|any|anything|you|your|isn't|aren't|don't|didn't|won't|"
    r"shouldn't|wouldn't|couldn't)\b",
    re.IGNORECASE,
)


def asks(sentence: str) -> bool:
    """A question (to her): "where do I…?", "you think I should?" — not a statement typed
    with question marks for emphasis ("turns out i'm allergic to pine nuts?? at 34??")."""
    return sentence.rstrip().endswith("?") and _ASKING_START.match(sentence) is not None


def statement(sentence: str) -> str:
    """A statement without its tag question or emphatic question marks ("i went vegan in
    march, did i tell you?" → "i went vegan in march"); a question is left as it is."""
    if not sentence.rstrip().endswith("?") or asks(sentence):
        return sentence
    cut = _TAG_QUESTION.sub("", sentence)
    return re.sub(r"\s*\?+", "", cut).strip(" ,") or sentence


def _long_cut(sentence: str) -> list[str]:
    """A run-on sentence (speech: "…and then i forgot i'd parked in a two hour zone and got a
    ticket, forty quid, and then…") cut at its "and then"/", and"/", so" joints so each part
    can be kept whole; a sentence of ordinary length as it is."""
    if len(sentence) <= LONG_SENTENCE_CHARS:
        return [sentence]
    parts = re.split(r",?\s+and then\s+|,\s+(?:and|so|but)\s+", sentence)
    out: list[str] = []
    for part in parts:  # short pieces join the one before ("wow, and" is not a statement)
        if out and (len(part) < 40 or len(out[-1]) < 40):
            out[-1] = f"{out[-1]}, {part}"
        else:
            out.append(part)
    return [p.strip(" ,") for p in out if p.strip(" ,")]


def _clauses(s: str) -> list[str]:
    """A sentence cut before "and/but/so" when a new statement about someone starts there."""
    parts = re.split(
        r",?\s+(?:and|but|so|because)\s+(?=(?:i|i'm|i've|my|we|we're|she|he|they|she's|he's|"
        r"they're)\b)|,\s+(?=(?:she|he|they)\b)",
        s,
        flags=re.IGNORECASE,
    )
    out: list[str] = []
    for part in parts:  # "my gran Rosa is 92 and lives in Naples": "… and they live in Naples"
        first, *rest = re.split(r"\s+and\s+(?=(?:lives|works|moved)\b)", part)
        out += [first, *(f"they {r}" for r in rest)]
    return [p.strip() for p in out if p.strip()]


CHANGE_WORDS: Final = re.compile(
    r"\b(?:now|these days|nowadays|instead|anymore|any more|actually|currently|"
    r"at the moment|from now on)\b",
    re.IGNORECASE,
)
"""words that say a value changed, never part of what it is a value of (a key)"""


def _slug(text: str, max_words: int = MAX_SUBJECT_WORDS) -> str | None:
    text = CHANGE_WORDS.sub(" ", text)  # "favourite film these days": the favourite film
    words = re.findall(r"[^\W_]+", text.lower())
    words = [w for w in words if w not in ("a", "an", "the", "my", "to", "of")]
    return normalize_subject("_".join(words[:max_words]))


LONG_SENTENCE_CHARS: Final = 160
"""a sentence longer than this is cut at its joints (``_long_cut``)"""
_TRAILING: Final = re.compile(
    r"(?:\s+(?:by the way|btw|lol|haha+|tbh|honestly|anyway|i guess|i think|you know))+\s*[.!]*$",
    re.IGNORECASE,
)


def _trim_object(text: str) -> str:
    """The object of a statement without what follows a clause break or a time phrase, or a
    filler at its end ("a florist by the way": a florist)."""
    text = re.split(r",| but | because | since | when | though ", text, maxsplit=1)[0]
    text = _TRAILING.sub("", text)
    text = TIME_WORDS.split(text, maxsplit=1)[0]
    text = re.sub(r"\s+(originally|now|these days|at the moment|anymore)\s*[.!]*$", "", text)
    words = text.strip(" .!;:").split()
    return " ".join(words[:MAX_OBJECT_WORDS])


def _trim_clause(text: str) -> str:
    """Like ``_trim_object`` but keeping time phrases ("my mum's visit next week")."""
    text = re.split(r",| but | because | though | and i | so i ", text, maxsplit=1)[0]
    words = text.strip(" .!;:").split()
    return " ".join(words[:MAX_CLAUSE_WORDS])


def _place(text: str) -> str:
    """ "Málaga for the sun" → "Málaga"; "Glasgow, new school and everything" → "Glasgow"."""
    return PLACE_END.sub("", _trim_object(text)).strip(" .!,")


def _updating(s: str) -> bool:
    """A sentence that changes what was said before: its old value must not be kept again."""
    return UPDATE_WORDS.search(s) is not None


def _uncovered(s: str, found: list[Candidate]) -> list[str]:
    """Content words of ``s`` that none of ``found`` keeps."""
    kept = {stem(w) for c in found for w in words(c.text)}
    return [w for w in words(s) if w not in FUNCTION_WORDS and stem(w) not in kept]


def _article(text: str) -> str:
    """ "a ER nurse" → "an ER nurse"."""
    return re.sub(r"\ba (?=[aeiouAEIOU]|ER\b|MBA\b|RN\b|MRI\b)", "an ", text)


def _is_name(word: str, *, capitalised: bool) -> bool:
    first = word.split()[0]
    if first.lower() in NOT_NAMES:
        return False
    return not capitalised or first[:1].isupper()


def _salience(text: str, base: float) -> float:
    lower = text.lower()
    heavy = any(w in lower for w in HEAVY_WORDS)
    return min(1.0, base + (0.3 if heavy else 0.0))


def _valence(text: str) -> float:
    lower = text.lower()
    words = set(re.findall(r"[a-z']+", lower))
    pos = sum(1 for w in POSITIVE_WORDS if (w in words if " " not in w else w in lower))
    neg = sum(1 for w in NEGATIVE_WORDS if (w in words if " " not in w else w in lower))
    return max(-1.0, min(1.0, 0.4 * (pos - neg)))
