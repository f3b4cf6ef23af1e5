"""What the user says of themselves: likes, avoids, worries, plans, job, home."""

from __future__ import annotations

import re
from typing import Final

from her_desktop.memory.extraction import Candidate, clean_text, dedupe
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.rules.about_me import SelfRules
from her_desktop.memory.rules.changes import ChangeRules
from her_desktop.memory.rules.constraints_said import said_constraints
from her_desktop.memory.rules.endings import EndingRules
from her_desktop.memory.rules.people import PeopleRules
from her_desktop.memory.rules.text import (
    _clauses,
    _salience,
    _split_sentences,
    _uncovered,
    _updating,
    _valence,
    asks,
)
from her_desktop.memory.rules.vocabulary import (
    CHANGE_CUES,
    DROPPED_SUBJECT_VERBS,
    EVALUATIVE,
    EVENT_START,
    FILLERS,
    SKIP_START,
    SMALL_TALK,
    SUBJECT_ADVERBS,
    TIME_WORDS,
    UPDATE_WORDS,
)

_LEADING_PRONOUN: Final = re.compile(r"(she|he|they|his|her|their|it|its|that|this)\b")
"""a sentence about someone or something named in the sentence before it"""
_CORRECTING: Final = re.compile(r"\b(?:wrong|not|no longer|anymore|actually|instead|now)\b", re.I)


def _content_words(lower: str) -> list[str]:
    """The words of a sentence that tell something (not function words, fillers or small talk
    like "lol", "so cold")."""
    return [w for w in words(lower) if len(w) > 2 and w not in FUNCTION_WORDS | SMALL_TALK]


class RuleExtractor(ChangeRules, EndingRules, PeopleRules, SelfRules):
    """See the module docstring. Keeps the last named subject (for "he's called Max")."""

    name = "rules"

    def __init__(self) -> None:
        super().__init__()
        self._before: str | None = None
        """the sentence before this one, in this message or the one before (what "she" in
        "she's from Bremen" names)"""
        self._methods = (
            self._name, self._got_pet, self._rename, self._named, self._pronoun, self._lives,
            self._favorite, self._no_longer, self._named_moved, self._like, self._avoid,
            self._worry, self._plan, self._their_job, self._about_me,
            self._called,
        )  # fmt: skip

    def extract(self, user_text: str) -> list[Candidate]:
        found: list[Candidate] = []
        for sentence in _split_sentences(user_text[:4000]):
            got = self._sentence(sentence)
            if not asks(sentence):  # "found out I'm allergic to shellfish": anywhere
                said = [
                    c
                    for c in said_constraints(sentence)
                    if c.subject not in {g.subject for g in got}
                ]
                got = said + got  # first: the same words as an episode are the constraint
            if got and not asks(sentence):
                self.last_said = FILLERS.sub("", sentence).strip()
            if not asks(sentence):
                self._before = FILLERS.sub("", sentence).strip() or self._before
            found += got
        return dedupe(found)

    def _sentence(self, raw: str) -> list[Candidate]:
        if asks(raw):
            return []
        s = FILLERS.sub("", raw).strip()
        if not s or SKIP_START.match(s):
            return []
        s = re.sub(r"\bI am\b", "I'm", s, flags=re.IGNORECASE)
        self._changing = CHANGE_CUES.search(s) is not None
        s = SUBJECT_ADVERBS.sub(r"\g<who> ", s)  # "I now work at…", "she's actually called…"
        s = re.sub(r"\bI've got\b|\bI have got\b", "I have", s, flags=re.IGNORECASE)
        s = re.sub(r"\b(don|doesn|didn|can|isn|wasn|won)t\b", r"\1't", s, flags=re.IGNORECASE)
        change = (
            self._correction(s) or self._relocated(s) or self._renamed(s)
            or self._split_up(s) or self._substitution(s) or self._moved(s)
            or self._retimed(s)
        )  # fmt: skip
        if change is not None:
            return [change]
        parts = self._old_then_new(s)
        if parts:  # the old value ends, then the new one is told: each on its own
            got = [c for part in parts for c in self._sentence(part)]
            last = {c.subject: i for i, c in enumerate(got) if c.subject is not None}
            return [c for i, c in enumerate(got) if c.subject is None or last[c.subject] == i]
        switched = self._switched(s)
        if switched:
            return switched
        ended = self._no_longer(s) or self._ended(s)  # a keyed fact first ("user.workplace")
        if ended is not None:
            return [ended]
        self._mentioned(s)
        found: list[Candidate] = []
        named = False
        for clause in _clauses(s):
            clause = FILLERS.sub("", clause).strip()
            appositive = self._appositive(clause)  # "My sister Ana lives in…": name, then more
            if appositive is not None:
                found.append(appositive)
                named = True
            job_at = self._job_at(clause)  # "I'm a nurse at St. Mary's": a job and a workplace
            if job_at:
                found += job_at
                continue
            for method in self._methods:
                candidate = method(clause)
                if candidate is not None:
                    found.append(candidate)
                    break
        if not found:
            slot = self._changed_slot(s)  # "she's living in Leeds now": where she lives
            if slot is not None:
                return [slot]
            about = self._about_them(s)
            if about is not None:
                return [about]
            episode = self._episode(s)
            return [episode] if episode is not None else []
        left = _uncovered(s, found)
        telling = [w for w in left if w[:1].isdigit()] + re.findall(
            r"(?<=\s)(?-i:[A-Z])[\w'-]+", " " + s
        )
        telling = [w for w in telling if stem(w.lower()) in {stem(x) for x in left}]
        told = [w for w in left if not UPDATE_WORDS.fullmatch(w) and w not in EVALUATIVE]
        if telling or len(left) >= 4 or (named and told):  # a replaced value is not quoted (stale)
            # "my friend Bea is getting married in Sicily": the name, and the rest verbatim
            episode = self._episode(s, said=True)
            if episode is not None:
                found.append(episode)
        return found

    def _episode(self, s: str, *, said: bool = False) -> Candidate | None:
        words = s.split()
        if len(words) < 3 or (len(words) == 3 and not re.search(r"\d", s)):
            return None  # "quote's now 520" is kept; "so so tired", "love you Sam" are not
        lower = s.lower()
        about_me = said or re.search(r"\b(i|i'm|my|me|we|our)\b", lower) is not None
        about_me = about_me or lower.split()[0] in DROPPED_SUBJECT_VERBS  # "made pancakes…"
        event = EVENT_START.match(s) or (about_me and TIME_WORDS.search(s))
        named = re.search(r"\s(?-i:[A-Z])[\w'-]+", s) is not None  # "Bea", "Sicily"
        telling = len(_content_words(lower)) >= 2  # "that leave is for a trip to hanoi…"
        if not (event or about_me or named or telling):
            return None
        before = self._before
        if before and (_updating(before) or _CORRECTING.search(before)):
            before = None  # a correction's stale value would make the pair look outdated
        if _LEADING_PRONOUN.match(lower) and before and before != s:
            s = f"{before.rstrip(' .!,;')}; {s}"  # "she's from Bremen": whom it is about
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        if not event:  # something the user said about their life: kept in their words
            return Candidate("episode", text, None, 0.5, _valence(s), _salience(s, 0.35))
        return Candidate("episode", text, None, 0.6, _valence(s), _salience(s, 0.5))
