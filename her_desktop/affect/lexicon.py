"""The emotion lexicon: loading it, splitting text into words, and finding words in it.

Policy:

* Words are lower-cased, curly apostrophes straightened, and a few apostrophe-less contractions
  ("didnt", "im") repaired, so typed speech and transcripts look alike.
* A word is found as written, then by stripping a common suffix ("-s", "-ed", "-ing", "-ly"),
  then — for words of four letters or more — as a one-letter typo of a lexicon word (a missing
  or an extra letter: "hapy", "nervus", "happpy"), by a precomputed deletion index. Real words
  that are one letter away from a lexicon word ("morning" / "mourning", "read" / "dread") are
  listed in the data's ``not_typos`` and never read as typos.
* Multi-word entries ("fed up", "out of the blue", "what if") are matched first, longest first,
  and their words are not looked at again (so "no way" is surprise, not a negation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from her_desktop.affect.base import as_label
from her_desktop.events import EmotionLabel

WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
CLAUSE_RE = re.compile(r"[.;!?\n]+|,|\bbut\b|\bthough\b|\bhowever\b")

_CONTRACTIONS = {
    "im": "i'm",
    "ive": "i've",
    "dont": "don't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "arent": "aren't",
    "cant": "can't",
    "wont": "won't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "shouldnt": "shouldn't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "hadnt": "hadn't",
    "aint": "ain't",
    "its": "it's",
}
_SUFFIXES = ("ing", "ed", "es", "s", "ly", "d", "ness")
_MIN_TYPO_LEN = 4
_MAX_PHRASE = 5

Weights = Mapping[EmotionLabel, float]


def normalize(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (already normalized), contractions repaired."""
    return [_CONTRACTIONS.get(w, w) for w in WORD_RE.findall(text)]


def clauses(text: str) -> list[str]:
    """``text`` split where a negation or an intensifier stops reaching (punctuation, 'but')."""
    return [part for part in CLAUSE_RE.split(normalize(text)) if part.strip()]


@dataclass(frozen=True, slots=True)
class Hit:
    """One lexicon match: tokens ``start`` .. ``end`` (exclusive) carry ``weights``."""

    start: int
    end: int
    weights: Weights
    phrase: bool


class Lexicon:
    """The curated emotion lexicon with its modifiers (see the data file's ``about``)."""

    def __init__(self, data: Mapping[str, object]) -> None:
        emotions = _mapping(data.get("emotions"))
        single: dict[str, dict[EmotionLabel, float]] = {}
        phrases: dict[tuple[str, ...], dict[EmotionLabel, float]] = {}
        for emotion, entries in emotions.items():
            label = as_label(emotion)
            for entry, weight in _mapping(entries).items():
                key = tuple(words(normalize(entry)))
                if not key or not isinstance(weight, int | float):
                    continue
                table = (
                    single.setdefault(key[0], {}) if len(key) == 1 else phrases.setdefault(key, {})
                )
                table[label] = float(weight)
        self.single = single
        self.phrases = phrases
        self.intensifiers = _floats(data.get("intensifiers"))
        self.diminishers = _floats(data.get("diminishers"))
        self.negators = frozenset(str(w) for w in _list(data.get("negators")))
        self.negated: dict[str, dict[EmotionLabel, float]] = {}
        for negated_word, spec in _mapping(data.get("negated")).items():
            if isinstance(spec, dict):
                self.negated[negated_word] = {
                    as_label(k): float(v) for k, v in _floats(spec).items()
                }
        self.not_typos = frozenset(
            str(w) for w in _list(_mapping(data.get("not_typos")).get("words"))
        )
        self._deletions: dict[str, str] = {}
        for word in sorted(single):
            if len(word) > _MIN_TYPO_LEN:
                for variant in _deletions(word):
                    self._deletions.setdefault(variant, word)

    def is_negator(self, word: str) -> bool:
        return word in self.negators or word.endswith("n't")

    def lookup(self, word: str) -> str | None:
        """The lexicon word that ``word`` is (maybe inflected or mistyped), or None."""
        return _lookup(self, word)

    def hits(self, tokens: list[str]) -> Iterator[Hit]:
        """Lexicon matches in ``tokens``, phrases first (longest), left to right."""
        i = 0
        n = len(tokens)
        while i < n:
            for size in range(min(_MAX_PHRASE, n - i), 1, -1):
                weights = self.phrases.get(tuple(tokens[i : i + size]))
                if weights is not None:
                    yield Hit(i, i + size, weights, phrase=True)
                    i += size
                    break
            else:
                found = self.lookup(tokens[i])
                if found is not None:
                    yield Hit(i, i + 1, self.single[found], phrase=False)
                i += 1


def _lookup(lex: Lexicon, word: str) -> str | None:
    if word in lex.single:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if stem in lex.single:
                return stem
            if stem + "e" in lex.single:
                return stem + "e"
    if (
        len(word) < _MIN_TYPO_LEN
        or word in lex.not_typos
        or word in lex.negators
        or word.endswith("n't")
    ):
        return None
    found = lex._deletions.get(word)  # a letter missing
    if found is not None:
        return found
    for variant in _deletions(word):  # a letter too many
        if variant in lex.single and len(variant) >= _MIN_TYPO_LEN:
            return variant
    return None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _mapping(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _floats(value: object) -> dict[str, float]:
    return {
        " ".join(words(normalize(k))): float(v)
        for k, v in _mapping(value).items()
        if isinstance(v, int | float)
    }


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped in ``her_desktop/affect/data/emotion_lexicon.json`` (loaded once)."""
    text = (
        resources.files("her_desktop.affect")
        .joinpath("data/emotion_lexicon.json")
        .read_text(encoding="utf-8")
    )
    return Lexicon(json.loads(text))
